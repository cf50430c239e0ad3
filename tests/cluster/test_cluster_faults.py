"""P2, P3, P5 on a cluster (issue 23): servers fail in the middle of a burst of 2,000 orders
(400 new customers, one order in ten sent twice) that two customer and two order-sync worker
processes work through on a three-node RabbitMQ cluster and a three-member replica set.

Each test counts what became of the burst (orders linked, customers per person, links per
order, link events applied, dead letters, what is left in queues and outboxes), asserts
nothing was lost and nothing applied twice, and that the work never stood still for 30 s,
and prints one line of figures (``-s``): ``CLUSTER FAULT <fault>: ...``.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from plumbing.settings import ServiceSettings

from .support import Cluster, assert_nothing_lost_or_duplicated, intake_queue, storm_through

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(240)]


async def test_p2_p5_mongodb_primary_killed_with_sigkill(
    cluster: Cluster, cluster_settings: ServiceSettings, tmp_path: Path
) -> None:
    """(a) The primary dies without a word; a secondary is elected, transactions in flight
    are retried on it (with_transaction, retryable writes); the dead member comes back."""

    async def kill_primary(cluster: Cluster) -> None:
        primary = await asyncio.to_thread(cluster.primary)
        cluster.kill9_mongod(primary)
        await asyncio.to_thread(cluster.primary)  # a new one
        await asyncio.to_thread(cluster.up)  # the killed member restarts and catches up

    figures = await storm_through(cluster, cluster_settings, "MongoDB primary SIGKILL", kill_primary, tmp_path)
    assert_nothing_lost_or_duplicated(figures)


async def test_p2_p5_mongodb_primary_stepped_down_twice_in_a_row(
    cluster: Cluster, cluster_settings: ServiceSettings, tmp_path: Path
) -> None:
    """(d) The primary steps down, and the one elected after it steps down as soon as it is
    primary: two elections back to back."""

    async def step_down_twice(cluster: Cluster) -> None:
        first = await asyncio.to_thread(cluster.primary)
        await asyncio.to_thread(cluster.step_down, first)
        deadline = time.monotonic() + 30
        while (second := await asyncio.to_thread(cluster.primary)) == first:
            assert time.monotonic() < deadline, "the stepped-down primary is still primary"
            await asyncio.sleep(0.2)
        await asyncio.to_thread(cluster.step_down, second)
        third = await asyncio.to_thread(cluster.primary)
        assert third != second

    figures = await storm_through(
        cluster, cluster_settings, "MongoDB primary stepped down twice", step_down_twice, tmp_path
    )
    assert_nothing_lost_or_duplicated(figures)


async def test_p2_p3_p5_rabbitmq_intake_leader_killed_with_sigkill(
    cluster: Cluster, cluster_settings: ServiceSettings, tmp_path: Path
) -> None:
    """(b) The node leading the order intake's quorum queue dies without a word: the queue
    elects a leader among the two others, connections on the dead node move to the next
    node of OMS_AMQP_URL, unconfirmed publishes are sent again; the node comes back."""

    async def kill_leader(cluster: Cluster) -> None:
        leader = await asyncio.to_thread(cluster.queue_leader, intake_queue(cluster_settings))
        cluster.kill9_rabbit(leader)
        deadline = time.monotonic() + 30
        while await asyncio.to_thread(cluster.queue_leader, intake_queue(cluster_settings)) == leader:
            assert time.monotonic() < deadline, "no new leader for the intake queue"
            await asyncio.sleep(0.5)
        await asyncio.to_thread(cluster.up)

    figures = await storm_through(cluster, cluster_settings, "RabbitMQ intake leader SIGKILL", kill_leader, tmp_path)
    assert_nothing_lost_or_duplicated(figures)


async def test_p2_p3_p5_rabbitmq_node_stopped_and_restarted_while_workers_run(
    cluster: Cluster, cluster_settings: ServiceSettings, tmp_path: Path
) -> None:
    """(c) A node stops cleanly (it closes every connection on it) and starts again: the
    workers reconnect elsewhere and go on, the node rejoins and its queue members catch up."""

    async def restart_node(cluster: Cluster) -> None:
        node = await asyncio.to_thread(cluster.queue_leader, intake_queue(cluster_settings))
        await asyncio.to_thread(cluster.stop_rabbit, node)
        await asyncio.sleep(2.0)
        await asyncio.to_thread(cluster.up)

    figures = await storm_through(
        cluster, cluster_settings, "RabbitMQ node stopped and restarted", restart_node, tmp_path
    )
    assert_nothing_lost_or_duplicated(figures)

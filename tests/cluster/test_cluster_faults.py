"""P2, P3, P5 on a cluster (issue 23): servers fail in the middle of a burst of 1,000 orders
(200 new customers, one order in ten sent twice, one in five shipped) that two worker
processes each of customer, order-sync and notification work through on a three-node
RabbitMQ cluster and a three-member replica set.

Each test counts what became of the burst (orders linked, customers per person, links per
order, link events applied, shipping confirmation emails received by the test's SMTP server,
dead letters, what is left in queues and outboxes), asserts nothing was lost and nothing
applied or sent twice, and that the work never stood still for 30 s after the fault, and
prints one line of figures (``-s``): ``CLUSTER FAULT <fault>: ...``.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from plumbing.settings import ServiceSettings
from tools.smtp_capture import CapturedMail

from ..integration.system.faults_support import Worker
from .support import Cluster, assert_nothing_lost_or_duplicated, intake_queue, storm_through

pytestmark = [pytest.mark.cluster, pytest.mark.timeout(420)]


async def test_p2_p5_mongodb_primary_killed_with_sigkill(
    healed: Cluster, cluster_settings: ServiceSettings, services: list[Worker], mail: tuple[CapturedMail, int]
) -> None:
    """(a) The primary dies without a word; a secondary is elected, transactions in flight
    are retried on it (with_transaction, retryable writes); the dead member comes back."""

    async def kill_primary(cluster: Cluster) -> None:
        primary = await asyncio.to_thread(cluster.primary)
        cluster.kill9_mongod(primary)
        await asyncio.to_thread(cluster.primary)  # a new one
        await asyncio.to_thread(cluster.up)  # the killed member restarts and catches up

    figures = await storm_through(
        healed, cluster_settings, services, mail[0], "MongoDB primary SIGKILL", "a", kill_primary
    )
    assert_nothing_lost_or_duplicated(figures)


async def test_p2_p5_mongodb_primary_stepped_down_twice_in_a_row(
    healed: Cluster, cluster_settings: ServiceSettings, services: list[Worker], mail: tuple[CapturedMail, int]
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
        healed, cluster_settings, services, mail[0], "MongoDB primary stepped down twice", "d", step_down_twice
    )
    assert_nothing_lost_or_duplicated(figures)


async def test_p2_p3_p5_rabbitmq_node_stopped_and_restarted_while_workers_run(
    healed: Cluster, cluster_settings: ServiceSettings, services: list[Worker], mail: tuple[CapturedMail, int]
) -> None:
    """(c) A node stops cleanly (it closes every connection on it) and starts again: the
    workers reconnect elsewhere and go on, the node rejoins and its queue members catch up.
    The node is the intake queue's leader, and the storefront publishes through it."""

    node = await asyncio.to_thread(healed.queue_leader, intake_queue(cluster_settings))

    async def restart_node(cluster: Cluster) -> None:
        await asyncio.to_thread(cluster.stop_rabbit, node)
        await asyncio.sleep(2.0)
        await asyncio.to_thread(cluster.up)

    figures = await storm_through(
        healed,
        cluster_settings,
        services,
        mail[0],
        "RabbitMQ node stopped and restarted",
        "c",
        restart_node,
        publish_via=node,
    )
    assert_nothing_lost_or_duplicated(figures)


async def test_p2_p3_p5_rabbitmq_intake_leader_killed_with_sigkill(
    healed: Cluster, cluster_settings: ServiceSettings, services: list[Worker], mail: tuple[CapturedMail, int]
) -> None:
    """(b) The node leading the order intake's quorum queue dies without a word: the queue
    elects a leader among the two others, connections on the dead node move to the next
    node of OMS_AMQP_URL, unconfirmed publishes are sent again (the storefront publishes
    through that node). The burst is worked through on two nodes; the dead one is started
    again by the next test or cluster.sh up (last in the file: the job does not wait for it)."""

    leader = await asyncio.to_thread(healed.queue_leader, intake_queue(cluster_settings))

    async def kill_leader(cluster: Cluster) -> None:
        cluster.kill9_rabbit(leader)
        deadline = time.monotonic() + 120  # each look is a CLI call: seconds when loaded
        while await asyncio.to_thread(cluster.queue_leader, intake_queue(cluster_settings)) == leader:
            assert time.monotonic() < deadline, "no new leader for the intake queue"
            await asyncio.sleep(1.0)

    figures = await storm_through(
        healed,
        cluster_settings,
        services,
        mail[0],
        "RabbitMQ intake leader SIGKILL",
        "b",
        kill_leader,
        publish_via=leader,
    )
    assert_nothing_lost_or_duplicated(figures)

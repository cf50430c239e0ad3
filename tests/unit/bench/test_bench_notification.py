"""The emails benchmark (issue 22): what the processes other than the worker spend per email
caps the ratio any worker could reach on the machine's cores; the floor's batching."""

from __future__ import annotations

import asyncio

import pytest

from bench.email_floor import Gathered
from bench.notification import best_ratio


def test_n6_p3_the_other_processes_cpu_per_email_caps_the_ratio_on_the_machines_cores() -> None:
    service = {"worker": 2.0, "smtp server": 0.5, "mongod": 1.5, "rabbitmq": 0.5, "benchmark": 0.5}
    bound = best_ratio(service, {"smtp server": 0.45, "benchmark": 0.3}, raw_rate=2000.0, cores=2)
    # 3.0 ms per email besides the worker on 2 cores: 666.7 emails/s, a third of the raw rate.
    assert bound["companions_cpu_ms_per_email"] == pytest.approx(3.0)
    assert bound["emails_per_second_with_a_free_worker"] == pytest.approx(666.7)
    assert bound["ratio_with_a_free_worker"] == pytest.approx(0.333)
    assert bound["raw_cpu_ms_per_message"] == pytest.approx(0.75)


def test_n6_p3_one_smtp_server_process_caps_the_rate_at_one_core_however_many_cores() -> None:
    service = {"worker": 1.0, "smtp server": 1.0, "mongod": 0.1, "rabbitmq": 0.1, "benchmark": 0.1}
    bound = best_ratio(service, {"smtp server": 0.9}, raw_rate=1000.0, cores=16)
    assert bound["emails_per_second_with_a_free_worker"] == pytest.approx(1000.0)
    assert bound["ratio_with_a_free_worker"] == pytest.approx(1.0)


async def test_n6_the_floor_gathers_what_is_asked_during_a_write_into_the_next_one() -> None:
    writes: list[list[int]] = []
    release = asyncio.Event()

    async def write(items: list[int]) -> None:
        writes.append(items)
        if len(writes) == 1:
            await release.wait()

    gathered = Gathered(write)
    first = asyncio.create_task(gathered(1))
    await asyncio.sleep(0)  # the first write is under way, alone
    later = [asyncio.create_task(gathered(n)) for n in (2, 3, 4)]
    await asyncio.sleep(0)
    release.set()
    await asyncio.gather(first, *later)
    assert writes == [[1], [2, 3, 4]]


async def test_n6_a_failed_floor_write_fails_every_item_it_held() -> None:
    async def write(items: list[int]) -> None:
        raise RuntimeError("down")

    gathered = Gathered(write)
    results = await asyncio.gather(gathered(1), gathered(2), return_exceptions=True)
    assert [str(r) for r in results] == ["down", "down"]

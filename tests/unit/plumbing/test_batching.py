"""plumbing.batching: what concurrent handlers submit is processed together, and each gets
its own outcome."""

from __future__ import annotations

import asyncio

import pytest

from plumbing.batching import Batcher, Pending


class Recorder:
    """A batch step that doubles numbers, fails on negative ones, and remembers its batches."""

    def __init__(self, delay: float = 0.0) -> None:
        self.batches: list[list[int]] = []
        self.delay = delay

    async def __call__(self, batch: list[Pending[int, int]]) -> None:
        self.batches.append([p.item for p in batch])
        await asyncio.sleep(self.delay)
        for pending in batch:
            if pending.item < 0:
                pending.fail(ValueError(f"negative: {pending.item}"))
            else:
                pending.resolve(pending.item * 2)


async def test_what_is_submitted_in_one_turn_is_one_batch_and_each_gets_its_own_outcome() -> None:
    step = Recorder()
    batcher = Batcher(step)
    outcomes = await asyncio.gather(*(batcher.submit(n) for n in (1, -2, 3)), return_exceptions=True)
    assert step.batches == [[1, -2, 3]]
    assert outcomes[0] == 2 and outcomes[2] == 6
    assert isinstance(outcomes[1], ValueError) and str(outcomes[1]) == "negative: -2"


async def test_what_arrives_while_a_batch_runs_goes_in_the_next_one_up_to_the_size_limit() -> None:
    step = Recorder(delay=0.05)
    batcher = Batcher(step, max_size=2)
    first = asyncio.ensure_future(batcher.submit(1))
    await asyncio.sleep(0.01)  # batch [1] is under way
    later = [asyncio.ensure_future(batcher.submit(n)) for n in (2, 3, 4)]
    assert await asyncio.gather(first, *later) == [2, 4, 6, 8]
    assert step.batches == [[1], [2, 3], [4]]
    assert (batcher.batches, batcher.items) == (3, 4)


async def test_a_lingering_batcher_takes_in_what_arrives_while_it_waits_but_not_beyond_its_size() -> None:
    step = Recorder()
    # A linger far above the pause below: a loaded machine (CI on two cores, tests on both)
    # may oversleep a few tens of milliseconds, and must not end the linger early.
    batcher = Batcher(step, max_size=3, linger=0.5)
    first = asyncio.ensure_future(batcher.submit(1))
    await asyncio.sleep(0.01)  # lingering: nothing processed yet
    assert step.batches == []
    later = [asyncio.ensure_future(batcher.submit(n)) for n in (2, 3, 4)]
    assert await asyncio.gather(first, *later) == [2, 4, 6, 8]
    assert step.batches == [[1, 2, 3], [4]]


async def test_each_batch_size_is_told_to_the_observer() -> None:
    sizes: list[int] = []
    batcher = Batcher(Recorder(), observe=sizes.append)
    await asyncio.gather(*(batcher.submit(n) for n in (1, 2, 3)))
    await batcher.submit(4)
    assert sizes == [3, 1]


async def test_an_item_submitted_right_after_a_batch_ended_starts_a_batch_of_its_own() -> None:
    batcher = Batcher(Recorder())
    assert await batcher.submit(1) == 2
    assert await asyncio.wait_for(batcher.submit(2), 1) == 4


async def test_a_lone_item_is_not_held_back_and_none_is_stranded_when_the_workers_are_busy() -> None:
    step = Recorder(delay=0.01)
    batcher = Batcher(step, max_in_flight=2)
    for round_ in range(20):  # submits that land just as a worker finishes its last batch
        results = await asyncio.wait_for(asyncio.gather(*(batcher.submit(n) for n in range(round_ % 4 + 1))), 1)
        assert results == [2 * n for n in range(round_ % 4 + 1)]
        await asyncio.sleep(0.01 * (round_ % 3))
    assert await asyncio.wait_for(batcher.submit(7), 1) == 14


async def test_a_failing_step_fails_every_item_it_left_unsettled() -> None:
    async def settles_one_then_breaks(batch: list[Pending[int, int]]) -> None:
        batch[0].resolve(0)
        raise ConnectionError("database away")

    batcher = Batcher(settles_one_then_breaks)
    outcomes = await asyncio.gather(batcher.submit(1), batcher.submit(2), return_exceptions=True)
    assert outcomes[0] == 0
    assert isinstance(outcomes[1], ConnectionError)


async def test_a_step_that_forgets_an_item_fails_it_instead_of_leaving_its_handler_waiting() -> None:
    async def forgets(batch: list[Pending[int, int]]) -> None:
        batch[0].resolve(1)

    batcher = Batcher(forgets)
    outcomes = await asyncio.gather(batcher.submit(1), batcher.submit(2), return_exceptions=True)
    assert outcomes[0] == 1
    assert isinstance(outcomes[1], RuntimeError)


async def test_a_cancelled_submitter_leaves_the_others_of_its_batch_their_outcomes() -> None:
    step = Recorder(delay=0.05)
    batcher = Batcher(step)
    cancelled = asyncio.ensure_future(batcher.submit(1))
    kept = asyncio.ensure_future(batcher.submit(2))
    await asyncio.sleep(0.01)
    cancelled.cancel()
    assert await kept == 4
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    assert step.batches == [[1, 2]]  # its item was processed all the same: the work is idempotent

"""P4: an operator inspects, replays and purges dead letters with ``omsctl dlq``; a replayed
message is applied once, and one that was applied before has no second effect."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any, ClassVar

from faststream.rabbit import RabbitRouter
from pydantic import BaseModel, ConfigDict

from plumbing import dead_letters
from plumbing.client import OmsClient
from plumbing.dlq import DeadLetterQueues, selector
from plumbing.messaging import events_exchange, routed_as, work_queue
from plumbing.runtime import Runtime, ServiceRuntime
from plumbing.service import create_service_app
from plumbing.settings import ServiceSettings
from plumbing.telemetry import trace_id

from ...support import Cleanup, eventually, running
from .test_platform_support import PROBE, PURPOSE, Behaviour, Ledger, _record, probe_app, tick


class LenientTickPayload(BaseModel):
    """The fixed consumer: ``seq`` became optional (the producer never sent it)."""

    key: str
    seq: int = 0


class LenientTick(BaseModel):
    """``probe.ticked.v1`` as the fixed consumer reads it (a reader's model, not a contract)."""

    model_config = ConfigDict(extra="ignore")
    ROUTING_KEY: ClassVar[str] = "probe.ticked.v1"

    message_id: str
    payload: LenientTickPayload


def fixed_probe_app(settings: ServiceSettings) -> Any:
    """Version 2 of the probe: same queue, a handler that accepts what version 1 refused."""

    async def ticked(message: LenientTick, runtime: Runtime) -> None:
        await _record(runtime, message, message.payload.key, message.payload.seq, Behaviour())

    def build(runtime: ServiceRuntime) -> list[RabbitRouter]:
        router = RabbitRouter()
        topology = runtime.settings.topology
        queue = work_queue(
            topology,
            runtime.name,
            f"{PURPOSE}-0",
            binding=LenientTick.ROUTING_KEY,
            max_attempts=runtime.settings.max_attempts,
        )
        router.subscriber(queue, events_exchange(topology))(filter=routed_as(LenientTick.ROUTING_KEY))(ticked)
        return [router]

    return create_service_app(PROBE, settings, build)


async def publish_raw(client: OmsClient, body: bytes, message_id: str, routing_key: str = "probe.ticked.v1") -> None:
    await client.broker.publish(
        body,
        exchange=events_exchange(client.settings.topology),
        routing_key=routing_key,
        message_id=message_id,
        persist=True,
        content_type="application/json",
        headers={"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
    )


async def letters_of(settings: ServiceSettings, count: int) -> list:
    async with DeadLetterQueues(settings) as queues:
        letters = await queues.browse(PROBE)
    return letters if len(letters) >= count else []


async def depth_of(settings: ServiceSettings, count: int) -> bool:
    async with DeadLetterQueues(settings) as queues:
        return await queues.depth(PROBE) == count


async def omsctl(settings: ServiceSettings, *args: str, stdin: bytes = b"") -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "omsctl",
        "dlq",
        *args,
        env={**os.environ, "OMS_NAMESPACE": settings.namespace, "OMS_AMQP_URL": settings.amqp_url, "COLUMNS": "250"},
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(stdin), 60)
    return process.returncode, out.decode()


async def test_p4_malformed_message_is_listed_then_replayed_to_the_fixed_consumer_and_applied_once(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    ledger = Ledger(settings)
    malformed = json.loads(tick("C00042", 1).model_dump_json())
    del malformed["payload"]["seq"]  # version 1 of the probe requires it
    message_id = malformed["message_id"]
    other = tick("C00043", 1)  # stays in the queue: replay by id leaves it alone
    other_body = json.loads(other.model_dump_json())
    del other_body["payload"]["seq"]
    try:
        async with running(probe_app(settings), cleanup=cleanup):
            await publish_raw(client, json.dumps(malformed).encode(), message_id)
            await publish_raw(client, json.dumps(other_body).encode(), other.message_id)
            await eventually(lambda: letters_of(settings, 2))
        # Browsing gives messages back with a nack, which a quorum queue applies a moment later.
        await eventually(lambda: depth_of(settings, 2))

        # What an operator sees; listing twice shows the same: nothing is taken away.
        code, listed = await omsctl(settings, "list", "--service", PROBE)
        assert code == 0, listed
        assert message_id in listed and "malformed" in listed and "probe.ticked.v1" in listed
        assert "2 message(s)" in listed
        code, shown = await omsctl(settings, "show", message_id)
        assert code == 0, shown
        assert '"payload.seq"' in shown or "payload.seq" in shown
        assert '"key": "C00042"' in shown  # the body, pretty-printed
        async with DeadLetterQueues(settings) as queues:
            assert len(await queues.browse(PROBE)) == 2

        async with running(fixed_probe_app(settings), cleanup=cleanup):
            code, replayed = await omsctl(settings, "replay", "--service", PROBE, "--id", message_id)
            assert code == 0 and "replayed 1, kept 1" in replayed, replayed
            effects = await eventually(lambda: ledger.applied(1))
            await asyncio.sleep(0.5)  # time for a duplicate to show, if there were one
            effects = await ledger.effects()
            deliveries = await ledger.deliveries()
        async with DeadLetterQueues(settings) as queues:
            remaining = await queues.browse(PROBE)
    finally:
        await ledger.close()

    assert effects[message_id]["applied"] == 1 and effects[message_id]["key"] == "C00042"
    assert deliveries == {message_id: 1}, "version 1 never ran its handler; version 2 once"
    assert [letter.message_id for letter in remaining] == [other.message_id]


async def test_p4_replayed_message_that_was_applied_before_has_no_second_effect(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    settings = settings.model_copy(update={"max_attempts": 3, "retry_delays_seconds": (0.1, 0.2)})
    ledger = Ledger(settings)
    # Its effect commits, then something after it fails, three times: dead-lettered as failed.
    event = tick("C00077", 1, fail_after_apply=3)
    tap = await client.broker.declare_queue(
        __import__("faststream.rabbit", fromlist=["RabbitQueue"]).RabbitQueue(
            f"{settings.namespace}.tap", auto_delete=True, exclusive=True
        )
    )
    await tap.bind(await client.broker.declare_exchange(events_exchange(settings.topology)), routing_key="probe.#")
    try:
        async with running(probe_app(settings), cleanup=cleanup):
            await publish_raw(client, event.model_dump_json().encode(), event.message_id)
            (letter,) = await eventually(lambda: letters_of(settings, 1), timeout=20)
            assert letter.reason == dead_letters.FAILED and letter.attempts == 3
            first = await tap.get(no_ack=True)

            async with DeadLetterQueues(settings) as queues:
                report = await queues.replay(PROBE, selector(reason="failed"))
            assert report.replayed == [event.message_id]
            await eventually(lambda: _deliveries_reach(ledger, event.message_id, 4))
            await asyncio.sleep(0.5)
            effects = await ledger.effects()
            replayed = await tap.get(no_ack=True)
        async with DeadLetterQueues(settings) as queues:
            remaining = await queues.browse(PROBE)
    finally:
        await tap.delete(if_unused=False, if_empty=False)
        await ledger.close()

    assert effects[event.message_id]["applied"] == 1, "the inbox kept the replay from applying it again"
    assert remaining == []
    # The replay is the original message: same id, body and trace context, no bookkeeping.
    assert replayed.message_id == first.message_id == event.message_id
    assert replayed.body == first.body
    assert replayed.routing_key == "probe.ticked.v1"
    # Its trace goes on through the retries, the dead letter and the replay.
    assert trace_id(replayed.headers) == trace_id(first.headers) == "0af7651916cd43dd8448eb211c80319c"
    assert not [name for name in replayed.headers if name.startswith("x-oms-") or name.startswith("x-death")]


async def _deliveries_reach(ledger: Ledger, message_id: str, count: int) -> bool:
    return (await ledger.deliveries()).get(message_id, 0) >= count


async def test_p4_purge_asks_first_and_then_empties_the_queue(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    async with running(probe_app(settings), cleanup=cleanup):
        for n in range(3):
            await publish_raw(client, b"{not json", f"junk-{n}")
        await eventually(lambda: letters_of(settings, 3))
    await eventually(lambda: depth_of(settings, 3))

    code, out = await omsctl(settings, "purge", "--service", PROBE, stdin=b"n\n")
    assert code == 1 and "nothing purged" in out and "notification: 3" in out, out
    code, out = await omsctl(settings, "purge", "--service", PROBE, "--yes")
    assert code == 0 and "purged 3" in out, out
    async with DeadLetterQueues(settings) as queues:
        assert await queues.depth(PROBE) == 0


async def test_p4_a_replay_by_id_finds_a_letter_a_reader_returns_while_it_runs(
    settings: ServiceSettings, client: OmsClient, cleanup: Cleanup
) -> None:
    """The console lists dead letters, then a CSR replays one at once: the listing's returns
    reach a quorum queue after its channel closed, so the letter may not be back yet."""
    async with running(probe_app(settings), cleanup=cleanup):
        for n in range(2):
            await publish_raw(client, b"{not json", f"held-{n}")
        await eventually(lambda: letters_of(settings, 2))
    async with DeadLetterQueues(settings) as reader, DeadLetterQueues(settings) as replayer:
        channel = await reader._connection().channel()
        queue = await reader._queue(channel, PROBE)
        held = [await queue.get(no_ack=False) for _ in range(2)]  # another reader holds both

        async def give_back() -> None:
            await asyncio.sleep(0.5)
            for message in held:
                await message.nack(requeue=True)

        returned = asyncio.create_task(give_back())
        report = await replayer.replay(PROBE, selector(ids=["held-1"]))
        await returned
        await channel.close()
        assert report.replayed == ["held-1"] and report.failed == []
        # The other letter stays, in the queue and not counted as replayed. (Given back by a
        # closed channel, it reaches the quorum queue a moment later: on a loaded machine,
        # after the first look.)

        async def left() -> list[str] | None:
            ids = [letter.message_id for letter in await replayer.browse(PROBE)]
            return ids if ids == ["held-0"] else None

        await eventually(left)

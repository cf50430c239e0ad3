"""Service processes as the benchmarks see them (Linux /proc): their workers and their
resident memory, at rest and at its peak while a burst runs."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import aio_pika
from pymongo import AsyncMongoClient

from plumbing.settings import ServiceSettings


def cpu_seconds_by_name(patterns: dict[str, str], known_pids: dict[str, list[int]]) -> dict[str, float]:
    """CPU time (user + system) used so far by each named group of processes: those
    ``known_pids`` lists, else those whose command line ``pgrep -f`` finds by the name's
    pattern; and by this benchmark's own process (``benchmark``)."""
    tick = os.sysconf("SC_CLK_TCK")
    used = {}
    for name in {**patterns, **known_pids}:
        pids = (
            known_pids.get(name)
            or subprocess.run(["pgrep", "-f", patterns[name]], capture_output=True, text=True).stdout.split()
        )
        total = 0.0
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # gone meanwhile
            total += (int(fields[11]) + int(fields[12])) / tick
        used[name] = total
    used["benchmark"] = time.process_time()
    return used


def rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS"):
                    return round(int(line.split()[1]) / 1024, 1)
    except FileNotFoundError:
        pass
    return 0.0


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except FileNotFoundError:
        return ""


def worker_pids(parent: int) -> list[int]:
    """The worker processes of `faststream run --workers N` (the parent only supervises; the
    multiprocessing resource tracker it also starts is no worker)."""
    try:
        with open(f"/proc/{parent}/task/{parent}/children") as children:
            pids = [int(p) for p in children.read().split()]
    except FileNotFoundError:
        return []
    pids = [p for p in pids if "resource_tracker" not in _cmdline(p)]
    return pids or [parent]


class PeakRss:
    """Samples the RSS of some processes while a block runs; ``peak`` holds each one's highest."""

    def __init__(self, pids: list[int], every: float = 0.2) -> None:
        self.peak = {pid: rss_mb(pid) for pid in pids}
        self._every = every
        self._task: asyncio.Task[None] | None = None

    async def _sample(self) -> None:
        while True:
            for pid in self.peak:
                self.peak[pid] = max(self.peak[pid], rss_mb(pid))
            await asyncio.sleep(self._every)

    async def __aenter__(self) -> PeakRss:
        self._task = asyncio.create_task(self._sample())
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        assert self._task is not None
        self._task.cancel()
        for pid in self.peak:  # one last look: the burst may end between two samples
            self.peak[pid] = max(self.peak[pid], rss_mb(pid))

    @property
    def values(self) -> list[float]:
        return list(self.peak.values())


FLOOR_PROGRAM = """
import asyncio, sys
import aio_pika, faststream, pymongo, pydantic
from faststream.rabbit import RabbitBroker

async def main():
    broker = RabbitBroker(sys.argv[1])
    await broker.connect()
    mongo = pymongo.AsyncMongoClient(sys.argv[2])
    await mongo.admin.command("ping")
    print("ready", flush=True)
    await asyncio.sleep(3600)

asyncio.run(main())
"""


async def floor_rss_mb(settings: ServiceSettings) -> float:
    """The memory floor of any worker: a bare Python process with FastStream, aio-pika, PyMongo
    and pydantic imported, connected to RabbitMQ and MongoDB, doing nothing."""
    process = subprocess.Popen(
        [sys.executable, "-c", FLOOR_PROGRAM, settings.amqp_url, settings.mongodb_url],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(asyncio.to_thread(process.stdout.readline), 60)
        if line.strip() != "ready":
            raise RuntimeError("the memory-floor process did not start")
        time.sleep(0.5)
        return rss_mb(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=10)


async def server_versions(settings: ServiceSettings) -> dict[str, str]:
    mongo = AsyncMongoClient(settings.mongodb_url)
    try:
        mongodb = (await mongo.server_info())["version"]
    finally:
        await mongo.close()
    connection = await aio_pika.connect(settings.amqp_url)
    try:
        rabbitmq = connection.transport.connection.server_properties.get("version", "?")
    finally:
        await connection.close()
    return {"mongodb": mongodb, "rabbitmq": str(rabbitmq)}

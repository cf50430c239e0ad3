"""Rendering off the event loop, in processes with a time and a memory limit (N1, N3; security
step 12, finding 3).

A template is an administrator's program. The sandbox (``templates``) refuses what leads out
of it and every call that asks for a string larger than an email, and the output is measured
while it is produced; but work that grows with nested loops, or a string doubled in a loop
through a ``namespace``, is only bounded by running out of time or memory. Rendered on the
event loop, three nested loops made the worker unresponsive, and the request, redelivered,
hung the restarted worker too.

So every render of a stored, previewed or checked template runs here, in a small pool of
worker processes (``OMS_NOTIFICATION_RENDER_PROCESSES``), each with
- an address-space limit (``RLIMIT_AS``, ``OMS_NOTIFICATION_RENDER_MEMORY_MB``): an allocation
  past it is a ``MemoryError``, the template's problem;
- a CPU budget per render (``RLIMIT_CPU`` raised to what the process used plus
  ``OMS_NOTIFICATION_RENDER_SECONDS``, and a wall-clock timer of twice that): when it runs out,
  the render stops with "takes more than N s to render", and the process serves the next one.
Should a process stop answering all the same (stuck in one C call), the event loop gives up
after the wall time and a few seconds more, kills the pool's processes and starts new ones.

A template that fails so is refused when it is stored or previewed (a ``validation`` error on
its part), and an email whose template fails so is answered or dead-lettered as rejected: a
poison request is never retried, never blocks the queue.

The predefined templates, read at start, render in the service's own process (they are the
service's code).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import resource
import signal
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from . import kinds, templates
from .templates import RenderBudgetExceeded, Rendered, Sources, TemplateProblem

log = logging.getLogger(__name__)

#: Seconds the event loop waits beyond a render's own wall-clock budget before it kills the pool.
GRACE_SECONDS = 3.0


# --- in the worker process -------------------------------------------------------------------------


def _limit_memory(megabytes: int) -> None:
    """The worker's initializer: its address space is capped (a 10 GB string fails at once)."""
    limit = megabytes * 1024 * 1024
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (limit if hard == resource.RLIM_INFINITY else min(limit, hard), hard))
    signal.signal(signal.SIGXCPU, _out_of_time)
    signal.signal(signal.SIGALRM, _out_of_time)


def _out_of_time(signum: int, frame: Any) -> None:
    if not _armed[0]:
        return  # a late signal of a render that is over (SIGXCPU repeats each CPU second)
    _stop_timers()
    raise RenderBudgetExceeded(f"takes more than {_budget[0]:g} s to render")


_budget = [0.0]
_armed = [False]


def _cpu_used() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _arm(seconds: float) -> None:
    _budget[0] = seconds
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = int(_cpu_used() + seconds) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (soft if hard == resource.RLIM_INFINITY else min(soft, hard), hard))
    signal.setitimer(signal.ITIMER_REAL, seconds * 2)
    _armed[0] = True


def _stop_timers() -> None:
    _armed[0] = False
    signal.setitimer(signal.ITIMER_REAL, 0)
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    resource.setrlimit(resource.RLIMIT_CPU, (hard, hard))


def _disarm() -> None:
    _stop_timers()


def _render_here(sources: tuple[str, str, str], contexts: list[dict[str, Any]], seconds: float) -> tuple[Any, ...]:
    """Render ``sources`` with each context in turn; ("rendered", [(subject, html, text)...])
    or ("problem", index of the context, part, line, message). Plain tuples: a TemplateProblem
    does not cross a process boundary intact."""
    _arm(seconds)
    try:
        compiled = templates.compile_sources(Sources(*sources))
        results = []
        for index, context in enumerate(contexts):
            try:
                rendered = compiled.render(context)
            except TemplateProblem as problem:
                return ("problem", index, problem.part, problem.line, problem.message)
            results.append((rendered.subject, rendered.html, rendered.text))
        return ("rendered", results)
    except TemplateProblem as problem:
        return ("problem", None, problem.part, problem.line, problem.message)
    except RenderBudgetExceeded as exc:  # between two parts: the part is not known
        return ("problem", None, "html", None, str(exc))
    finally:
        _disarm()


# --- in the service ----------------------------------------------------------------------------------


class Renderer:
    """The pool of rendering processes: ``start()`` at the service's start, ``stop()`` at its end."""

    def __init__(self, *, processes: int = 2, seconds: float = 2.0, memory_mb: int = 512) -> None:
        self.processes = processes
        self.seconds = seconds
        self.memory_mb = memory_mb
        self._pool: ProcessPoolExecutor | None = None

    def start(self) -> None:
        if self._pool is None:
            # forkserver: workers forked from a clean process, not from this one with its
            # threads and connections; the template modules are loaded there once.
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["notification.templates"])
            self._pool = ProcessPoolExecutor(
                self.processes, mp_context=context, initializer=_limit_memory, initargs=(self.memory_mb,)
            )

    def stop(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            processes = list((getattr(pool, "_processes", None) or {}).values())
            pool.shutdown(wait=False, cancel_futures=True)
            _kill(processes)

    async def render(self, sources: Sources, context: dict[str, Any]) -> Rendered:
        try:
            (rendered,) = await self._run(sources, [context])
        except _SampleProblem as failed:
            raise failed.problem from None
        return rendered

    async def check(self, sources: Sources, kind: str, language: str, variables: dict[str, str] | None = None) -> None:
        """``templates.check`` off the event loop: every sample of ``kind`` renders, in time."""
        samples = kinds.samples(kind, variables)
        try:
            await self._run(sources, [{**context, "language": language} for _, context in samples])
        except _SampleProblem as failed:
            problem = failed.problem
            raise TemplateProblem(problem.part, problem.line, problem.message, samples[failed.index][0]) from None

    async def _run(self, sources: Sources, contexts: list[dict[str, Any]]) -> list[Rendered]:
        self.start()
        assert self._pool is not None
        pool = self._pool
        loop = asyncio.get_running_loop()
        wall = self.seconds * 2 * max(len(contexts), 1) + GRACE_SECONDS
        try:
            outcome = await asyncio.wait_for(
                loop.run_in_executor(
                    pool, _render_here, (sources.subject, sources.html, sources.text), contexts, self.seconds
                ),
                wall,
            )
        except (TimeoutError, BrokenProcessPool):
            # A worker stuck in one C call, or killed (by the kernel, out of memory): new ones.
            log.warning("a template render did not finish in %.0f s: its worker processes are replaced", wall)
            if self._pool is pool:
                self.stop()
            raise TemplateProblem("html", None, f"takes more than {self.seconds:g} s to render") from None
        except RenderBudgetExceeded as exc:  # out of time where _render_here could not catch it
            raise TemplateProblem("html", None, str(exc)) from None
        if outcome[0] == "problem":
            _, index, part, line, message = outcome
            problem = TemplateProblem(part, line, message)
            if index is not None:
                raise _SampleProblem(index, problem)
            raise problem
        return [Rendered(subject=s, html=h, text=t) for s, h, t in outcome[1]]


class _SampleProblem(Exception):
    def __init__(self, index: int, problem: TemplateProblem) -> None:
        super().__init__(problem.reason)
        self.index, self.problem = index, problem


def _kill(processes: list[Any]) -> None:
    """End a pool's processes now: one may be stuck where no signal of Python's reaches it.
    (ProcessPoolExecutor keeps them in ``_processes``; it has no public way to do this.)
    Only one still alive: a bare ``os.kill`` of the pid of one that had ended (and been reaped
    by the forkserver) could strike whatever process the kernel gave that pid next."""
    for process in processes:
        try:
            if process.is_alive():
                process.kill()
        except (ProcessLookupError, AttributeError, ValueError):
            pass

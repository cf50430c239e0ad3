"""N3 (security step 12, finding 3): an administrator's template cannot hang or exhaust the
notification worker. Each hostile template below is refused within seconds, in the worker
processes of ``notification.rendering`` (time and memory limited) or by the sandbox before it
allocates, and a normal render right after is served at once: the processes outlive what they
refused. These run real processes, no servers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from notification import rendering
from notification.rendering import Renderer
from notification.templates import MAX_RENDERED_CHARS, Sources, TemplateProblem

LONG_LOOPS = '{% for a in "x" * 100000 %}{% for b in "x" * 100000 %}{{ "" }}{% endfor %}{% endfor %}'
DOUBLING = (
    '{% set ns = namespace(s="x") %}{% for i in "x" * 60 %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|length }}'
)

#: The CPU budget of the renders that must run out of it: any budget proves the limit (the
#: templates below never end), a short one keeps the test short. Renders meant to succeed get
#: the fixture's 1 s, which a loaded machine needs.
SLOW_BUDGET = 0.3

#: (template html, what the refusal says)
HOSTILE = {
    "three nested loops over a long string": (
        '{% for a in "x" * 1000 %}' + LONG_LOOPS + "{% endfor %}",
        f"takes more than {SLOW_BUDGET:g} s to render",
    ),
    "a string doubled in a loop": (DOUBLING, "needs more memory than a template may use"),
    "center(10**10)": ('{{ "x"|center(10**10) }}', "center width of 10000000000 is larger than an email"),
    "str.ljust(10**10)": ('{{ "x".ljust(10**10) }}', "str.ljust width of 10000000000 is larger than an email"),
    "an escaped string's center": ('{{ ("x"|e).center(10**10) }}', "str.center width of 10000000000"),
    "a format width": ('{{ "{:>10000000000}".format("x") }}', "a format width of 10000000000"),
    "a printf width": ('{{ "%10000000000s" % "x" }}', "a format width of 10000000000"),
    "join with a long separator": ('{{ ("x" * 1000)|join("y" * 100000) }}', "a joined string of 99901000"),
    "indent(10**10)": ('{{ "a\\nb"|indent(10**10) }}', "indent width of 10000000000"),
    "a repeated string": ('{{ "x" * 1000000000 }}', "repetition too large"),
    "an output larger than an email": (
        '{% for a in "x" * 2000 %}{% for b in "y" * 1000 %}zz{% endfor %}{% endfor %}',
        f"renders more than {MAX_RENDERED_CHARS} characters",
    ),
}
NORMAL = Sources(subject="Hello {{ name }}", html="<p>{{ name|center(12) }}</p>", text="{{ name }}")


@pytest.fixture
async def renderer() -> AsyncIterator[Renderer]:
    pool = Renderer(processes=1, seconds=1.0, memory_mb=256)
    pool.start()
    try:
        yield pool
    finally:
        pool.stop()


@pytest.mark.timeout(120)
@pytest.mark.parametrize("name", HOSTILE)
async def test_n3_a_hostile_template_is_refused_in_seconds_and_the_worker_serves_the_next(
    renderer: Renderer, name: str
) -> None:
    html, reason = HOSTILE[name]
    # The limit under test is another one: on a loaded machine a 1 s budget (and its wall
    # clock, twice that) would run out first and hide it.
    renderer.seconds = SLOW_BUDGET if "takes more than" in reason else 15.0
    started = time.monotonic()
    with pytest.raises(TemplateProblem) as refused:
        await renderer.render(Sources(subject="s", html=html, text="t"), {"name": "Ada"})
    assert reason in refused.value.reason and refused.value.part == "html", refused.value.reason
    # The reason says which limit stopped it; the clock only guards against a hang (a loaded
    # machine takes seconds to start the replacement process, so no tighter bound here).
    assert time.monotonic() - started < 60
    renderer.seconds = 1.0
    rendered = await renderer.render(NORMAL, {"name": "Ada"})
    assert (rendered.subject, rendered.html) == ("Hello Ada", "<p>    Ada     </p>\n")


@pytest.mark.timeout(60)
async def test_n3_the_event_loop_stays_free_while_a_template_runs_out_of_time(renderer: Renderer) -> None:
    """The render runs in another process: this loop keeps ticking meanwhile."""
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.05)
            ticks += 1

    renderer.seconds = SLOW_BUDGET
    ticker = asyncio.create_task(tick())
    with pytest.raises(TemplateProblem, match=f"takes more than {SLOW_BUDGET:g} s"):
        await renderer.render(Sources(subject="s", html=LONG_LOOPS, text="t"), {})
    ticker.cancel()
    # A tick every 0.05 s while the render takes its 0.3 s (and more): 4 at the least.
    assert ticks >= 4


@pytest.mark.timeout(60)
async def test_n3_check_refuses_a_slow_template_with_its_part_and_sample(renderer: Renderer) -> None:
    renderer.seconds = SLOW_BUDGET
    with pytest.raises(TemplateProblem) as refused:
        await renderer.check(Sources(subject="s", html="<p>{{ link }}</p>", text=LONG_LOOPS), "welcome", "en")
    assert refused.value.part == "text" and f"takes more than {SLOW_BUDGET:g} s to render" in refused.value.reason
    assert refused.value.sample is not None
    renderer.seconds = 1.0
    await renderer.check(
        Sources(subject="Hi {{ customer.first_name }}", html="<p>{{ link }}</p>", text="{{ link }}"), "welcome", "en"
    )


@pytest.mark.timeout(60)
async def test_n3_a_stuck_worker_is_replaced(renderer: Renderer, monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker that does not answer in its wall time (here: made to ignore its own timers)
    is killed with its pool, and new processes serve the next render."""
    # The event loop's grace beyond the render's own wall time (3 s in the service) is only
    # waited out here: a shorter one proves the same replacement in a second, not four.
    grace = rendering.GRACE_SECONDS
    monkeypatch.setattr(rendering, "GRACE_SECONDS", 0.5)
    renderer.seconds = 0.5
    pool = renderer._pool
    assert pool is not None
    stuck = asyncio.get_running_loop().run_in_executor(pool, time.sleep, 60)
    with pytest.raises(TemplateProblem, match="takes more than"):
        await renderer.render(NORMAL, {"name": "Ada"})  # queued behind the stuck one: out of time
    assert renderer._pool is not pool
    with pytest.raises(Exception):  # noqa: B017 - the stuck call died with its pool
        await stuck
    # The new processes start now, which a loaded machine takes seconds for: the service's grace.
    monkeypatch.setattr(rendering, "GRACE_SECONDS", grace)
    assert (await renderer.render(NORMAL, {"name": "Bo"})).subject == "Hello Bo"

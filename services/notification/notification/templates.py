"""The template sandbox: compiling, checking and rendering email templates (N1, N3).

Every template, predefined or an administrator's, runs in Jinja's
``ImmutableSandboxedEnvironment``:

- attributes starting with ``_`` (``__class__``, ``__globals__``, ``__subclasses__``,
  ``_TemplateReference__context``) and the internals of functions and frames are refused,
  so no object leads back to Python's classes, modules or globals;
- ``str.format`` and ``format_map`` go through a formatter that applies the same rule to
  ``{0.__class__}`` fields, and the ``attr`` filter goes through the sandbox as well;
- the data cannot be changed (``list.append``, ``dict.update`` are refused);
- in HTML, data is always escaped: the ``safe`` filter is removed and ``{% autoescape %}``
  blocks are refused, so no customer-supplied name or CSR text becomes markup;
- ``range`` and ``lipsum`` are removed (nothing an email needs, a way to burn memory);
  ``*``, ``**``, ``%``, format widths, ``center``, ``indent``, ``join`` and the sized ``str``
  methods refuse results larger than an email before they allocate, and the output is
  measured while it is produced. Work that grows with nested loops, or a string doubled in a
  loop, is bounded by ``rendering``: administrators' templates render in processes with a
  CPU budget per render and a memory limit.

What a template can reach is only its context, plain JSON data built by ``kinds`` for its
kind. HTML bodies are autoescaped; subjects and plain-text bodies are rendered by a twin
environment without HTML escaping, in the same sandbox. Undefined variables raise
(``StrictUndefined``), so a typo refuses the template instead of sending a blank.
"""

from __future__ import annotations

import functools
import re
import traceback
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from numbers import Number
from pathlib import Path
from typing import Any

from jinja2 import (
    DictLoader,
    StrictUndefined,
    Template,
    TemplateError,
    TemplateNotFound,
    TemplateSyntaxError,
    nodes,
    pass_context,
)
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context as JinjaContext
from jinja2.sandbox import ImmutableSandboxedEnvironment

from . import kinds

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
LAYOUTS = ("layout.html", "layout.txt", "macros.html")

#: Larger than any email: a rendered part beyond this is refused.
MAX_RENDERED_CHARS = 1_000_000
MAX_SUBJECT_CHARS = 400
_MAX_REPEAT = 100_000
_MAX_EXPONENT = 64
_MAX_BASE = 2**64


#: str methods whose argument says how long a string to build.
_SIZED_METHODS = frozenset({"center", "ljust", "rjust", "zfill", "expandtabs"})


def _check_size(what: str, size: Any) -> None:
    if isinstance(size, int) and not isinstance(size, bool) and size > MAX_RENDERED_CHARS:
        raise SecurityError(f"{what} of {size} is larger than an email")


class EmailSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, with ``*`` and ``**`` kept to sizes an email can use, and every
    call that builds a string of a given width (``"x".center(10**10)``, ``"{:>9999999999}"``)
    refused before it allocates."""

    intercepted_binops = frozenset({"*", "**", "%"})

    def call(__self, __context: JinjaContext, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        if isinstance(getattr(__obj, "__self__", None), str) and getattr(__obj, "__name__", "") in _SIZED_METHODS:
            for size in (*args[:1], *kwargs.values()):
                _check_size(f"str.{__obj.__name__} width", size)
        return super().call(__context, __obj, *args, **kwargs)

    def wrap_str_format(self, value: Any) -> Any:
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        for width in _FORMAT_WIDTH.findall(str(value.__self__)):
            _check_size("a format width", int(width))  # "{:>9999999999}".format: 10 GB asked for
        return wrapped

    def call_binop(self, context: JinjaContext, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(left, Number) and isinstance(right, Number):
            if abs(right) > _MAX_EXPONENT or abs(left) > _MAX_BASE:  # type: ignore[arg-type]
                raise SecurityError("power too large for a template")
        if operator == "%" and isinstance(left, str):
            for width in _FORMAT_WIDTH.findall(left):
                _check_size("a format width", int(width))
        if operator == "*":
            for sequence, times in ((left, right), (right, left)):
                if isinstance(sequence, str | list | tuple) and isinstance(times, int):
                    if len(sequence) * times > _MAX_REPEAT:
                        raise SecurityError("repetition too large for a template")
        return super().call_binop(context, operator, left, right)


# --- filters: dates and amounts as each language writes them ------------------------------------

_MONTHS = {
    "en": "January February March April May June July August September October November December",
    "fr": "janvier février mars avril mai juin juillet août septembre octobre novembre décembre",
    "de": "Januar Februar März April Mai Juni Juli August September Oktober November Dezember",
}


def _language(context: JinjaContext) -> str:
    return str(context.get("language") or "en").split("-")[0]


def _moment(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


@pass_context
def format_date(context: JinjaContext, value: Any) -> str:
    moment = _moment(value)
    if moment is None:
        return "" if value is None else str(value)
    language = _language(context)
    months = _MONTHS.get(language, _MONTHS["en"]).split()
    month = months[moment.month - 1]
    if language == "de":
        return f"{moment.day}. {month} {moment.year}"
    return f"{moment.day} {month} {moment.year}"


@pass_context
def format_datetime(context: JinjaContext, value: Any) -> str:
    moment = _moment(value)
    if moment is None:
        return "" if value is None else str(value)
    zone = moment.tzname() or ""
    zone = "UTC" if zone in ("UTC", "UTC+00:00") else zone
    return f"{format_date(context, moment)} {moment:%H:%M} {zone}".rstrip()


@pass_context
def format_money(context: JinjaContext, amount: Any, currency: Any = None) -> str:
    try:
        text = f"{Decimal(str(amount)):,.2f}"
    except (InvalidOperation, ValueError):
        return "" if amount is None else str(amount)
    if _language(context) in ("fr", "de"):
        thousands = "\u202f" if _language(context) == "fr" else "."
        text = text.replace(",", "\x00").replace(".", ",").replace("\x00", thousands)
        return f"{text} {currency}" if currency else text
    return f"{currency} {text}" if currency else text


#: The width (and precision) in a format field: ``{:>10}``, ``{0:010.2f}``, ``%10s``.
_FORMAT_WIDTH = re.compile(r"[:%][^{}:%]*?(\d{7,})")


def _sized(name: str, filter_: Any) -> Any:
    """Jinja's filter ``name`` (``center``, ``indent``: value, then width), refusing a width
    larger than an email before it builds the string."""

    @functools.wraps(filter_)
    def capped(value: Any, *args: Any, **kwargs: Any) -> Any:
        for size in (*args[:1], kwargs.get("width")):
            _check_size(f"{name} width", size)
        return filter_(value, *args, **kwargs)

    return capped


def _joined(filter_: Any) -> Any:
    """Jinja's ``join``, refusing a result larger than an email before it is built: the
    separator repeated between the items counts (``[1]*1000|join("y"*100000)``)."""

    @functools.wraps(filter_)
    def capped(eval_ctx: Any, value: Any, d: Any = "", attribute: Any = None) -> Any:
        if isinstance(value, list | tuple | str | dict):
            _check_size("a joined string", len(str(d)) * max(len(value) - 1, 0) + sum(len(str(v)) for v in value))
        return filter_(eval_ctx, value, d, attribute)

    return capped


def _formatted(filter_: Any) -> Any:
    """Jinja's ``format`` (printf style), refusing a width larger than an email."""

    @functools.wraps(filter_)
    def capped(value: Any, *args: Any, **kwargs: Any) -> Any:
        for width in _FORMAT_WIDTH.findall(str(value)):
            _check_size("a format width", int(width))
        return filter_(value, *args, **kwargs)

    return capped


def _environment(*, html: bool) -> EmailSandbox:
    env = EmailSandbox(
        autoescape=html,
        undefined=StrictUndefined,
        loader=DictLoader({name: (TEMPLATES_DIR / name).read_text(encoding="utf-8") for name in LAYOUTS}),
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    for name in ("range", "lipsum"):
        env.globals.pop(name, None)
    if html:
        env.filters.pop("safe")
    env.filters.update(date=format_date, datetime=format_datetime, money=format_money)
    # Filters that build a string as wide as they are told (value first; eval-context filters
    # get the context first): refused before they allocate.
    for name in ("center", "indent"):
        env.filters[name] = _sized(name, env.filters[name])
    env.filters["join"] = _joined(env.filters["join"])
    env.filters["format"] = _formatted(env.filters["format"])
    return env


HTML = _environment(html=True)
TEXT = _environment(html=False)


# --- compiling, checking, rendering ---------------------------------------------------------------


@dataclass(frozen=True)
class Sources:
    subject: str
    html: str
    text: str


@dataclass(frozen=True)
class Rendered:
    subject: str
    html: str
    text: str


class TemplateProblem(Exception):
    """Why a template cannot be used: which part, which line, what went wrong."""

    def __init__(self, part: str, line: int | None, message: str, sample: str | None = None) -> None:
        self.part, self.line, self.message, self.sample = part, line, message, sample
        where = f"line {line}: " if line is not None else ""
        with_sample = f" (with sample data {sample})" if sample else ""
        super().__init__(f"{where}{message}{with_sample}")

    @property
    def reason(self) -> str:
        return str(self)


def _error_line(exc: BaseException) -> int | None:
    """The template line an error happened on (Jinja puts template frames in the traceback)."""
    if isinstance(exc, TemplateSyntaxError):
        return exc.lineno
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == "<template>":
            line = frame.lineno
    return line


def _describe(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    if isinstance(exc, SecurityError):
        return f"not allowed: {text}"
    if isinstance(exc, TemplateSyntaxError):
        return f"syntax error: {exc.message}"
    if isinstance(exc, MemoryError | OverflowError):
        return "needs more memory than a template may use"
    if isinstance(exc, TemplateNotFound):
        return f"no template {exc.name!r} to include: only {', '.join(LAYOUTS)}"
    return text if isinstance(exc, TemplateError) else f"{type(exc).__name__}: {text}"


@lru_cache(maxsize=1024)
def _compile_part(part: str, source: str) -> Template:
    env = HTML if part == "html" else TEXT
    if part == "html":
        for node in env.parse(source).find_all((nodes.EvalContextModifier, nodes.ScopedEvalContextModifier)):
            raise TemplateSyntaxError("autoescape cannot be turned off in an HTML template", node.lineno)
    return env.from_string(source)


@dataclass(frozen=True)
class CompiledTemplate:
    subject: Template
    html: Template
    text: Template

    def render(self, context: dict[str, Any], *, trusted: bool = False) -> Rendered:
        """``trusted``: the service's own template (a predefined one), whose output needs no
        measuring while it is produced."""
        parts = {}
        measured = _whole if trusted else _bounded
        for part in ("subject", "html", "text"):
            try:
                parts[part] = measured(getattr(self, part), context)
            except TemplateProblem as problem:
                raise TemplateProblem(part, problem.line, problem.message) from None
            except RenderBudgetExceeded as exc:  # the worker's time ran out (notification.rendering)
                raise TemplateProblem(part, _error_line(exc), str(exc)) from None
            except Exception as exc:  # noqa: BLE001 - any failure of a template is its problem
                raise TemplateProblem(part, _error_line(exc), _describe(exc)) from exc
        subject = " ".join(parts["subject"].split())  # one header line, whatever the source
        if not subject:
            raise TemplateProblem("subject", None, "renders an empty subject")
        if len(subject) > MAX_SUBJECT_CHARS:
            raise TemplateProblem("subject", None, f"renders more than {MAX_SUBJECT_CHARS} characters")
        # Bodies end with one newline, as the email library would make them anyway: the
        # activity then holds exactly what was sent.
        html, text = (parts[p].rstrip("\n") + "\n" for p in ("html", "text"))
        return Rendered(subject=subject, html=html, text=text)


class RenderBudgetExceeded(BaseException):
    """Raised inside a render when its time is up (``notification.rendering`` arms the timer).
    A BaseException, so that no ``except Exception`` on the way turns it into something else."""


def _whole(template: Template, context: dict[str, Any]) -> str:
    return template.render(context)


def _bounded(template: Template, context: dict[str, Any]) -> str:
    """The template's output, refused as soon as it passes MAX_RENDERED_CHARS: counted while
    rendering, so a template never builds a gigabyte before it is measured."""
    chunks, size = [], 0
    for chunk in template.generate(context):
        size += len(chunk)
        if size > MAX_RENDERED_CHARS:
            raise TemplateProblem("", None, f"renders more than {MAX_RENDERED_CHARS} characters")
        chunks.append(chunk)
    return "".join(chunks)


def compile_sources(sources: Sources) -> CompiledTemplate:
    compiled = {}
    for part in ("subject", "html", "text"):
        try:
            compiled[part] = _compile_part(part, getattr(sources, part))
        except Exception as exc:  # noqa: BLE001
            raise TemplateProblem(part, _error_line(exc), _describe(exc)) from exc
    return CompiledTemplate(**compiled)


def check(sources: Sources, kind: str, language: str, variables: dict[str, str] | None = None) -> CompiledTemplate:
    """Compile and render against every sample of ``kind``; raise the first TemplateProblem."""
    compiled = compile_sources(sources)
    for label, context in kinds.samples(kind, variables):
        try:
            compiled.render({**context, "language": language})
        except TemplateProblem as problem:
            raise TemplateProblem(problem.part, problem.line, problem.message, label) from problem
    return compiled

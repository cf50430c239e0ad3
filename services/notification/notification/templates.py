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
- ``range`` and ``lipsum`` are removed (nothing an email needs, a way to burn memory), and
  ``*`` and ``**`` refuse results larger than an email, which blocks the cheap ways to
  exhaust memory. Work that grows with nested loops is not bounded here: templates come
  from administrators, are checked on submission, and the rendered size is capped.

What a template can reach is only its context, plain JSON data built by ``kinds`` for its
kind. HTML bodies are autoescaped; subjects and plain-text bodies are rendered by a twin
environment without HTML escaping, in the same sandbox. Undefined variables raise
(``StrictUndefined``), so a typo refuses the template instead of sending a blank.
"""

from __future__ import annotations

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
from jinja2.runtime import Context as JinjaContext
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from . import kinds

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
LAYOUTS = ("layout.html", "layout.txt", "macros.html")

#: Larger than any email: a rendered part beyond this is refused.
MAX_RENDERED_CHARS = 1_000_000
MAX_SUBJECT_CHARS = 400
_MAX_REPEAT = 100_000
_MAX_EXPONENT = 64
_MAX_BASE = 2**64


class EmailSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, with ``*`` and ``**`` kept to sizes an email can use."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: JinjaContext, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(left, Number) and isinstance(right, Number):
            if abs(right) > _MAX_EXPONENT or abs(left) > _MAX_BASE:  # type: ignore[arg-type]
                raise SecurityError("power too large for a template")
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

    def render(self, context: dict[str, Any]) -> Rendered:
        parts = {}
        for part in ("subject", "html", "text"):
            try:
                parts[part] = getattr(self, part).render(context)
            except Exception as exc:  # noqa: BLE001 - any failure of a template is its problem
                raise TemplateProblem(part, _error_line(exc), _describe(exc)) from exc
            if len(parts[part]) > MAX_RENDERED_CHARS:
                raise TemplateProblem(part, None, f"renders more than {MAX_RENDERED_CHARS} characters")
        subject = " ".join(parts["subject"].split())  # one header line, whatever the source
        if not subject:
            raise TemplateProblem("subject", None, "renders an empty subject")
        if len(subject) > MAX_SUBJECT_CHARS:
            raise TemplateProblem("subject", None, f"renders more than {MAX_SUBJECT_CHARS} characters")
        # Bodies end with one newline, as the email library would make them anyway: the
        # activity then holds exactly what was sent.
        html, text = (parts[p].rstrip("\n") + "\n" for p in ("html", "text"))
        return Rendered(subject=subject, html=html, text=text)


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

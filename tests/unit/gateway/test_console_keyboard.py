"""I5: every console page works from the keyboard, by construction. Whatever acts is an
element the browser already puts in the tab order and works with Enter or Space: a link with
an ``href``, a button, a form's control, a ``<summary>`` (the menus). No ``div`` or ``span``
that only a mouse can click (htmx attributes on one would make it one), no ``tabindex`` that
takes an element out of the order or reorders the page. The browser walk that proves a CSR's
path with Tab and Enter alone is ``test_console_seed_workflows_browser.py``
(``..._with_the_keyboard_alone``); this checks every template, each page included."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pytest

GATEWAY = Path(__file__).resolve().parents[3] / "services" / "gateway" / "gateway"
TEMPLATES = sorted((GATEWAY / "templates").glob("*.html"))

ACTS = ("hx-get", "hx-post", "hx-put", "hx-patch", "hx-delete", "data-back", "data-confirm", "data-submit-on-change")
#: Elements the browser focuses and works from the keyboard by themselves.
KEYBOARD_NATIVE = {"a", "button", "form", "input", "select", "textarea", "summary"}
#: A label may carry htmx for the control inside it, triggered by typing or a change.
FORM_EVENTS = ("input", "change", "keyup")


class _Findings(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self.links = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        where = f"<{tag}> at line {self.getpos()[0]}"
        acting = [name for name in ACTS if name in names]
        if tag == "a":
            self.links += 1
            if not names.get("href"):
                self.problems.append(f"{where}: a link without an href is out of the tab order")
        if acting and tag not in KEYBOARD_NATIVE:
            trigger = names.get("hx-trigger") or ""
            if not (tag == "label" and trigger and all(_form_event(part) for part in trigger.split(","))):
                self.problems.append(f"{where}: {acting} on an element the keyboard cannot use")
        if "tabindex" in names:
            self.problems.append(f"{where}: tabindex={names['tabindex']!r} changes the tab order")
        if "role" in names and names["role"] in ("button", "link") and tag not in KEYBOARD_NATIVE:
            self.problems.append(f"{where}: role={names['role']!r} on a <{tag}> needs key handling it does not have")


def _form_event(part: str) -> bool:
    words = part.split()
    return bool(words) and words[0] in FORM_EVENTS


def test_the_templates_are_read() -> None:
    assert len(TEMPLATES) >= 30 and any(t.name == "record.html" for t in TEMPLATES)


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda t: t.name)
def test_i5_every_control_of_every_page_is_reached_and_used_from_the_keyboard(template: Path) -> None:
    findings = _Findings()
    findings.feed(template.read_text(encoding="utf-8"))
    assert findings.problems == [], f"{template.name}: {findings.problems}"


def test_i5_the_check_finds_what_only_a_mouse_can_use() -> None:
    findings = _Findings()
    findings.feed(
        '<div hx-get="/x">open</div><a hx-get="/y">no href</a><span tabindex="3">x</span>'
        '<label hx-get="/z" hx-trigger="input changed"><input name="q"></label>'
    )
    assert len(findings.problems) == 3, findings.problems

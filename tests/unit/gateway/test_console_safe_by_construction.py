"""I5 (security step 12, finding 1): the console's templates put no data where a browser
runs it. A customer's email inside a quoted JavaScript string in an ``onsubmit`` attribute ran
script in a CSR's browser (HTML escaping is undone before the script runs); now no template
has an event attribute, an inline script, a ``javascript:`` URL, an ``hx-on`` attribute (htmx
would eval it) or an inline style (the Content-Security-Policy allows none), and behaviour is
declared by data attributes that ``static/console.js`` reads as text."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gateway.headers import CONTENT_SECURITY_POLICY

GATEWAY = Path(__file__).resolve().parents[3] / "services" / "gateway" / "gateway"
TEMPLATES = sorted((GATEWAY / "templates").glob("*.html"))

FORBIDDEN = {
    "an event attribute": re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE),
    "an inline script": re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE),
    "a javascript: URL": re.compile(r"javascript:", re.IGNORECASE),
    "an hx-on attribute": re.compile(r"\shx-on[:-]", re.IGNORECASE),
    "a js: value": re.compile(r"""\shx-(vals|headers)\s*=\s*['"]\s*js:""", re.IGNORECASE),
    "an inline style": re.compile(r"""\sstyle\s*=|<style""", re.IGNORECASE),
}


def test_the_templates_are_read() -> None:
    assert len(TEMPLATES) >= 15 and any(t.name == "record.html" for t in TEMPLATES)


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda t: t.name)
def test_i5_no_template_puts_data_where_the_browser_runs_it(template: Path) -> None:
    text = template.read_text(encoding="utf-8")
    found = {what: pattern.findall(text) for what, pattern in FORBIDDEN.items() if pattern.search(text)}
    assert found == {}, f"{template.name} has {found}"


def test_i5_the_patterns_catch_what_they_are_for() -> None:
    """The scan itself: each pattern finds the construct it forbids (the original finding
    included), so a passing scan means something."""
    samples = {
        "an event attribute": """<form onsubmit="return confirm('Send {{ customer.email }}?')">""",
        "an inline script": "<script>var x = 1</script>",
        "a javascript: URL": '<a href="javascript:history.back()">',
        "an hx-on attribute": """<a hx-on::after-request="this.classList.add('here')">""",
        "a js: value": """<div hx-vals='js:{a: 1}'>""",
        "an inline style": '<h2 style="margin-top:0">',
    }
    for what, sample in samples.items():
        assert FORBIDDEN[what].search(sample), what
    assert not FORBIDDEN["an inline script"].search('<script src="/static/console.js" defer></script>')
    assert not FORBIDDEN["an event attribute"].search('<form method="post" action="/x" data-confirm="Send?">')


def test_i5_behaviour_is_declared_by_data_attributes_read_by_a_static_script() -> None:
    base = (GATEWAY / "templates" / "base.html").read_text(encoding="utf-8")
    assert '<script src="/static/console.js" defer></script>' in base
    assert '"allowEval":false' in base and '"includeIndicatorStyles":false' in base
    record = (GATEWAY / "templates" / "record.html").read_text(encoding="utf-8")
    assert 'data-confirm="Send {{ customer.email }} a password reset email?"' in record
    script = (GATEWAY / "static" / "console.js").read_text(encoding="utf-8")
    for hook in ("form[data-confirm]", "select[data-submit-on-change]", "a[data-back]", "#record-tabs"):
        assert hook in script
    assert "eval(" not in script and "innerHTML" not in script


def test_i5_the_policy_allows_no_inline_script_eval_or_framing() -> None:
    policy = dict(part.strip().split(" ", 1) for part in CONTENT_SECURITY_POLICY.split(";"))
    assert policy["script-src"] == "'self'" and policy["default-src"] == "'self'"
    assert policy["frame-ancestors"] == "'none'" and policy["object-src"] == "'none'"
    # Inline style for the emails shown in sandboxed iframes only (their templates style
    # inline); the console's templates have none (scanned above).
    assert policy["style-src"] == "'self' 'unsafe-inline'"
    assert "unsafe" not in CONTENT_SECURITY_POLICY.replace(policy["style-src"], "")

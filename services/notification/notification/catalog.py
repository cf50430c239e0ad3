"""The predefined templates that ship with the service: ``templates/<language>/<name>.yaml``.

Each file has the shape an administrator sends with ``SetTemplate`` (subject, html, text,
and for customer-message templates the variables with sample values), so overriding one
starts from a copy of it. All are compiled and checked against sample data when the
service starts: a broken predefined template stops the service instead of an email.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from pathlib import Path

import yaml

from contracts.notification.emails import PreviewInput, TemplateInput

from . import domain, templates
from .templates import CompiledTemplate, Sources


@dataclass(frozen=True)
class StoredTemplate:
    """A template as the manager keeps it, predefined or an administrator's."""

    name: str
    kind: str
    source: str  # "predefined" or "custom"
    scope_id: str | None
    language: str
    subject: str
    html: str
    text: str
    variables: dict[str, str] = field(default_factory=dict)
    description: str | None = None
    version: int = 1
    updated_at: datetime | None = None
    updated_by: str | None = None

    @property
    def sources(self) -> Sources:
        return Sources(subject=self.subject, html=self.html, text=self.text)

    def compiled(self) -> CompiledTemplate:
        return templates.compile_sources(self.sources)  # cached by source


class Catalog:
    def __init__(self, entries: list[StoredTemplate]) -> None:
        self._by_key = {(t.name, t.language): t for t in entries}

    def get(self, name: str, language: str) -> StoredTemplate | None:
        return self._by_key.get((name, language))

    def languages(self, name: str) -> set[str]:
        return {language for (n, language) in self._by_key if n == name}

    def names(self) -> set[str]:
        return {name for (name, _) in self._by_key}

    def all(self) -> list[StoredTemplate]:
        return sorted(self._by_key.values(), key=lambda t: (t.name, t.language))


def read_template_file(path: Path, *, name: str, language: str, source: str = "predefined") -> StoredTemplate:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    return StoredTemplate(
        name=name,
        kind=domain.kind_of(name),
        source=source,
        scope_id=None,
        language=language,
        subject=raw["subject"],
        html=raw["html"],
        text=raw["text"],
        variables={str(k): str(v) for k, v in (raw.get("variables") or {}).items()},
        description=raw.get("description"),
    )


def given(sent: TemplateInput | PreviewInput, kind: str, source: str, sources: Sources) -> StoredTemplate:
    """N3: a template as an administrator sends it (``SetTemplate``) or drafts it in a preview,
    before it is checked."""
    return StoredTemplate(
        name=sent.name,
        kind=kind,
        source=source,
        scope_id=sent.scope_id,
        language=sent.language.lower(),
        subject=sources.subject,
        html=sources.html,
        text=sources.text,
        variables=dict(sent.variables),
    )


def draft(preview: PreviewInput, kind: str) -> StoredTemplate | None:
    """N3: the draft a preview checks and renders without storing it; None when it gives no
    subject, html and text (the contract takes all three or none): the stored one is meant."""
    if preview.subject is None or preview.html is None or preview.text is None:
        return None
    return given(preview, kind, "draft", Sources(subject=preview.subject, html=preview.html, text=preview.text))


def load(directory: Path = templates.TEMPLATES_DIR) -> Catalog:
    entries = []
    for path in sorted(directory.glob("*/*.yaml")):
        name, language = path.stem, path.parent.name
        if name not in domain.KINDS:
            raise ValueError(f"{path}: predefined templates are named after a kind, not {name!r}")
        entry = read_template_file(path, name=name, language=language)
        try:
            templates.check(entry.sources, entry.kind, language, entry.variables)
        except templates.TemplateProblem as problem:
            raise ValueError(f"{path}: {problem.part}: {problem.reason}") from problem
        entries.append(entry)
    return Catalog(entries)


@cache
def predefined() -> Catalog:
    """The service's catalog, loaded once per process."""
    return load()

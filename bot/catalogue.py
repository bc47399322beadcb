"""The finding catalogue: stable codes -> severity and the sentences, kept as data.

Entries live in `templates/knowledge/findings/*.yaml` (one file per family) and notes in
`templates/knowledge/notes.yaml`. Strings are jinja2 templates over the finding's fields; a missing
field fails loudly (StrictUndefined), and `tests/test_catalogue.py` checks that every code a
handler emits exists and every entry is used.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bot import logs
from bot.i18n import DEFAULT_LANG
from bot.templating import TEMPLATES, render_string
from handlers.model import Finding, Note, Severity, Text

KNOWLEDGE = TEMPLATES / "knowledge"
_REQUIRED = ("severity", "title")


@dataclass(frozen=True, slots=True)
class Entry:
    code: str
    severity: Severity
    title: str
    detail: str
    next_steps: tuple[str, ...]
    since: str
    retired: str | None
    source: str


@dataclass(frozen=True, slots=True)
class RenderedFinding:
    code: str
    severity: str
    title: str
    detail: str
    evidence: tuple[str, ...]
    next_steps: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity,
            "title": self.title,
            "detail": self.detail,
            "evidence": list(self.evidence),
            "next_steps": list(self.next_steps),
        }


class CatalogueError(Exception):
    """The catalogue data itself is wrong (a bug in the project, found by tests)."""


def _load_file(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise CatalogueError(f"{path}: expected a mapping of CODE: entry")
    return data


@functools.cache
def entries() -> Mapping[str, Entry]:
    out: dict[str, Entry] = {}
    for path in sorted((KNOWLEDGE / "findings").glob("*.yaml")):
        for code, raw in _load_file(path).items():
            if code in out:
                raise CatalogueError(f"{path}: {code} is also defined in {out[code].source}")
            if not isinstance(raw, dict) or any(k not in raw for k in _REQUIRED):
                raise CatalogueError(f"{path}: {code} needs {', '.join(_REQUIRED)}")
            out[code] = Entry(
                code=code,
                severity=Severity(raw["severity"]),
                title=str(raw["title"]),
                detail=str(raw.get("detail", "")),
                next_steps=tuple(str(s) for s in raw.get("next_steps") or ()),
                since=str(raw.get("since", "")),
                retired=raw.get("retired"),
                source=path.name,
            )
    return out


@functools.cache
def notes() -> Mapping[str, str]:
    return {str(k): str(v) for k, v in _load_file(KNOWLEDGE / "notes.yaml").items()}


@functools.cache
def phrases() -> Mapping[str, str]:
    """Phrase code -> template, from `templates/knowledge/phrases/*.yaml` (one file per family)."""
    out: dict[str, str] = {}
    where: dict[str, str] = {}
    for path in sorted((KNOWLEDGE / "phrases").glob("*.yaml")):
        for code, source in _load_file(path).items():
            if code in out:
                raise CatalogueError(f"{path}: phrase {code} is also defined in {where[code]}")
            out[str(code)], where[str(code)] = str(source), path.name
    return out


def entry(code: str) -> Entry:
    try:
        return entries()[code]
    except KeyError:
        raise CatalogueError(f"finding code {code} is not in the catalogue") from None


def _fields(f: Finding | Note) -> dict[str, object]:
    return dict(f.fields)


#: Codes whose translation failed to render and were answered in English instead (tests assert none).
FALLBACKS: Counter[str] = Counter()


def _render(code: str, source: str, fields: dict[str, object], lang: str) -> str:
    """One string in `lang`. A translation that fails to render (a translator's slip on a branch no
    test reached) must not cost the user the answer: log it and say it in English."""
    if lang == DEFAULT_LANG:
        return render_string(source, fields)
    try:
        return render_string(source, fields, lang)
    except Exception as err:
        FALLBACKS[code] += 1
        logs.event("i18n.fallback", code=code, lang=lang, error=str(err)[:200])
        return render_string(source, fields)


def render_finding(f: Finding, lang: str = DEFAULT_LANG) -> RenderedFinding:
    e = entry(f.code)
    fields = _fields(f)
    try:
        # A step may render to several lines (a loop over data): each non-empty line is one step.
        steps = [line.strip() for s in e.next_steps for line in _render(f.code, s, fields, lang).splitlines()]
        return RenderedFinding(
            code=f.code,
            severity=(f.severity or e.severity).value,
            title=_render(f.code, e.title, fields, lang),
            detail=_render(f.code, e.detail, fields, lang) if e.detail else "",
            evidence=tuple(render_text(e, lang) for e in f.evidence),
            next_steps=tuple(s for s in [*steps, *f.commands] if s),
        )
    except Exception as err:  # jinja2.UndefinedError and friends: a project bug, say which code
        raise CatalogueError(f"{f.code}: {err}") from err


def render_text(text: Text, lang: str = DEFAULT_LANG) -> str:
    """A line of evidence or a searched place: a string as it is, a Phrase in `lang`."""
    if isinstance(text, str):
        return text
    try:
        source = phrases()[text.code]
    except KeyError:
        raise CatalogueError(f"phrase code {text.code} is not in templates/knowledge/phrases/") from None
    return _render(text.code, source, dict(text.fields), lang)


def render_note(n: Note, lang: str = DEFAULT_LANG) -> str:
    try:
        source = notes()[n.code]
    except KeyError:
        raise CatalogueError(f"note code {n.code} is not in notes.yaml") from None
    return _render(n.code, source, _fields(n), lang)

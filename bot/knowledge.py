"""The reason knowledge (`templates/knowledge/reasons.yaml`): texts for templates, names for handlers.

One entry per reason, every text a whole sentence (a translatable string). Templates read an entry
through the `reason_info` jinja global (bot/templating.py); query modules, which cannot read files,
get the names through the index `install()` puts in handlers/knowledge.py before the first question.
`tests/test_knowledge_schema.py` checks the schema below and that FACTS.md's reasons are all here.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from bot.i18n import DEFAULT_LANG, LEGACY_KEYS, REASON_KEYS, REASON_LIST_KEYS, translate
from handlers import knowledge

REASONS_FILE = Path(__file__).resolve().parent.parent / "templates" / "knowledge" / "reasons.yaml"

#: Keys every entry has; `tests/test_knowledge_schema.py` holds the full schema.
REQUIRED = ("appears_in", "source", "ref", "summary", "meaning", "causes", "next_steps")
#: Optional keys and the value an entry gets without them, so templates (StrictUndefined) can test them.
OPTIONAL: Mapping[str, Any] = {
    "message": "",
    "see_also": (),
    "legacy": None,
    "unverified": "",
    "aliases": (),
    "prefix": "",
}


class KnowledgeError(Exception):
    """reasons.yaml itself is wrong (a bug in the project, found by tests)."""


@functools.cache
def reasons() -> Mapping[str, Mapping[str, Any]]:
    data = yaml.safe_load(REASONS_FILE.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise KnowledgeError(f"{REASONS_FILE}: expected a mapping of Reason: entry")
    out: dict[str, Mapping[str, Any]] = {}
    for name, entry in data.items():
        if not isinstance(entry, dict) or any(k not in entry for k in REQUIRED):
            raise KnowledgeError(f"{REASONS_FILE}: {name} needs {', '.join(REQUIRED)}")
        out[str(name)] = {**OPTIONAL, **entry}
    return out


@functools.cache
def reason_info(name: str, lang: str = DEFAULT_LANG) -> Mapping[str, Any]:
    """One entry, for templates: `{% set r = reason_info(reason) %}{{ r.meaning }}`. The template
    environment of each language binds `lang`, so the texts come translated (bot/i18n.py)."""
    try:
        entry = reasons()[name]
    except KeyError:
        raise KnowledgeError(f"reason {name} is not in {REASONS_FILE.name}") from None
    if lang == DEFAULT_LANG:
        return entry

    def tr(text: str) -> str:
        return translate(lang, text)

    out = dict(entry)
    for key in REASON_KEYS:
        if out.get(key):
            out[key] = tr(str(out[key]))
    for key in REASON_LIST_KEYS:
        out[key] = [tr(str(t)) for t in out.get(key) or ()]
    out["next_steps"] = [tr(str(s)) for s in out["next_steps"]]
    if out.get("legacy"):
        out["legacy"] = {k: tr(str(v)) if k in LEGACY_KEYS else v for k, v in out["legacy"].items()}
    return out


@functools.cache
def index() -> knowledge.Index:
    return knowledge.Index(
        reasons=tuple(
            knowledge.ReasonName(
                name=name,
                legacy=bool(entry.get("legacy")),
                aliases=tuple(str(a) for a in entry.get("aliases") or ()),
                prefix=str(entry.get("prefix") or ""),
            )
            for name, entry in reasons().items()
        )
    )


def install() -> None:
    """Give query modules the names (idempotent; dispatch calls it before every answer)."""
    knowledge.install(index())

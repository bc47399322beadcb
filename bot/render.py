"""Result -> text, JSON (the contract's shape) and Slack Block Kit messages within Slack's limits."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import Block

from bot.catalogue import RenderedFinding, render_finding, render_note, render_text
from bot.i18n import DEFAULT_LANG
from bot.templating import render_file, slack_escape
from handlers.errors import QueryError
from handlers.model import Phrase, Result

# Block Kit limits (FACTS.md §11; docs.slack.dev/reference/block-kit/blocks).
MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_CONTEXT_TEXT = 2000  # each context element's text
MAX_FALLBACK_TEXT = 40_000
FORMATS = ("text", "json", "slack")


@dataclass(frozen=True, slots=True)
class Rendered:
    """A Result with every sentence filled in, in the user's language."""

    result: Result
    findings: tuple[RenderedFinding, ...]
    notes: tuple[str, ...]
    lang: str = DEFAULT_LANG

    @property
    def query(self) -> str:
        return self.result.query

    @property
    def verb(self) -> str:
        return self.result.verb

    @property
    def target(self) -> Any:
        return self.result.target

    @property
    def status(self) -> str | None:
        return self.result.status

    @property
    def searched(self) -> tuple[str, ...]:
        return tuple(render_text(s, self.lang) for s in self.result.searched)

    @property
    def partial(self) -> bool:
        return self.result.partial


def rendered(result: Result, lang: str = DEFAULT_LANG) -> Rendered:
    return Rendered(
        result=result,
        findings=tuple(render_finding(f, lang) for f in result.findings),
        notes=tuple(render_note(n, lang) for n in result.notes),
        lang=lang,
    )


def to_json(result: Result, lang: str = DEFAULT_LANG) -> dict[str, Any]:
    r = rendered(result, lang)
    t = result.target
    return {
        "query": result.query,
        "verb": result.verb,
        "target": None if t is None else {"kind": t.kind, "namespace": t.namespace, "name": t.name},
        "status": result.status,
        "findings": [f.as_json() for f in r.findings],
        "partial": result.partial,
        "notes": list(r.notes),
    }


def to_text(result: Result, lang: str = DEFAULT_LANG) -> str:
    return _text(rendered(result, lang), lang)


def _text(r: Rendered, lang: str) -> str:
    return render_file("text/result.txt.j2", lang, r=r).rstrip() + "\n"


def to_slack(
    result: Result, *, cli_hint: str | None = None, lang: str = DEFAULT_LANG
) -> list[dict[str, Any]]:
    """One or more Slack messages ({"text", "blocks"}), each within Block Kit limits."""
    r = rendered(result, lang)
    blocks: list[dict[str, Any]] = json.loads(render_file("slack/result.json.j2", lang, r=r))
    fallback = _text(r, lang)
    hint = cli_hint or f'k8s-bot ask "{result.query}"'
    return split_messages(blocks, fallback, cli_hint=hint, lang=lang)


def error_text(err: QueryError, lang: str = DEFAULT_LANG) -> str:
    return render_file(f"errors/{err.template}.txt.j2", lang, e=err.fields()).strip()


def error_json(query: str, err: QueryError, lang: str = DEFAULT_LANG) -> dict[str, Any]:
    return {
        "query": query,
        "error": {"type": type(err).__name__, "message": error_text(err, lang), **_jsonable(err.fields())},
    }


def _jsonable(fields: dict[str, object]) -> dict[str, Any]:
    """Error fields as JSON data: lists for tuples, Phrases worded in English (data, not prose)."""

    def value(v: object) -> object:
        if isinstance(v, tuple | list):
            return [value(x) for x in v]
        return render_text(v) if isinstance(v, Phrase) else v

    return {k: value(v) for k, v in fields.items()}


def error_slack(err: QueryError, lang: str = DEFAULT_LANG) -> list[dict[str, Any]]:
    text = error_text(err, lang)
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": slack_escape(text)}}]
    return split_messages(blocks, text, cli_hint=None, lang=lang)


# -- Block Kit limits -------------------------------------------------------------------------


def _truncate(text: str, limit: int, hint: str | None, lang: str = DEFAULT_LANG) -> str:
    if len(text) <= limit:
        return text
    tail = "\n" + render_file("text/cut.txt.j2", lang, hint=hint).strip()
    closing = "```" if text.count("```") % 2 == 0 and text.endswith("```") else ""
    keep = limit - len(tail) - len(closing)
    return text[:keep].rstrip() + closing + tail


def _fit_block(block: dict[str, Any], hint: str | None, lang: str = DEFAULT_LANG) -> dict[str, Any]:
    b: dict[str, Any] = json.loads(json.dumps(block))
    if b.get("type") == "section" and isinstance(b.get("text"), dict):
        b["text"]["text"] = _truncate(b["text"]["text"], MAX_SECTION_TEXT, hint, lang)
    elif b.get("type") == "context":
        for el in b.get("elements", []):
            if isinstance(el, dict) and "text" in el:
                el["text"] = _truncate(el["text"], MAX_CONTEXT_TEXT, hint, lang)
    elif b.get("type") == "header":
        b["text"]["text"] = _truncate(b["text"]["text"], 150, None)
    return b


def split_messages(
    blocks: list[dict[str, Any]], fallback: str, *, cli_hint: str | None, lang: str = DEFAULT_LANG
) -> list[dict[str, Any]]:
    """Fit blocks into messages of at most MAX_BLOCKS, each block within its text limit."""
    fitted = [_fit_block(b, cli_hint, lang) for b in blocks]
    for b in fitted:
        validate_block(b)
    chunks = [fitted[i : i + MAX_BLOCKS] for i in range(0, len(fitted), MAX_BLOCKS)] or [[]]
    text = _truncate(fallback, MAX_FALLBACK_TEXT // 10, cli_hint, lang)  # notification text: keep it short
    return [
        {
            "text": text
            if i == 0
            else render_file("text/part.txt.j2", lang, text=text[:200], part=i + 1).strip(),
            "blocks": chunk,
        }
        for i, chunk in enumerate(chunks)
    ]


def validate_block(block: dict[str, Any]) -> None:
    """Parse with slack_sdk's block models, which know the field names and types Slack accepts."""
    parsed = Block.parse(block)
    if parsed is None:
        raise ValueError(f"not a Block Kit block: {block!r}")
    parsed.validate_json()

"""The one jinja2 environment: file templates under templates/, string templates from the catalogue."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable
from pathlib import Path

import jinja2

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def inline_code(value: object) -> str:
    return f"`{value}`"


def tojson_str(value: object) -> str:
    """A JSON string literal (for Slack templates: no user value can break the JSON)."""
    return json.dumps("" if value is None else str(value), ensure_ascii=False)


def slack_escape(value: object) -> str:
    """Slack mrkdwn control characters: `&`, `<`, `>` must be sent as entities, or `<none>` and
    `--limits=memory=<2Gi>` vanish or become links (api.slack.com/reference/surfaces/formatting)."""
    return "" if value is None else str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def plural(n: int, one: str, many: str) -> str:
    return one if n == 1 else many


def join_or(values: Iterable[object], sep: str = ", ", last: str = " or ") -> str:
    items = [str(v) for v in values]
    if len(items) <= 1:
        return "".join(items)
    return sep.join(items[:-1]) + last + items[-1]


@functools.cache
def env() -> jinja2.Environment:
    e = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # plain text and Slack mrkdwn; JSON templates use the `js` filter
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        extensions=["jinja2.ext.loopcontrols"],
    )
    e.filters["inline_code"] = inline_code
    e.filters["js"] = tojson_str
    e.filters["slack"] = slack_escape
    e.filters["join_or"] = join_or
    e.globals["plural"] = plural
    from bot.knowledge import reason_info  # bot.knowledge reads TEMPLATES-relative data

    e.globals["reason_info"] = reason_info
    return e


@functools.lru_cache(maxsize=4096)
def compile_string(source: str) -> jinja2.Template:
    return env().from_string(source)


def render_string(source: str, fields: dict[str, object]) -> str:
    return compile_string(source).render(**fields).strip()


def render_file(name: str, **context: object) -> str:
    return env().get_template(name).render(**context)

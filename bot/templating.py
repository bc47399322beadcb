"""The jinja2 environments, one per language: file templates under templates/, string templates
from the catalogue. Each has jinja2's i18n extension with that language's gettext catalog installed
(bot/i18n.py), so `{% trans %}` and `_()` in a file template answer in that language."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable
from pathlib import Path

import jinja2

from bot.i18n import DEFAULT_LANG, translate, translations

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


def _join_or_for(lang: str) -> Callable[..., str]:
    """`a, b or c`; in Chinese `a、b 或 c`. The separators are words, so they come from the catalog."""
    sep, last = translate(lang, ", "), translate(lang, " or ")

    def join(values: Iterable[object], sep: str = sep, last: str = last) -> str:
        return join_or(values, sep, last)

    return join


def _phrase(value: object, lang: str) -> str:
    """`{{ e.searched | map("phrase") | join(", ") }}`: a Phrase worded in the template's language."""
    from bot.catalogue import render_text  # the catalogue renders through this module
    from handlers.model import Phrase

    return render_text(value, lang) if isinstance(value, Phrase) else str(value)


@functools.cache
def env(lang: str = DEFAULT_LANG) -> jinja2.Environment:
    e = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)),
        undefined=jinja2.StrictUndefined,
        autoescape=False,  # plain text and Slack mrkdwn; JSON templates use the `js` filter
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        extensions=["jinja2.ext.loopcontrols", "jinja2.ext.i18n"],
    )
    e.install_gettext_translations(translations(lang), newstyle=True)  # type: ignore[attr-defined]
    e.filters["inline_code"] = inline_code
    e.filters["js"] = tojson_str
    e.filters["slack"] = slack_escape
    e.filters["join_or"] = _join_or_for(lang)
    e.filters["phrase"] = functools.partial(_phrase, lang=lang)
    e.globals["plural"] = plural
    from bot.knowledge import reason_info  # bot.knowledge reads TEMPLATES-relative data

    e.globals["reason_info"] = functools.partial(reason_info, lang=lang)
    e.globals["lang"] = lang
    return e


@functools.lru_cache(maxsize=8192)
def compile_string(source: str, lang: str = DEFAULT_LANG) -> jinja2.Template:
    """A knowledge string in `lang`: its translation (a template over the same fields) when the
    catalog has one, else the English source."""
    return env(lang).from_string(translate(lang, source))


def render_string(source: str, fields: dict[str, object], lang: str = DEFAULT_LANG) -> str:
    return compile_string(source, lang).render(**fields).strip()


def render_file(name: str, lang: str = DEFAULT_LANG, **context: object) -> str:
    return env(lang).get_template(name).render(**context)

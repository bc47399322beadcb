"""Languages: gettext catalogs (Babel) for every user-facing sentence, and which language to answer in.

Two kinds of message share one catalog per language (`templates/locale/<lang>/LC_MESSAGES/messages.po`):

- sentences in the file templates (`templates/**/*.j2`), marked with jinja2's i18n extension
  (`{% trans %}`, `_()`), extracted by jinja2's own Babel extractor;
- the knowledge data (`templates/knowledge/**/*.yaml`): each finding's title, detail and the
  next steps that carry prose (`# ` comment lines), each note, and each reason's texts. These strings
  are jinja2 templates themselves, so the msgid is the template *source* and its translation is a
  template over the same fields: `extract_knowledge` below is the Babel extraction method for them
  (named in babel.cfg), and bot/catalogue.py looks a source up before compiling it.

Commands, Kubernetes names and field names are not translated (a next step that is only a command is
not even extracted). `make install` and `make test` compile the catalogs (`pybabel compile`);
without a compiled `.mo` (a checkout run without make) the `.po` is compiled in memory.
`tests/test_i18n.py` fails when a message lacks a translation or a translation changes a placeholder.
"""

from __future__ import annotations

import functools
import gettext
import io
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO

import yaml

LANGS = ("en", "zh")
DEFAULT_LANG = "en"
DOMAIN = "messages"
LOCALES = Path(__file__).resolve().parent.parent / "templates" / "locale"

# -- which strings of the knowledge data are prose ----------------------------------------------

#: Keys of a finding (templates/knowledge/findings/*.yaml) that hold sentences.
FINDING_KEYS = ("title", "detail")
#: Keys of a reason (templates/knowledge/reasons.yaml) that hold sentences.
REASON_KEYS = ("summary", "meaning", "unverified")
REASON_LIST_KEYS = ("causes",)
LEGACY_KEYS = ("removed", "now")

_JINJA_TAG = re.compile(r"\{%.*?%\}|\{#.*?#\}", re.S)
_COMMENT_LINE = re.compile(r"^\s*#\s*\S|\s{2,}#\s+[A-Za-z]")


def step_has_prose(step: str) -> bool:
    """A next step is a shell line or a bot question, except shell comments (`# ` lines, or
    `command   # what it does`), which say what a command is for: only steps with one are
    translated, and the translation keeps the command as it is."""
    return any(_COMMENT_LINE.search(line) for line in _JINJA_TAG.sub("\n", step).splitlines())


def knowledge_messages(data: Mapping[str, Any], kind: str) -> Iterator[tuple[str, str]]:
    """(where, text) for every translatable string of one knowledge file. `kind` is
    `findings`, `notes` or `reasons`."""
    for name, entry in data.items():
        if kind == "notes":  # notes.yaml and phrases/*.yaml: CODE: template
            yield f"{name}", str(entry)
            continue
        if not isinstance(entry, Mapping):
            continue
        if kind == "findings":
            for key in FINDING_KEYS:
                if entry.get(key):
                    yield f"{name}.{key}", str(entry[key])
        else:
            for key in REASON_KEYS:
                if entry.get(key):
                    yield f"{name}.{key}", str(entry[key])
            for key in REASON_LIST_KEYS:
                for i, text in enumerate(entry.get(key) or ()):
                    yield f"{name}.{key}[{i}]", str(text)
            legacy = entry.get("legacy") or {}
            for key in LEGACY_KEYS:
                if legacy.get(key):
                    yield f"{name}.legacy.{key}", str(legacy[key])
        for i, step in enumerate(entry.get("next_steps") or ()):
            if step_has_prose(str(step)):
                yield f"{name}.next_steps[{i}]", str(step)


def knowledge_kind(path: str) -> str:
    p = Path(path)
    if p.parent.name == "findings":
        return "findings"
    return "notes" if p.stem == "notes" or p.parent.name == "phrases" else "reasons"


def extract_knowledge(
    fileobj: BinaryIO, keywords: object, comment_tags: object, options: Mapping[str, Any]
) -> Iterator[tuple[int, str, str, list[str]]]:
    """Babel extraction method for the knowledge YAML (babel.cfg names it). Each string becomes a
    message with the entry's key as an automatic comment, so a translator sees what it is for."""
    raw = fileobj.read().decode("utf-8")
    data = yaml.safe_load(raw) or {}
    lines = _key_lines(raw)
    kind = knowledge_kind(getattr(fileobj, "name", "") or str(options.get("filename", "")))
    for where, text in knowledge_messages(data, kind):
        yield lines.get(where.split(".")[0], 0), "", text, [where]


def _key_lines(raw: str) -> dict[str, int]:
    """Line of each top-level key (for the `#:` location comments)."""
    out: dict[str, int] = {}
    for i, line in enumerate(raw.splitlines(), 1):
        m = re.match(r"^([A-Za-z0-9_.<>-]+):", line)
        if m:
            out.setdefault(m.group(1), i)
    return out


# -- catalogs -------------------------------------------------------------------------------------


def _compile_po(po: Path) -> gettext.GNUTranslations:
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po.open("rb") as f:
        catalog = read_po(f, locale=po.parent.parent.name, domain=DOMAIN)
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    buf.seek(0)
    return gettext.GNUTranslations(buf)


@functools.cache
def translations(lang: str) -> gettext.NullTranslations:
    """The compiled catalog for a language (English is the source language: no catalog)."""
    if lang == DEFAULT_LANG or lang not in LANGS:
        return gettext.NullTranslations()
    base = LOCALES / lang / "LC_MESSAGES"
    mo, po = base / f"{DOMAIN}.mo", base / f"{DOMAIN}.po"
    if mo.exists() and (not po.exists() or mo.stat().st_mtime >= po.stat().st_mtime):
        with mo.open("rb") as f:
            return gettext.GNUTranslations(f)
    if po.exists():
        return _compile_po(po)
    return gettext.NullTranslations()


def translate(lang: str, msgid: str) -> str:
    """The translation of one message, or the message itself when there is none."""
    if lang == DEFAULT_LANG:
        return msgid
    return translations(lang).gettext(msgid)


# -- which language to answer in --------------------------------------------------------------------


#: Chinese characters (CJK Unified Ideographs, extension A, compatibility ideographs).
HAN_RANGES = "\u3400-\u9fff\uf900-\ufaff"
HAN = re.compile(f"[{HAN_RANGES}]")


def detect(text: str) -> str | None:
    """The language a question is written in, when it says: Chinese characters mean Chinese.
    Names, commands and flags are ASCII in both languages, so ASCII-only text says nothing."""
    return "zh" if HAN.search(text) else None


def choose(
    *,
    explicit: str | None = None,
    question: str = "",
    user: str | None = None,
    channel: str | None = None,
    default: str = DEFAULT_LANG,
) -> str:
    """The answer's language: an explicit `--lang` (flag or CLI option), then the question's own
    language, then the asker's setting, then the channel's, then the bot's default."""
    for lang in (explicit, detect(question), user, channel, default):
        if lang in LANGS:
            return lang
    return DEFAULT_LANG

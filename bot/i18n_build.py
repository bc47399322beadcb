"""Catalog maintenance with Babel's own API (`make i18n`, `make locales`, tests/test_i18n.py).

    python -m bot.i18n_build extract     # templates + knowledge -> messages.pot, then update every .po
    python -m bot.i18n_build compile     # .po -> .mo (make install / make test run this)
    python -m bot.i18n_build check [PO]  # what tests/test_i18n.py checks, as a report for translators

A knowledge message is a jinja2 template source, so "placeholders intact" means: the translation
parses, reads exactly the same fields, and keeps every `inline code` span (commands, names, fields)
as written. A message from a file template (`{% trans %}`) keeps its `%(name)s` placeholders.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import jinja2
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from bot.i18n import DOMAIN, HAN, LANGS, LOCALES
from bot.templating import TEMPLATES

ROOT = TEMPLATES.parent
POT = LOCALES / f"{DOMAIN}.pot"
_KNOWLEDGE_PREFIX = "templates/knowledge/"
_CODE_SPAN = re.compile(r"`[^`\n]+`")
_PY_FORMAT = re.compile(r"%\((\w+)\)[sd]")  # jinja2's trans blocks: %(name)s, ngettext's %(num)d


def po_path(lang: str) -> Path:
    return LOCALES / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def extract() -> Catalog:
    """Every message, from the same sources and options as babel.cfg names."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as f:
        method_map, options_map = parse_mapping_cfg(f)  # type: ignore[no-untyped-call]
    catalog = Catalog(project="k8s-bot", domain=DOMAIN, charset="utf-8")
    keywords = {**DEFAULT_KEYWORDS, "translate": (2,)}  # bot.i18n.translate(lang, msgid)
    for filename, lineno, message, comments, context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=keywords, strip_comment_tags=True
    ):
        flags: set[str] = set()
        if filename.startswith(_KNOWLEDGE_PREFIX):
            flags.add("jinja-source")  # not %-format, whatever Babel guesses from `{% if`
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context, flags=flags)
    for msg in catalog:
        if msg.id and "jinja-source" in msg.flags:
            msg.flags.discard("python-format")
            msg.flags.discard("python-brace-format")
    return catalog


def write_catalog(catalog: Catalog, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        write_po(f, catalog, width=0, sort_by_file=True, include_previous=True)


def read_catalog(path: Path, lang: str | None = None) -> Catalog:
    with path.open("rb") as f:
        return read_po(f, locale=lang, domain=DOMAIN)


def update() -> None:
    template = extract()
    write_catalog(template, POT)
    for lang in LANGS[1:]:
        path = po_path(lang)
        catalog = read_catalog(path, lang) if path.exists() else Catalog(locale=lang, domain=DOMAIN)
        catalog.update(template, no_fuzzy_matching=True)
        write_catalog(catalog, path)


def compile_all() -> list[Path]:
    out = []
    for lang in LANGS[1:]:
        po = po_path(lang)
        catalog = read_catalog(po, lang)
        mo = po.with_suffix(".mo")
        with mo.open("wb") as f:
            write_mo(f, catalog, use_fuzzy=False)
        out.append(mo)
    return out


# -- checks ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Problem:
    msgid: str
    where: str
    what: str

    def __str__(self) -> str:
        head = self.msgid if len(self.msgid) < 100 else self.msgid[:97] + "..."
        return f"{self.where}: {self.what}\n    msgid: {head!r}"


def fields_read(source: str) -> set[str]:
    """The fields a template reads (the environment's globals, like `plural`, are not fields)."""
    from jinja2 import meta

    from bot.templating import env

    e = env()  # the bot's own environment: its filters (join_or, inline_code) parse
    return set(meta.find_undeclared_variables(e.parse(source))) - set(e.globals)


def code_spans(text: str) -> list[str]:
    return sorted(_CODE_SPAN.findall(text))


def check_message(msg: Message) -> list[str]:
    """What is wrong with one translation (empty: nothing)."""
    if isinstance(msg.id, tuple | list):  # ngettext: every form of the translation vs the plural
        forms = list(msg.string) if isinstance(msg.string, tuple | list) else [msg.string]
        if not forms or not all(forms):
            return ["no translation (every plural form needs one)"]
        if msg.fuzzy:
            return ["translation is marked fuzzy (the English changed): check it, then drop the flag"]
        return [p for form in forms for p in _check_pair(str(msg.id[1]), str(form), msg.flags)]
    if not msg.string:
        return ["no translation"]
    if msg.fuzzy:
        return ["translation is marked fuzzy (the English changed): check it, then drop the flag"]
    return _check_pair(str(msg.id), str(msg.string), msg.flags)


def _check_pair(msgid: str, msgstr: str, flags: set[str]) -> list[str]:
    problems = []
    if "jinja-source" in flags or "{{" in msgid or "{%" in msgid:
        try:
            want = fields_read(msgid)
        except jinja2.TemplateSyntaxError as e:  # pragma: no cover - the English is tested elsewhere
            return [f"the English itself does not parse: {e}"]
        try:
            got = fields_read(msgstr)
        except jinja2.TemplateSyntaxError as e:
            return [f"translation is not a valid jinja2 template: {e.message} (line {e.lineno})"]
        if want != got:
            lost, added = sorted(want - got), sorted(got - want)
            problems.append(f"fields differ: lost {lost}, added {added}")
    elif set(_PY_FORMAT.findall(msgid)) != set(_PY_FORMAT.findall(msgstr)):
        problems.append("%(name)s placeholders differ")
    want_spans, got_spans = code_spans(msgid), code_spans(msgstr)
    if want_spans != got_spans:
        missing = [s for s in want_spans if s not in got_spans]
        extra = [s for s in got_spans if s not in want_spans]
        problems.append(f"`code` spans must stay as written: missing {missing}, changed/added {extra}")
    if HAN.search(msgid) is None and HAN.search(msgstr) is None and re.search(r"[A-Za-z]{3} [a-z]{3}", msgid):
        problems.append("translation has no Chinese text")
    return problems


def check_catalog(catalog: Catalog, expected: Iterable[str] | None = None) -> list[Problem]:
    problems: list[Problem] = []
    ids = {m.id for m in catalog if m.id}
    for msg in catalog:
        if not msg.id:
            continue
        where = msg.auto_comments[0] if msg.auto_comments else (msg.locations[0][0] if msg.locations else "?")
        for what in check_message(msg):
            problems.append(Problem(str(msg.id), str(where), what))
    for msgid in expected or ():
        if msgid not in ids:
            problems.append(Problem(msgid, "catalog", "message missing from the catalog (run make i18n)"))
    return problems


def main(argv: list[str]) -> int:
    cmd = argv[0] if argv else "check"
    if cmd == "extract":
        update()
        print(f"wrote {POT.relative_to(ROOT)} and {', '.join(str(po_path(lang)) for lang in LANGS[1:])}")
        return 0
    if cmd == "compile":
        for mo in compile_all():
            print(f"compiled {mo.relative_to(ROOT)}")
        return 0
    if cmd == "check":
        paths = [Path(p) for p in argv[1:]] or [po_path(lang) for lang in LANGS[1:]]
        bad = 0
        for path in paths:
            problems = check_catalog(read_catalog(path))
            for p in problems:
                print(p)
            total = sum(1 for m in read_catalog(path) if m.id)
            print(f"{path}: {total} messages, {len(problems)} problems")
            bad += len(problems)
        return 1 if bad else 0
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

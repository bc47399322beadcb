"""The question grammar: one parser for Slack text, CLI `ask` strings and digest scopes.

    <verb> [args...] [-n NS | --namespace NS | --namespace=NS | -nNS] [--cluster NAME] [--fresh]
           [--lang en|zh]

The parser knows flags and verbs, not what each verb's arguments mean: query modules read
`Request.args`. An unknown verb or flag is a `UsageError` carrying did-you-mean candidates.
"""

from __future__ import annotations

import difflib
import shlex
from dataclasses import dataclass, replace
from datetime import datetime

from bot import zh_query
from bot.i18n import LANGS
from handlers import VERB_ALIASES, VERBS
from handlers.errors import UsageError
from handlers.model import Request

_FLAGS_WITH_VALUE = {"-n": "namespace", "--namespace": "namespace", "--cluster": "cluster", "--lang": "lang"}
_BOOL_FLAGS = {"--fresh": "fresh"}
# Slack clients turn quotes into typographic ones; shlex must see plain ones.
_QUOTES = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'"})


@dataclass(frozen=True, slots=True)
class Parsed:
    verb: str
    args: tuple[str, ...]
    namespace: str | None
    cluster: str | None
    fresh: bool
    lang: str | None


def known_verbs() -> list[str]:
    return sorted({*VERBS, *VERB_ALIASES, "help"})


def tokenize(text: str) -> list[str]:
    text = text.translate(_QUOTES).strip()
    try:
        return shlex.split(text)
    except ValueError:  # an unbalanced quote: fall back to whitespace so nothing is lost
        return text.split()


def parse(text: str) -> Parsed:
    """Split a question into verb, positional args and flags. Raises UsageError."""
    tokens = tokenize(zh_query.normalise(text))
    if not tokens:
        raise UsageError("empty")
    values: dict[str, str] = {}
    flags: dict[str, bool] = {}
    positional: list[str] = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.startswith("-") and len(tok) > 1 and not _is_number(tok):
            name, eq, inline = tok.partition("=")
            if name in _FLAGS_WITH_VALUE:
                if eq:
                    value = inline
                elif i + 1 < len(tokens):
                    i += 1
                    value = tokens[i]
                else:
                    raise UsageError("flag_needs_value", value=name)
                values[_FLAGS_WITH_VALUE[name]] = value
            elif name.startswith("-n") and not name.startswith("--") and len(name) > 2:
                values["namespace"] = name[2:]  # -nlogging, as kubectl accepts it
            elif name in _BOOL_FLAGS:
                flags[_BOOL_FLAGS[name]] = True
            elif name in ("-A", "--all-namespaces"):
                values["namespace"] = ""
            else:
                known = [*_FLAGS_WITH_VALUE, *_BOOL_FLAGS]
                raise UsageError(
                    "unknown_flag", value=name, close=difflib.get_close_matches(name, known, n=2, cutoff=0.5)
                )
        else:
            positional.append(tok)
        i += 1
    if not positional:
        raise UsageError("empty")
    verb = positional[0].lower()
    verb = VERB_ALIASES.get(verb, verb)
    if verb not in VERBS and verb != "help":
        raise UsageError(
            "unknown_verb",
            value=positional[0],
            close=difflib.get_close_matches(verb, known_verbs(), n=3, cutoff=0.6),
        )
    lang = values.get("lang")
    if lang is not None and lang not in LANGS:
        raise UsageError("bad_lang", verb, value=lang, close=LANGS)
    return Parsed(
        verb=verb,
        args=tuple(positional[1:]),
        namespace=values.get("namespace") or None,
        cluster=values.get("cluster"),
        fresh=flags.get("fresh", False),
        lang=lang,
    )


def _is_number(tok: str) -> bool:
    try:
        int(tok)
    except ValueError:
        return False
    return True


def to_request(
    parsed: Parsed,
    query: str,
    *,
    now: datetime,
    lang: str = "en",
    bound_namespace: str | None = None,
    cluster_domain: str = "cluster.local",
    fresh: bool = False,
) -> Request:
    return Request(
        verb=parsed.verb,
        args=parsed.args,
        namespace=parsed.namespace,
        query=query.strip(),
        cluster=parsed.cluster,
        fresh=parsed.fresh or fresh,
        lang=parsed.lang or lang,
        now=now,
        bound_namespace=bound_namespace,
        cluster_domain=cluster_domain,
    )


def with_now(req: Request, now: datetime) -> Request:
    return replace(req, now=now)

"""`help [<verb>]`: usage with examples; the words are catalogue entries HELP-<VERB>."""

from __future__ import annotations

import difflib

from handlers.errors import UsageError
from handlers.model import Finding, Request, Result, Target

#: Verbs in the order help lists them (the contract's order).
ORDER = (
    "why",
    "exit",
    "dns",
    "name",
    "endpoints",
    "trace",
    "ingress",
    "reason",
    "scrape",
    "how",
    "digest",
    "help",
)


def usage(req: Request, view: object) -> Result:
    from handlers import VERB_ALIASES, VERBS

    available = [v for v in ORDER if v in VERBS]
    if not req.args:
        findings = [Finding(f"HELP-{v.upper()}", {"brief": True}) for v in available]
        return Result.answer(req, target=Target("Help"), findings=findings)
    asked = req.args[0].lower()
    verb = VERB_ALIASES.get(asked, asked)
    if verb not in available:
        raise UsageError(
            "unknown_verb",
            "help",
            value=req.args[0],
            close=difflib.get_close_matches(verb, available, n=3, cutoff=0.6),
        )
    return Result.answer(
        req, target=Target("Help", name=verb), findings=[Finding(f"HELP-{verb.upper()}", {"brief": False})]
    )

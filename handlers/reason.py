"""`reason <Reason>`: what a status or event reason means, where it comes from, and what to run next.

The explanations are data (`templates/knowledge/reasons.yaml`, rendered by the catalogue entries
REASON-*); this module only decides which entry the user meant. Matching forgives case, spaces,
dashes and typos (`imagepullbackoff`, `TeardownNetworkErro`), reads kubectl's STATUS forms
(`Init:CrashLoopBackOff`, `Init:1/3`, `ExitCode:137`, `Signal:9`), asks "did you mean" when two
reasons fit equally well, and lists the close ones when none does.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from handlers.knowledge import ReasonName, installed
from handlers.model import FieldValue, Finding, Request, Result, Target
from handlers.view import ClusterView

#: A typo is read as a reason only when it is this similar (difflib ratio on the normalised
#: spelling): one wrong, missing or extra letter in a 10-letter reason scores about 0.95, while
#: related but different reasons (`OOMKilled`/`OOMKilling`, `Pulled`/`Pulling`) score below 0.88.
_CONFIDENT = 0.88
#: ...and beats the runner-up by this much; otherwise the answer is "did you mean A or B?".
_MARGIN = 0.05
#: Below _CONFIDENT, reasons at least this similar are offered as close ones.
_CLOSE = 0.6
_MAX_CANDIDATES = 6
#: A slip of the keyboard (one letter wrong, missing, extra, or two swapped; one more per 8 letters)
#: counts as this similar, whatever difflib says: `Unknwon` is Unknown.
_ONE_SLIP = 0.95
_LETTERS_PER_EDIT = 8
#: A fragment shorter than this (`Er`, `O`) matches too much to be read as part of a name.
_MIN_FRAGMENT = 3

# kubectl's STATUS column spellings (pkg/printers/internalversion/printers.go, printPod).
_INIT_PROGRESS = re.compile(r"^init:(\d+)/(\d+)$", re.IGNORECASE)
_EXIT_FORM = re.compile(r"^(init:)?(exitcode|signal):(-?\d+)$", re.IGNORECASE)
_INIT_PREFIX = "init:"
_SIGNAL_BASE = 128  # the shell's 128 + signal number, as `exit` explains it
_STRIP = "`'\"“”‘’.,;!?() "


def _norm(text: str) -> str:
    """The spelling matches compare: lower case, no spaces, dashes or underscores."""
    return re.sub(r"[\s_\-]+", "", text.strip(_STRIP)).lower()


@dataclass(frozen=True, slots=True)
class _Match:
    """What the user's text resolved to: one entry, or candidates (ambiguous: each fits well)."""

    entry: ReasonName | None = None
    candidates: tuple[str, ...] = ()
    ambiguous: bool = False


def explain(req: Request, view: ClusterView) -> Result:
    """The reason the user meant, explained; or "did you mean"; or the close ones; or all of them."""
    index = installed()
    asked = " ".join(req.args).strip(_STRIP)
    if not asked:
        names = tuple(sorted((r.name for r in index.reasons), key=str.lower))
        legacy = tuple(sorted((r.name for r in index.reasons if r.legacy), key=str.lower))
        return Result.answer(
            req,
            target=Target("Reason"),
            findings=[Finding("REASON-INDEX", {"names": names, "legacy": legacy})],
        )

    if m := _INIT_PROGRESS.match(asked):
        index_, total = int(m.group(1)), int(m.group(2))
        return Result.answer(
            req,
            target=Target("Reason", name=asked),
            findings=[Finding("REASON-INIT-PROGRESS", {"asked": asked, "index": index_, "total": total})],
        )
    if m := _EXIT_FORM.match(asked):
        return Result.answer(req, target=Target("Reason", name=asked), findings=[_exit_form(asked, m)])

    init = asked.lower().startswith(_INIT_PREFIX) and len(asked) > len(_INIT_PREFIX)
    wanted = asked[len(_INIT_PREFIX) :] if init else asked
    match = resolve(wanted, index.reasons)
    if match.entry is not None:
        entry = match.entry
        family = bool(entry.prefix) and _norm(wanted) != _norm(entry.name)
        fields: dict[str, FieldValue] = {
            "reason": entry.name,
            "asked": asked,
            "init": init,
            # The user's spelling differs from the entry's by more than case: say how we read it.
            "corrected": not family and _norm(wanted) != _norm(entry.name),
            # For a prefix family (`OutOf<resource>`): the part after the prefix, as typed.
            "member": wanted[len(entry.prefix) :] if family else "",
        }
        return Result.answer(
            req,
            target=Target("Reason", name=wanted if family else entry.name),
            findings=[Finding("REASON-LEGACY" if entry.legacy else "REASON-EXPLAINED", fields)],
        )
    if match.ambiguous:
        finding = Finding("REASON-AMBIGUOUS", {"asked": asked, "candidates": match.candidates})
    else:
        finding = Finding("REASON-UNKNOWN", {"asked": asked, "close": match.candidates})
    return Result.answer(req, target=Target("Reason", name=asked), findings=[finding])


def _exit_form(asked: str, m: re.Match[str]) -> Finding:
    """kubectl's `ExitCode:<n>` / `Signal:<n>` (a container terminated without a reason string)."""
    signal = m.group(2).lower() == "signal"
    number = int(m.group(3))
    fields: dict[str, FieldValue] = {
        "asked": asked,
        "init": bool(m.group(1)),
        "signal": signal,
        "number": number,
        # What `exit` should explain: a shell reports death by signal N as 128 + N.
        "code": _SIGNAL_BASE + number if signal else number,
    }
    return Finding("REASON-EXIT-FORM", fields)


def resolve(text: str, reasons: tuple[ReasonName, ...]) -> _Match:
    """The entry `text` names, or the candidates it could name (best first)."""
    wanted = _norm(text)
    spellings: dict[str, ReasonName] = {}
    for r in reasons:
        for s in (r.name, *r.aliases):
            spellings.setdefault(_norm(s), r)
    if wanted in spellings:
        return _Match(entry=spellings[wanted])

    scores: dict[str, float] = {}
    for spelling, r in spellings.items():
        ratio = difflib.SequenceMatcher(None, wanted, spelling).ratio()
        if _edits(wanted, spelling) <= max(1, len(spelling) // _LETTERS_PER_EDIT):
            ratio = max(ratio, _ONE_SLIP)
        scores[r.name] = max(scores.get(r.name, 0.0), ratio)
    ranked = sorted(scores, key=lambda n: (-scores[n], n.lower()))
    by_name = {r.name: r for r in reasons}
    # Names that contain the text: `Terminat` is the start of Terminated and of Terminating.
    owners = (
        [n for n in ranked if any(wanted in s for s, r in spellings.items() if r.name == n)]
        if len(wanted) >= _MIN_FRAGMENT
        else []
    )

    confident = [n for n in ranked if scores[n] >= _CONFIDENT]
    if confident:
        top = confident[0]
        rivals = [n for n in confident[1:] if scores[top] - scores[n] < _MARGIN]
        rivals += [
            n for n in owners if n != top and n not in rivals and scores[top] - scores[n] < 2 * _MARGIN
        ]
        if not rivals:
            return _Match(entry=by_name[top])
        return _Match(candidates=tuple([top, *rivals][:_MAX_CANDIDATES]), ambiguous=True)

    # A family built from a prefix: `OutOfnvidia.com/gpu` is `OutOf<resource>`.
    for r in reasons:
        prefix = _norm(r.prefix)
        if prefix and wanted.startswith(prefix) and len(wanted) > len(prefix):
            return _Match(entry=r)

    # A fragment of a name (`Evict`, `ImagePull`, `OOM`): one owner is that reason, several a question.
    if len(owners) == 1:
        return _Match(entry=by_name[owners[0]])
    if owners:
        return _Match(candidates=tuple(owners[:_MAX_CANDIDATES]), ambiguous=True)
    return _Match(candidates=tuple(n for n in ranked if scores[n] >= _CLOSE)[:_MAX_CANDIDATES])


def _edits(a: str, b: str) -> int:
    """Optimal string alignment distance: insertions, deletions, substitutions, adjacent swaps."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[-1]

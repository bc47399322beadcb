"""Label selectors: matching (equality maps and matchLabels/matchExpressions) and "closest miss".

A Service selector is a plain map, ANDed (`app=checkout,tier=web`); workloads use a LabelSelector
with `matchLabels` and `matchExpressions` (In, NotIn, Exists, DoesNotExist). When a selector matches
nothing, `closest` ranks the objects that nearly match and says which key differs, so an answer can
show `app: my-app` next to `app: myapp` instead of "no pods".
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from handlers.objects import Obj

# difflib ratio above which two label values (or keys) count as "probably meant the same":
# `my-app`/`myapp` is 0.91, `checkout`/`chekout` 0.93, `web`/`api` 0.0. 0.6 is difflib's own
# default for get_close_matches and keeps unrelated short words apart.
_SIMILAR = 0.6


def selector_text(selector: Mapping[str, str]) -> str:
    """`app=checkout,tier=web`, as `kubectl get -l` takes it (and `kubectl describe svc` prints it)."""
    return ",".join(f"{k}={v}" for k, v in selector.items())


def matches(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    """An equality selector (Service `spec.selector`): every pair present. Empty matches nothing.

    An empty Service selector means "no selector" (the endpoint controllers skip the Service), not
    "everything", which is why this returns False for it.
    """
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def matches_label_selector(selector: Obj, labels: Mapping[str, str]) -> bool:
    """A metav1.LabelSelector (`matchLabels` + `matchExpressions`), as workloads use it.

    Follows `metav1.LabelSelectorAsSelector`: an empty selector matches everything; an unknown
    operator matches nothing.
    """
    for key, value in selector.mapping("matchLabels").items():
        if labels.get(key) != value:
            return False
    for expr in selector.children("matchExpressions"):
        key = expr.text("key")
        op = expr.text("operator")
        values = set(expr.strings("values"))
        if op == "In":
            if key not in labels or labels[key] not in values:
                return False
        elif op == "NotIn":
            if key in labels and labels[key] in values:
                return False
        elif op == "Exists":
            if key not in labels:
                return False
        elif op == "DoesNotExist":
            if key in labels:
                return False
        else:
            return False
    return True


def label_selector_text(selector: Obj) -> str:
    """`app=web,tier in (a,b),!legacy` for a LabelSelector, as kubectl prints it."""
    parts = [f"{k}={v}" for k, v in selector.mapping("matchLabels").items()]
    for expr in selector.children("matchExpressions"):
        key, op, values = expr.text("key"), expr.text("operator"), ",".join(expr.strings("values"))
        parts.append(
            {
                "In": f"{key} in ({values})",
                "NotIn": f"{key} notin ({values})",
                "Exists": key,
                "DoesNotExist": f"!{key}",
            }.get(op, f"{key} {op} ({values})")
        )
    return ",".join(parts)


@dataclass(frozen=True, slots=True)
class LabelDiff:
    """One selector pair an object does not satisfy, and what the object has instead."""

    key: str
    want: str
    #: The object's value for `key` (None: the key is absent).
    have: str | None
    #: When `key` is absent: the object's key that looks like a misspelling of it, if any.
    near_key: str | None = None
    near_value: str | None = None

    def text(self) -> str:
        """`app: myapp (selector: app: my-app)` — data, not prose; shown as evidence. A missing
        label reads `app: <none> (selector: app: my-app)`, as kubectl prints an absent value."""
        if self.have is not None:
            return f"{self.key}: {self.have} (selector: {self.key}: {self.want})"
        if self.near_key is not None:
            return f"{self.near_key}: {self.near_value} (selector: {self.key}: {self.want})"
        return f"{self.key}: <none> (selector: {self.key}: {self.want})"


def diff(selector: Mapping[str, str], labels: Mapping[str, str]) -> tuple[LabelDiff, ...]:
    """The selector pairs `labels` does not satisfy (empty tuple: it matches)."""
    out: list[LabelDiff] = []
    for key, want in selector.items():
        have = labels.get(key)
        if have == want:
            continue
        if have is not None:
            out.append(LabelDiff(key, want, have))
            continue
        near = difflib.get_close_matches(key, [k for k in labels if k not in selector], n=1, cutoff=_SIMILAR)
        if near:
            out.append(LabelDiff(key, want, None, near[0], labels[near[0]]))
        else:
            out.append(LabelDiff(key, want, None))
    return tuple(out)


def _score(selector: Mapping[str, str], labels: Mapping[str, str]) -> float:
    """How close `labels` comes to satisfying `selector`: 1 per pair met, partial for near misses."""
    score = 0.0
    for key, want in selector.items():
        have = labels.get(key)
        if have == want:
            score += 1.0
        elif have is not None:
            ratio = difflib.SequenceMatcher(None, want, have).ratio()
            if ratio >= _SIMILAR:
                score += ratio * 0.9
        else:
            for other_key, other_value in labels.items():
                key_ratio = difflib.SequenceMatcher(None, key, other_key).ratio()
                if key_ratio >= _SIMILAR and other_key not in selector:
                    value_ratio = difflib.SequenceMatcher(None, want, other_value).ratio()
                    score = score + 0.8 * key_ratio * max(value_ratio, 0.5)
                    break
    return score


def closest(
    selector: Mapping[str, str], objs: Sequence[Obj], n: int = 3
) -> list[tuple[Obj, tuple[LabelDiff, ...]]]:
    """Up to `n` objects that nearly match, best first, with what differs. Unrelated ones are left out.

    An object is a candidate when it satisfies or nearly satisfies at least one selector pair;
    objects sharing nothing with the selector (other apps) would only be noise. One object per
    distinct label diff is kept, so three replicas of the same Deployment show once.
    """
    ranked: list[tuple[float, str, Obj]] = []
    for obj in objs:
        labels = obj.labels
        if matches(selector, labels):
            continue
        score = _score(selector, labels)
        if score > 0:
            ranked.append((score, obj.ref, obj))
    ranked.sort(key=lambda t: (-t[0], t[1]))
    out: list[tuple[Obj, tuple[LabelDiff, ...]]] = []
    seen: set[tuple[str, tuple[LabelDiff, ...]]] = set()
    for _, _, obj in ranked:
        d = diff(selector, obj.labels)
        if (obj.namespace, d) in seen:
            continue
        seen.add((obj.namespace, d))
        out.append((obj, d))
        if len(out) >= n:
            break
    return out

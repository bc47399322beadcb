"""The reads one answer makes, remembered and counted against a budget.

A `why <pod>` answer may cost the API server at most five requests (the pod, its events, its owner,
its node, one log: issue #4). `Reads` wraps the ClusterView for one answer: the same object is read
once however many findings look at it, and optional reads (`afford()`) stop when the budget is
spent, so an answer asks the same things of a snapshot as of a live cluster and says what it
skipped. Every call here is one request on a live cluster (a list may page, but one call).

What a skipped read was for is written as data, not as words (`label()`: `get Node/node-a`,
`events PersistentVolumeClaim/data -n shop`, `list Pod -A`, `logs shop/web-1 -c app --previous`):
the WHY-BUDGET note joins these into a sentence that is translated, so they must read the same in
every language.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from handlers.objects import Obj
from handlers.view import ClusterView


def label(verb: str, kind: str, name: str = "", namespace: str | None = None, *, all_ns: bool = False) -> str:
    """A request named as data for the WHY-BUDGET note: `get Node/node-a`, `get Job/backup -n ops`,
    `events PersistentVolumeClaim/data -n shop`, `list Pod -n shop`, `list Pod -A`, `list Node`."""
    text = f"{verb} {kind}/{name}" if name else f"{verb} {kind}"
    if namespace:
        text += f" -n {namespace}"
    elif all_ns:
        text += " -A"
    return text


def log_label(namespace: str, pod: str, container: str, *, previous: bool) -> str:
    """A log read named as data: `logs logging/es-2 -c elasticsearch --previous`."""
    return f"logs {namespace}/{pod} -c {container}" + (" --previous" if previous else "")


class Reads:
    """Memoised soft reads over a ClusterView with an optional request budget."""

    def __init__(self, view: ClusterView, budget: int | None = None) -> None:
        self.view = view
        #: Requests still allowed for optional reads; None = no limit.
        self.budget = budget
        self.used = 0
        #: The optional reads skipped (`label()`: `get StorageClass/fast`, `list Pod -n shop`), in order.
        self.skipped: list[str] = []
        self._memo: dict[tuple[str, ...], object] = {}

    def afford(self, what: str, n: int = 1) -> bool:
        """True if `n` more requests fit in the budget (and counts nothing yet); records a skip if not.
        `what` names the request as data, in no language (`label()`)."""
        if self.budget is None or self.used + n <= self.budget:
            return True
        if what not in self.skipped:
            self.skipped.append(what)
        return False

    def _spend(self) -> None:
        self.used += 1

    def get(self, kind: str, namespace: str | None, name: str) -> Obj | None:
        key = ("get", kind, namespace or "", name)
        if key not in self._memo:
            self._spend()
            self._memo[key] = self.view.soft_get(kind, namespace, name)
        found = self._memo[key]
        return found if isinstance(found, Obj) else None

    def list(
        self, kind: str, namespace: str | None = None, labels: Mapping[str, str] | None = None
    ) -> list[Obj]:
        key = (
            "list",
            kind,
            namespace or "*",
            ",".join(f"{k}={v}" for k, v in sorted((labels or {}).items())),
        )
        if key not in self._memo:
            self._spend()
            self._memo[key] = list(self.view.soft_list(kind, namespace, labels=labels))
        found = self._memo[key]
        return [o for o in found if isinstance(o, Obj)] if isinstance(found, list) else []

    def events(self, obj: Obj) -> Sequence[Obj]:
        key = ("events", obj.kind, obj.uid or obj.ref)
        if key not in self._memo:
            self._spend()
            self._memo[key] = list(self.view.events(obj))
        found = self._memo[key]
        return [o for o in found if isinstance(o, Obj)] if isinstance(found, list) else []

    def log(self, namespace: str, pod: str, container: str, *, previous: bool, tail: int = 40) -> str | None:
        key = ("log", namespace, pod, container, "prev" if previous else "cur")
        if key not in self._memo:
            self._spend()
            self._memo[key] = self.view.log(namespace, pod, container, previous=previous, tail=tail)
        found = self._memo[key]
        return found if isinstance(found, str) else None

    def seen(self, kind: str, namespace: str | None, name: str) -> Obj | None:
        """An object already read by a list or get this answer (no request), or None."""
        got = self._memo.get(("get", kind, namespace or "", name))
        if isinstance(got, Obj):
            return got
        for key, value in self._memo.items():
            if key[0] == "list" and key[1] == kind and isinstance(value, list):
                for o in value:
                    if isinstance(o, Obj) and o.name == name and (not namespace or o.namespace == namespace):
                        return o
        return None

"""What the live and snapshot cluster views share: soft reads, event matching, notes."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from datetime import datetime

from handlers.errors import ClusterError
from handlers.model import Note
from handlers.objects import Obj

_EPOCH = datetime.min.isoformat()


def event_time(ev: Obj) -> str:
    """The sort key kubectl uses for events: last seen, falling back to eventTime and creation."""
    return (
        ev.text("lastTimestamp")
        or ev.text("series", "lastObservedTime")
        or ev.text("eventTime")
        or ev.text("firstTimestamp")
        or ev.text("metadata", "creationTimestamp")
        or _EPOCH
    )


def matches_labels(obj: Obj, labels: Mapping[str, str] | None) -> bool:
    if not labels:
        return True
    have = obj.labels
    return all(have.get(k) == v for k, v in labels.items())


class BaseView:
    """Soft reads and notes on top of a subclass's `get`/`list` (which may raise ClusterError)."""

    def __init__(self) -> None:
        self._notes: list[Note] = []
        self._lock = threading.Lock()

    # Subclasses implement these.
    @property
    def name(self) -> str:
        raise NotImplementedError

    @property
    def has_data(self) -> bool:
        raise NotImplementedError

    @property
    def taken_at(self) -> datetime | None:
        raise NotImplementedError

    def log(self, namespace: str, pod: str, container: str, *, previous: bool, tail: int = 50) -> str | None:
        raise NotImplementedError

    def namespaces(self) -> Sequence[str]:
        raise NotImplementedError

    def get(self, kind: str, namespace: str | None, name: str) -> Obj | None:
        raise NotImplementedError

    def list(
        self, kind: str, namespace: str | None = None, *, labels: Mapping[str, str] | None = None
    ) -> Sequence[Obj]:
        raise NotImplementedError

    def note(self, code: str, **fields: str | int | None) -> None:
        with self._lock:
            n = Note(code, dict(fields))
            if n not in self._notes:
                self._notes.append(n)

    def notes(self) -> Sequence[Note]:
        with self._lock:
            return tuple(self._notes)

    def soft_get(self, kind: str, namespace: str | None, name: str) -> Obj | None:
        try:
            return self.get(kind, namespace, name)
        except ClusterError as err:
            self.note(
                "PARTIAL-UNREADABLE",
                kind=kind,
                ref=f"{namespace}/{name}" if namespace else name,
                detail=err.detail,
            )
            return None

    def soft_list(
        self, kind: str, namespace: str | None = None, *, labels: Mapping[str, str] | None = None
    ) -> Sequence[Obj]:
        try:
            return self.list(kind, namespace, labels=labels)
        except ClusterError as err:
            self.note("PARTIAL-UNREADABLE", kind=kind, ref=namespace or "", detail=err.detail)
            return ()

    def events(self, obj: Obj) -> Sequence[Obj]:
        found = self._events_for(obj)
        return sorted(found, key=event_time)

    def _events_for(self, obj: Obj) -> Sequence[Obj]:
        """Default: list the namespace's events and match by uid (or kind+name when uid is absent)."""
        ns = obj.namespace or None
        try:
            evs = self.list("Event", ns)
        except ClusterError as err:
            self.note("PARTIAL-UNREADABLE", kind="Event", ref=obj.ref, detail=err.detail)
            return ()
        return [e for e in evs if involves(e, obj)]


def involves(ev: Obj, obj: Obj) -> bool:
    """True if the event is about `obj`: same uid, or same kind/namespace/name when uids are missing."""
    inv = ev.child("involvedObject")
    uid = inv.text("uid")
    if uid and obj.uid:
        return uid == obj.uid
    return (
        inv.text("name") == obj.name
        and inv.text("kind") == obj.kind
        and (inv.text("namespace") or "") == (obj.namespace or "")
    )


class WrappingView(BaseView):
    """A view over another view (a fence, a CPU-slot yield): name, data and clock are the inner
    view's, and its notes come along with the wrapper's own."""

    def __init__(self, inner: BaseView) -> None:
        super().__init__()
        self._inner = inner

    @property
    def name(self) -> str:
        return self._inner.name

    @property
    def has_data(self) -> bool:
        return self._inner.has_data

    @property
    def taken_at(self) -> datetime | None:
        return self._inner.taken_at

    def notes(self) -> Sequence[Note]:
        own = list(super().notes())
        return (*own, *(n for n in self._inner.notes() if n not in own))

"""ClusterView: the one read-only door from a query module to a cluster.

`bot/` implements it over the live API (`bot/cluster.py`) or snapshot files (`bot/snapshot.py`),
and wraps it in the cache. A query module never sees which: it asks for objects by kind, namespace
and name, and gets `Obj` wrappers.

Failures: `get`/`list` raise `handlers.errors.ClusterError` subclasses when the cluster cannot be
read at all. Reads that an answer can do without (events, logs, a node) go through `events()`,
`log()` and `soft_get()`/`soft_list()`, which never raise for an unreadable cluster: they return
nothing and record a `Note` in `notes()`, so the answer can say what it could not see (`partial`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Protocol

from handlers.model import Note
from handlers.objects import Obj


class ClusterView(Protocol):
    """Read-only access to one cluster's objects."""

    @property
    def name(self) -> str:
        """The cluster's name (kubeconfig context, or the snapshot's label)."""
        ...

    @property
    def has_data(self) -> bool:
        """False when the bot runs with no cluster and no snapshot (offline questions only)."""
        ...

    @property
    def taken_at(self) -> datetime | None:
        """For a snapshot: the newest timestamp in it (its "now"); None for a live cluster."""
        ...

    def get(self, kind: str, namespace: str | None, name: str) -> Obj | None:
        """One object, or None if it does not exist."""
        ...

    def list(
        self,
        kind: str,
        namespace: str | None = None,
        *,
        labels: Mapping[str, str] | None = None,
    ) -> Sequence[Obj]:
        """Objects of a kind in a namespace (None: all namespaces), optionally by equality labels."""
        ...

    def soft_get(self, kind: str, namespace: str | None, name: str) -> Obj | None:
        """Like `get`, but an unreadable cluster gives None and a note instead of an error."""
        ...

    def soft_list(
        self,
        kind: str,
        namespace: str | None = None,
        *,
        labels: Mapping[str, str] | None = None,
    ) -> Sequence[Obj]:
        """Like `list`, but an unreadable cluster gives [] and a note instead of an error."""
        ...

    def events(self, obj: Obj) -> Sequence[Obj]:
        """Events whose involvedObject is `obj` (matched by uid), oldest first."""
        ...

    def log(self, namespace: str, pod: str, container: str, *, previous: bool, tail: int = 50) -> str | None:
        """The last `tail` lines of a container's log (previous instance if asked), or None."""
        ...

    def namespaces(self) -> Sequence[str]:
        """Names of the namespaces that exist (or that the snapshot holds objects in)."""
        ...

    def notes(self) -> Sequence[Note]:
        """What could not be read so far while answering (see module docstring)."""
        ...

"""Errors a user can act on. Each knows its exit status and the template that words it.

`bot/dispatch.py` catches `QueryError` once per entry point and renders `templates/errors/<template>`;
anything else is a bug and is reported with a reference, never a traceback.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from handlers.model import Phrase


class QueryError(Exception):
    """Something the user can fix by asking differently (exit status 1)."""

    exit_code: ClassVar[int] = 1
    template: ClassVar[str] = "generic"

    def fields(self) -> dict[str, object]:
        return {"message": str(self)}


# -- usage (exit 2) -------------------------------------------------------------------------


class UsageError(QueryError):
    """The question is not in the grammar: unknown verb, missing or bad argument, bad flag."""

    exit_code: ClassVar[int] = 2
    template: ClassVar[str] = "usage"

    def __init__(
        self,
        problem: str,
        verb: str | None = None,
        *,
        value: str = "",
        close: Sequence[str] = (),
        reason: str = "",
        other: str = "",
    ) -> None:
        super().__init__(":".join(p for p in (problem, reason, value) if p))
        self.problem = problem  # a key into templates/errors/usage.txt.j2
        self.verb = verb
        self.value = value  # what the user typed (or a name from the cluster), never a sentence
        self.close = tuple(close)
        self.reason = reason  # which missing or bad argument: a key into the same template
        self.other = other

    def fields(self) -> dict[str, object]:
        return {
            "problem": self.problem,
            "verb": self.verb,
            "value": self.value,
            "close": self.close,
            "reason": self.reason,
            "other": self.other,
        }


# -- lookups (exit 1) -----------------------------------------------------------------------


class NotFound(QueryError):
    """No object of that kind and name where we looked."""

    template: ClassVar[str] = "not_found"

    def __init__(
        self,
        kind: str | Phrase,
        name: str,
        searched: Sequence[str | Phrase | None],
        close: Sequence[str] = (),
    ) -> None:
        super().__init__(f"no {kind if isinstance(kind, str) else kind.code} named {name!r}")
        self.kind = kind
        self.name = name
        self.searched = tuple(Phrase("ALL-NAMESPACES") if ns is None else ns for ns in searched)
        self.close = tuple(close)  # did-you-mean candidates, `ns/name`, best first

    def fields(self) -> dict[str, object]:
        return {"kind": self.kind, "name": self.name, "searched": self.searched, "close": self.close}


class Ambiguous(QueryError):
    """The name matches objects in several namespaces; the user picks one."""

    template: ClassVar[str] = "ambiguous"

    def __init__(self, kind: str, name: str, matches: Sequence[str], verb: str) -> None:
        super().__init__(f"{kind} {name!r} exists in several namespaces")
        self.kind = kind
        self.name = name
        self.matches = tuple(matches)  # `ns/name`
        self.verb = verb

    def fields(self) -> dict[str, object]:
        return {"kind": self.kind, "name": self.name, "matches": self.matches, "verb": self.verb}


class NeedsCluster(QueryError):
    """The question needs cluster data and none is configured (no snapshot, no kubeconfig)."""

    template: ClassVar[str] = "needs_cluster"

    def __init__(self, verb: str) -> None:
        super().__init__(f"`{verb}` needs a cluster or a snapshot")
        self.verb = verb

    def fields(self) -> dict[str, object]:
        return {"verb": self.verb}


# -- the cluster (exit 1) -------------------------------------------------------------------


class ClusterError(QueryError):
    """The cluster (or snapshot) could not be read."""

    template: ClassVar[str] = "cluster"

    def __init__(self, cluster: str, detail: str) -> None:
        super().__init__(f"{cluster}: {detail}")
        self.cluster = cluster
        self.detail = detail

    def fields(self) -> dict[str, object]:
        return {"cluster": self.cluster, "detail": self.detail, "kind": type(self).__name__}


class ClusterUnavailable(ClusterError):
    """The API server did not answer (connection refused, timeout, 5xx)."""


class ClusterForbidden(ClusterError):
    """The API server refused our credentials for this read (401/403)."""


class ConfigError(ClusterError):
    """Kubeconfig, context or in-cluster configuration is missing or invalid."""


class SnapshotError(ClusterError):
    """A snapshot file could not be parsed; names the file and line."""

    def __init__(self, path: str, line: int | None, detail: str) -> None:
        where = f"{path}:{line}" if line else path
        super().__init__(where, detail)
        self.path = path
        self.line = line

"""A ClusterView that reads a live cluster through the cache (`bot/cache.py`).

One `CachedView` per answer, over the shared `LiveView` of its cluster:

- `get`, `list`, `events` and `log` look in the cache first (TTL per kind, `Settings.cache_ttl`);
  a miss reads the cluster and stores the result. Not-found (`get` -> None) is cached too, so a
  repeated `why` of a missing name costs nothing.
- Single flight: the first reader of a key takes its lock and reads the cluster; identical reads at
  the same moment (other threads, or other bot processes sharing Redis) wait up to
  `Settings.cache_wait` seconds for that value instead of asking the API server again. A reader
  whose wait runs out, or whose leader failed, reads for itself.
- `--fresh` (Request.fresh, the Slack Refresh button): each key is read from the cluster once in
  this answer, whatever the cache holds, and the cache is renewed with the result.
- Within one answer a read is made once: the same list asked again, or a `get` (or the events) of
  an object whose namespace was already listed, is served from what this answer already has.
- Listed objects are held as their JSON bytes and parsed when read (`LazyObject`): 10,000 pods take
  ~45 MB that way instead of ~250 MB of dicts.
- The cache failing (Redis down or slow) only costs speed: the read goes to the cluster.

Snapshot views are not wrapped: they are already in memory.
"""

from __future__ import annotations

import builtins
import contextlib
import logging
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol, TypeVar

import orjson

from bot import logs
from bot.cache import (
    LOCK_TTL_S,
    Cache,
    CacheUnavailable,
    decode,
    decode_lines,
    encode,
    encode_lines,
    gc_paused,
)
from bot.metrics import CACHE_ERRORS, CACHE_HITS, CACHE_MISSES
from bot.viewbase import BaseView, matches_labels
from handlers.errors import ClusterError
from handlers.kinds import KINDS
from handlers.model import Note
from handlers.objects import Obj

T = TypeVar("T")

#: TTL for a kind missing from the settings' table (a kind added to handlers/kinds.py later).
DEFAULT_TTL_S = 10.0

#: JSON bytes of listed objects kept parsed at once, process-wide. A parsed pod takes ~5x its JSON
#: (~4.5 KB). 8 MiB keeps ~1,800 pods parsed: all the objects of a `why` stay parsed, and a
#: digest's pass over 10,000 pods re-parses in passing (~10 us a pod) instead of holding 250 MB.
KEEP_PARSED_BYTES = 8 * 1024 * 1024


class LiveReader(Protocol):
    """What CachedView needs from the view it wraps (bot.cluster.LiveView): reads that raise."""

    @property
    def name(self) -> str: ...

    def get(self, kind: str, namespace: str | None, name: str) -> Obj | None: ...

    def list_blobs(
        self,
        kind: str,
        namespace: str | None = None,
        *,
        labels: Mapping[str, str] | None = None,
        field_selector: str | None = None,
    ) -> Sequence[bytes]: ...

    def read_log(
        self, namespace: str, pod: str, container: str, *, previous: bool, tail: int = 50
    ) -> str | None: ...

    def notes(self) -> Sequence[Note]: ...


# -- objects kept as JSON -----------------------------------------------------------------------
class _Parsed:
    """The LazyObjects holding their parse, oldest first; past the budget the oldest let go.

    Weak references: an object whose answer is over goes away with it, parse and all.
    """

    def __init__(self, budget: int) -> None:
        self._queue: deque[tuple[weakref.ref[LazyObject], int]] = deque()
        self._bytes = 0
        self._budget = budget
        self._lock = threading.Lock()

    def keep(self, obj: LazyObject) -> None:
        size = len(obj.blob)
        with self._lock:
            self._queue.append((weakref.ref(obj), size))
            self._bytes += size
            while self._bytes > self._budget and len(self._queue) > 1:
                ref, old_size = self._queue.popleft()
                self._bytes -= old_size
                old = ref()
                if old is not None:
                    old.forget()


_PARSED = _Parsed(KEEP_PARSED_BYTES)


class LazyObject(Mapping[str, object]):
    """An API object kept as its JSON bytes and parsed on first read (see KEEP_PARSED_BYTES).

    A read-only Mapping like the dict it stands for: `Obj` and the handlers see no difference.
    """

    __slots__ = ("__weakref__", "_value", "blob")

    def __init__(self, blob: bytes) -> None:
        self.blob = blob
        self._value: dict[str, object] | None = None

    def _dict(self) -> dict[str, object]:
        value = self._value
        if value is None:
            parsed: dict[str, object] = orjson.loads(self.blob)
            self._value = value = parsed
            _PARSED.keep(self)
        return value

    def forget(self) -> None:
        self._value = None

    @property
    def parsed(self) -> bool:
        """Whether the parse is held right now (for tests and the curious)."""
        return self._value is not None

    def __getitem__(self, key: str) -> object:
        return self._dict()[key]

    def get(self, key: str, default: object = None) -> object:
        return self._dict().get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self._dict()

    def __iter__(self) -> Iterator[str]:
        return iter(self._dict())

    def __len__(self) -> int:
        return len(self._dict())

    def __repr__(self) -> str:
        return f"LazyObject({self.blob[:60]!r}...)"


def selector(labels: Mapping[str, str] | None) -> str:
    """Equality labels as a canonical selector: sorted, so `a=1,b=2` and `b=2,a=1` share a key."""
    return ",".join(f"{k}={v}" for k, v in sorted((labels or {}).items()))


# -- the view -----------------------------------------------------------------------------------
class CachedView(BaseView):
    """ClusterView over a LiveReader, through a Cache. One instance per answer (its notes, memo)."""

    def __init__(
        self,
        inner: LiveReader,
        cache: Cache,
        *,
        ttl: Mapping[str, float],
        prefix: str = "k8sbot",
        wait: float = 5.0,
        fresh: bool = False,
    ) -> None:
        super().__init__()
        self._inner = inner
        self._cache = cache
        self._ttl = ttl
        self._prefix = prefix
        self._wait = wait
        self._fresh = fresh
        #: This answer's reads, by cache key: each key is read (from cache or cluster) once.
        self._memo: dict[str, Any] = {}
        #: Indexes over whole-namespace lists in the memo: (list key, what) -> value -> objects.
        self._indexes: dict[tuple[str, str], dict[str, builtins.list[Obj]]] = {}

    # -- identity -------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self._inner.name

    @property
    def has_data(self) -> bool:
        return True

    @property
    def taken_at(self) -> datetime | None:
        return None

    @property
    def fresh(self) -> bool:
        return self._fresh

    def notes(self) -> Sequence[Note]:
        own = list(super().notes())
        return (*own, *(n for n in self._inner.notes() if n not in own))

    def key(self, kind: str, namespace: str, tail: str) -> str:
        """`k8sbot:<cluster>:<kind>:<ns>:<name|list:selector>`; ns `*` = all, `` = cluster scope."""
        return f"{self._prefix}:{self._inner.name}:{kind}:{namespace}:{tail}"

    # -- ClusterView ----------------------------------------------------------------------
    def get(self, kind: str, namespace: str | None, name: str) -> Obj | None:
        k = KINDS[kind]
        ns = (namespace or "default") if k.namespaced else ""
        key = self.key(kind, ns, name)
        if key not in self._memo:
            by_name = self._index(kind, ns, "name", lambda o: f"{o.namespace}/{o.name}")
            if by_name is not None:  # this answer already read the whole namespace
                found = by_name.get(f"{ns}/{name}")
                return found[0] if found else None
        raw = self._read(key, kind, lambda: _raw_or_none(self._inner.get(kind, namespace, name)))
        return None if raw is None else Obj(raw)

    def list(
        self, kind: str, namespace: str | None = None, *, labels: Mapping[str, str] | None = None
    ) -> Sequence[Obj]:
        k = KINDS[kind]
        ns = (namespace or "*") if k.namespaced else ""
        key = self.key(kind, ns, f"list:{selector(labels)}")
        if key not in self._memo:
            listed = self._listed(kind, ns)
            if listed is not None:
                return [
                    o for o in listed if (ns in ("", "*") or o.namespace == ns) and matches_labels(o, labels)
                ]
        return self._objs(key, kind, lambda: self._inner.list_blobs(kind, namespace, labels=labels))

    def _events_for(self, obj: Obj) -> Sequence[Obj]:
        if not obj.uid:
            return super()._events_for(obj)  # matched by name over the namespace's (cached) events
        ns = obj.namespace
        by_uid = self._index("Event", ns or "*", "uid", lambda e: e.text("involvedObject", "uid"))
        if by_uid is not None:  # this answer already read these events
            return by_uid.get(obj.uid, [])
        where = f"involvedObject.uid={obj.uid}"
        key = self.key("Event", ns, f"list:{where}")
        try:
            return self._objs(
                key, "Event", lambda: self._inner.list_blobs("Event", ns or None, field_selector=where)
            )
        except ClusterError as err:
            self.note("PARTIAL-UNREADABLE", kind="Event", ref=obj.ref, detail=err.detail)
            return ()

    def log(self, namespace: str, pod: str, container: str, *, previous: bool, tail: int = 50) -> str | None:
        which = "previous" if previous else "current"
        key = self.key("PodLog", namespace, f"{pod}:{container}:{which}:{tail}")
        try:
            text = self._read(
                key,
                "PodLog",
                lambda: self._inner.read_log(namespace, pod, container, previous=previous, tail=tail),
            )
        except ClusterError as err:
            self.note(
                "PARTIAL-UNREADABLE", kind="log", ref=f"{namespace}/{pod}/{container}", detail=err.detail
            )
            return None
        return text if isinstance(text, str) else None

    def namespaces(self) -> Sequence[str]:
        return sorted(o.name for o in self.list("Namespace"))

    # -- this answer's reads --------------------------------------------------------------
    def _listed(self, kind: str, ns: str) -> builtins.list[Obj] | None:
        """A whole-namespace (or all-namespaces) list of `kind` this answer already read, if any."""
        return self._memo.get(self._listed_key(kind, ns) or "")

    def _listed_key(self, kind: str, ns: str) -> str | None:
        for scope in (ns, "*") if ns != "*" else ("*",):
            key = self.key(kind, scope, "list:")
            if key in self._memo:
                return key
        return None

    def _index(
        self, kind: str, ns: str, what: str, by: Callable[[Obj], str]
    ) -> dict[str, builtins.list[Obj]] | None:
        """Objects of an already-read whole-namespace (or all-namespaces) list by `by(obj)`, built
        once per answer; None when no such list was read."""
        list_key = self._listed_key(kind, ns)
        if list_key is None:
            return None
        index = self._indexes.get((list_key, what))
        if index is None:
            index = {}
            for o in self._memo[list_key]:
                index.setdefault(by(o), []).append(o)
            self._indexes[(list_key, what)] = index
        return index  # keyed by values unique across namespaces (ns/name, uid): no filter needed

    def _objs(self, key: str, kind: str, fetch: Callable[[], Sequence[bytes]]) -> builtins.list[Obj]:
        if key in self._memo:
            return self._memo[key]  # type: ignore[no-any-return]
        blobs = self._read(key, kind, fetch, memo=False, lines=True)
        with gc_paused():
            objs = [Obj(LazyObject(b)) for b in blobs]
        self._memo[key] = objs
        return objs

    def _read(
        self, key: str, kind: str, fetch: Callable[[], T], *, memo: bool = True, lines: bool = False
    ) -> T:
        if key in self._memo:
            return self._memo[key]  # type: ignore[no-any-return]
        value = self._through(key, kind, fetch, lines)
        if memo:
            self._memo[key] = value
        return value

    # -- the cache, single flight ---------------------------------------------------------
    def _through(self, key: str, kind: str, fetch: Callable[[], T], lines: bool) -> T:
        """The value from the cache, from a concurrent identical read, or from the cluster."""
        ttl = self._ttl.get(kind, DEFAULT_TTL_S)
        if ttl <= 0:
            return self._miss(kind, fetch)
        cache = self._cache
        if self._fresh:
            self._quietly(cache.delete, key)
        else:
            hit = self._hit(key, kind, lines, cache.get, key)
            if hit is not _NOTHING:
                return hit  # type: ignore[no-any-return]
        deadline = time.monotonic() + self._wait
        while True:
            try:
                token = cache.acquire(key, LOCK_TTL_S)
            except CacheUnavailable:
                return self._miss(kind, fetch)
            if token is not None:
                try:
                    if not self._fresh:  # a leader may have finished between our miss and our lock
                        hit = self._hit(key, kind, lines, cache.get, key)
                        if hit is not _NOTHING:
                            return hit  # type: ignore[no-any-return]
                    return self._fetch_and_store(key, kind, ttl, fetch, lines)
                finally:
                    self._quietly(cache.release, key, token)
            left = deadline - time.monotonic()
            if left <= 0:
                break
            hit = self._hit(key, kind, lines, cache.wait, key, left)
            if hit is not _NOTHING:
                return hit  # type: ignore[no-any-return]
            if time.monotonic() >= deadline:
                break
            # The leader let go without a value (its read failed): try to lead.
        logs.event("cache.wait_expired", logging.INFO, key=key, waited_s=self._wait)
        return self._fetch_and_store(key, kind, ttl, fetch, lines)

    def _fetch_and_store(self, key: str, kind: str, ttl: float, fetch: Callable[[], T], lines: bool) -> T:
        value = self._miss(kind, fetch)
        blob = encode_lines(value) if lines else encode(value)  # type: ignore[arg-type]
        self._quietly(self._cache.set, key, blob, ttl)
        return value

    def _miss(self, kind: str, fetch: Callable[[], T]) -> T:
        CACHE_MISSES.labels(kind=kind).inc()
        return fetch()

    def _hit(self, key: str, kind: str, lines: bool, read: Callable[..., bytes | None], *args: Any) -> Any:
        """Decoded cached value (a hit), or _NOTHING when absent, unreadable or the cache is down."""
        try:
            blob = read(*args)
        except CacheUnavailable:
            return _NOTHING
        if blob is None:
            return _NOTHING
        try:
            value = decode_lines(blob) if lines else decode(blob)
        except ValueError as err:
            CACHE_ERRORS.labels(op="decode").inc()
            logs.event("cache.corrupt", logging.WARNING, key=key, error=str(err))
            return _NOTHING
        CACHE_HITS.labels(kind=kind).inc()
        return value

    @staticmethod
    def _quietly(op: Callable[..., object], *args: Any) -> None:
        # A failed write, delete or unlock was logged and counted by the backend; the answer
        # does not depend on it (an unreleased lock expires after LOCK_TTL_S).
        with contextlib.suppress(CacheUnavailable):
            op(*args)


_NOTHING: Any = object()


def _raw_or_none(obj: Obj | None) -> Mapping[str, object] | None:
    return None if obj is None else obj.raw

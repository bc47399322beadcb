"""The read cache: Redis when `REDIS_URL` is set, the same behaviour in process otherwise.

A `Cache` stores opaque bytes under string keys with a TTL and offers a per-key lock, so that N
identical reads at once (threads of one bot, or several bot replicas sharing one Redis) cause one
API read while the others wait for its result (`bot/cached_view.py` drives this "single flight").

Keys: `<prefix>:<cluster>:<kind>:<namespace>:<name | list:<selector>>` (prefix `k8sbot` by default),
values are JSON (`encode()`; lists: one object per line, `encode_lines()`), zlib-compressed when
large. A lock on a key lives at `<key>:lock`.

Redis failing is never the user's problem: every Redis error (refused, reset, a command slower than
`Settings.redis_timeout`) becomes `CacheUnavailable`, is logged once and counted in
`k8sbot_cache_errors_total`, and the caller reads the cluster directly. For `Settings.redis_retry`
seconds after a failure Redis is not tried at all (a dead Redis must not add a timeout to every
read); the next call after that tries again, so caching resumes by itself when Redis is back.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import secrets
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from typing import Protocol, TypeVar

import orjson
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from bot import logs
from bot.config import Settings, SettingsError
from bot.metrics import CACHE_ERRORS

#: Values above this size are zlib-compressed. Lists of pods or events are JSON with long repeated
#: keys and compress 5-10x at level 1, which costs ~10 ms per MB: less than sending the bytes to Redis.
COMPRESS_ABOVE = 16 * 1024
_RAW, _ZLIB, _LINES, _ZLINES = b"j", b"z", b"n", b"l"

T = TypeVar("T")

#: How long a lock may outlive a reader that died holding it. A live reader releases it as soon as
#: its read ends; 30 s is three API timeouts, longer than any healthy list of a large cluster.
LOCK_TTL_S = 30.0

# Delete the lock only if it still holds our token: after a lock expired and another reader took
# it, a plain DEL would release someone else's lock (the pattern from the Redis SET docs).
_RELEASE_LUA = """
if redis.call("get", KEYS[1]) == ARGV[1] then
    return redis.call("del", KEYS[1])
end
return 0
"""


class CacheUnavailable(Exception):
    """The cache could not serve this operation; the caller reads the cluster directly."""

    def __init__(self, op: str, detail: str) -> None:
        super().__init__(f"cache {op}: {detail}")
        self.op = op
        self.detail = detail


class Cache(Protocol):
    """Bytes under keys, with TTLs and per-key locks. Every method may raise CacheUnavailable."""

    @property
    def backend(self) -> str:
        """`redis` or `memory`, for logs and the bench."""
        ...

    def get(self, key: str) -> bytes | None:
        """The value, or None when absent or expired."""
        ...

    def set(self, key: str, value: bytes, ttl: float) -> None:
        """Store for `ttl` seconds (> 0)."""
        ...

    def delete(self, key: str) -> None:
        """Forget a value (`--fresh`: the next read must come from the cluster)."""
        ...

    def acquire(self, key: str, ttl: float = LOCK_TTL_S) -> str | None:
        """Take the key's lock: a token to release it with, or None if another reader holds it."""
        ...

    def release(self, key: str, token: str) -> None:
        """Release the key's lock if it is still ours."""
        ...

    def wait(self, key: str, timeout: float) -> bytes | None:
        """Wait until the key has a value (returned) or nobody holds its lock / time is up (None)."""
        ...


def lock_key(key: str) -> str:
    return f"{key}:lock"


# -- values ------------------------------------------------------------------------------
@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building a large tree of dicts (a parsed list).

    Every few hundred new containers CPython runs a collection that walks the live ones: parsing
    10,000 pods spends three quarters of its time there, finding nothing (API JSON has no cycles;
    reference counting frees it). Collection resumes afterwards, so nothing is leaked.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def encode(value: object) -> bytes:
    """JSON bytes with a one-byte header: `j` plain, `z` zlib-compressed (large values)."""
    data = orjson.dumps(value)
    if len(data) > COMPRESS_ABOVE:
        return _ZLIB + zlib.compress(data, 1)
    return _RAW + data  # a new, exactly sized bytes (orjson's own keeps a 4 KB+ buffer)


def encode_lines(items: Sequence[bytes]) -> bytes:
    """A list of objects, each already JSON (`LiveView.list_blobs`): one per line (JSON never holds
    a raw newline), header `n` plain or `l` zlib-compressed. Compressed item by item, so a list of
    10,000 pods is never joined into one 50 MB string."""
    total = sum(len(i) + 1 for i in items)
    if total <= COMPRESS_ABOVE:
        return _LINES + b"\n".join(items)
    z = zlib.compressobj(1)
    parts = [_ZLINES]
    for n, item in enumerate(items):
        if n:
            parts.append(z.compress(b"\n"))
        parts.append(z.compress(item))
    parts.append(z.flush())
    return b"".join(parts)


def decode(blob: bytes) -> object:
    """The inverse of `encode`. Raises ValueError on bytes it did not write."""
    head, body = blob[:1], blob[1:]
    try:
        with gc_paused():
            if head == _ZLIB:
                return orjson.loads(zlib.decompress(body))
            if head == _RAW:
                return orjson.loads(body)
    except (zlib.error, orjson.JSONDecodeError) as err:
        raise ValueError(f"corrupt cache value: {err}") from None
    raise ValueError("not a JSON value (unknown header)")


def decode_lines(blob: bytes) -> list[bytes]:
    """The inverse of `encode_lines`: each object's JSON bytes. Raises ValueError on other bytes."""
    head, body = blob[:1], blob[1:]
    if head == _LINES:
        return body.split(b"\n") if body else []
    if head == _ZLINES:
        try:
            return _zlines(body)
        except zlib.error as err:
            raise ValueError(f"corrupt cache value: {err}") from None
    raise ValueError("not a list of objects (unknown header)")


def _zlines(body: bytes, chunk: int = 64 * 1024) -> list[bytes]:
    """Decompress and split as we go: the whole text never exists at once."""
    z = zlib.decompressobj()
    out: list[bytes] = []
    rest = b""
    for start in range(0, len(body), chunk):
        lines = (rest + z.decompress(body[start : start + chunk])).split(b"\n")
        rest = lines.pop()
        out.extend(lines)
    out.extend((rest + z.flush()).split(b"\n"))
    if not z.eof:
        raise zlib.error("truncated value")
    return out


# -- in process ---------------------------------------------------------------------------
class MemoryCache:
    """The Cache in one process: a dict with expiry times, and locks on a Condition.

    Bounded by `max_bytes` (values are the compressed bytes Redis would hold): past it, expired
    entries go first, then the oldest ones.
    """

    def __init__(self, *, max_bytes: int = 128 * 1024 * 1024) -> None:
        self._data: dict[str, tuple[float, bytes]] = {}
        self._locks: dict[str, tuple[float, str]] = {}
        self._cond = threading.Condition()
        self._bytes = 0
        self._max_bytes = max_bytes

    @property
    def backend(self) -> str:
        return "memory"

    def _live(self, key: str, now: float) -> bytes | None:
        entry = self._data.get(key)
        if entry is None:
            return None
        if entry[0] <= now:
            self._drop(key)
            return None
        return entry[1]

    def _drop(self, key: str) -> None:
        entry = self._data.pop(key, None)
        if entry is not None:
            self._bytes -= len(entry[1])

    def _held(self, key: str, now: float) -> bool:
        lock = self._locks.get(key)
        if lock is None:
            return False
        if lock[0] <= now:
            del self._locks[key]
            return False
        return True

    def get(self, key: str) -> bytes | None:
        with self._cond:
            return self._live(key, time.monotonic())

    def set(self, key: str, value: bytes, ttl: float) -> None:
        if ttl <= 0:
            return
        now = time.monotonic()
        with self._cond:
            self._drop(key)
            self._data[key] = (now + ttl, value)
            self._bytes += len(value)
            if self._bytes > self._max_bytes:
                self._shrink(now)
            self._cond.notify_all()

    def _shrink(self, now: float) -> None:
        for key in [k for k, (exp, _) in self._data.items() if exp <= now]:
            self._drop(key)
        while self._bytes > self._max_bytes and self._data:
            self._drop(next(iter(self._data)))  # dicts keep insertion order: oldest first

    def delete(self, key: str) -> None:
        with self._cond:
            self._drop(key)

    def acquire(self, key: str, ttl: float = LOCK_TTL_S) -> str | None:
        now = time.monotonic()
        with self._cond:
            if self._held(key, now):
                return None
            token = secrets.token_hex(8)
            self._locks[key] = (now + ttl, token)
            return token

    def release(self, key: str, token: str) -> None:
        with self._cond:
            lock = self._locks.get(key)
            if lock is not None and lock[1] == token:
                del self._locks[key]
            self._cond.notify_all()

    def wait(self, key: str, timeout: float) -> bytes | None:
        end = time.monotonic() + timeout
        with self._cond:
            while True:
                now = time.monotonic()
                value = self._live(key, now)
                if value is not None:
                    return value
                if not self._held(key, now) or now >= end:
                    return None
                self._cond.wait(end - now)


# -- Redis ---------------------------------------------------------------------------------
class RedisCache:
    """The Cache in Redis, shared by every bot process using the same REDIS_URL and prefix."""

    #: Polling interval bounds while waiting for another reader's value: the first checks come
    #: quickly (most reads finish in tens of ms), later ones back off so N waiters stay cheap.
    POLL_FIRST_S = 0.005
    POLL_MAX_S = 0.05

    def __init__(self, url: str, *, timeout: float = 0.15, retry_after: float = 1.0) -> None:
        # No client-side retries: redis-py's default (3 tries with back-off) would turn one dead
        # Redis into seconds of delay per read. We retry on the next call instead (see _run).
        self._client = redis.Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 0),
            health_check_interval=0,
        )
        self._url = url
        self._retry_after = retry_after
        self._down_until = 0.0
        self._down = False
        self._state = threading.Lock()
        self._release = self._client.register_script(_RELEASE_LUA)

    @property
    def backend(self) -> str:
        return "redis"

    def _run(self, op: str, call: Callable[[], T]) -> T:
        if time.monotonic() < self._down_until:
            raise CacheUnavailable(op, "redis unavailable, not retried yet")
        try:
            result = call()
        except redis.RedisError as err:
            with self._state:
                self._down_until = time.monotonic() + self._retry_after
                self._down = True
            CACHE_ERRORS.labels(op=op).inc()
            detail = _describe(err)
            logs.event(
                "cache.unavailable",
                logging.WARNING,
                backend="redis",
                op=op,
                error=detail,
                retry_in_s=self._retry_after,
            )
            raise CacheUnavailable(op, detail) from None
        if self._down:
            with self._state:
                was_down, self._down = self._down, False
            if was_down:
                logs.event("cache.recovered", logging.WARNING, backend="redis", op=op)
        return result

    def get(self, key: str) -> bytes | None:
        value = self._run("get", lambda: self._client.get(key))
        return value if isinstance(value, bytes) else None

    def set(self, key: str, value: bytes, ttl: float) -> None:
        if ttl <= 0:
            return
        ms = max(1, int(ttl * 1000))
        self._run("set", lambda: self._client.set(key, value, px=ms))

    def delete(self, key: str) -> None:
        self._run("delete", lambda: self._client.delete(key))

    def acquire(self, key: str, ttl: float = LOCK_TTL_S) -> str | None:
        token = secrets.token_hex(8)
        ms = max(1, int(ttl * 1000))
        ok = self._run("lock", lambda: self._client.set(lock_key(key), token, nx=True, px=ms))
        return token if ok else None

    def release(self, key: str, token: str) -> None:
        self._run("unlock", lambda: self._release(keys=[lock_key(key)], args=[token]))

    def wait(self, key: str, timeout: float) -> bytes | None:
        end = time.monotonic() + timeout
        delay = self.POLL_FIRST_S
        while True:
            found = self._run("wait", lambda: self._client.mget([key, lock_key(key)]))
            value, lock = found if isinstance(found, list) else (None, None)
            if isinstance(value, bytes):
                return value
            left = end - time.monotonic()
            if lock is None or left <= 0:
                return None
            time.sleep(min(delay, left))
            delay = min(delay * 2, self.POLL_MAX_S)


def _describe(err: redis.RedisError) -> str:
    text = str(err).strip()
    if isinstance(err, redis.TimeoutError):
        return f"timed out ({text})" if text else "timed out"
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def make_cache(settings: Settings) -> Cache:
    """Redis when REDIS_URL is set, else the in-process cache. Connecting is lazy: never fails here."""
    if settings.redis_url:
        try:
            return RedisCache(
                settings.redis_url, timeout=settings.redis_timeout, retry_after=settings.redis_retry
            )
        except ValueError as err:  # redis-py's message for a malformed URL
            raise SettingsError(f"REDIS_URL: {err}") from None
    return MemoryCache()

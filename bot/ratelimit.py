"""Per-user question rate limit for Slack: N questions per window, in memory or in Redis.

K8SBOT_CONFIG keys (all optional)::

    slack:
      rate_limit:
        questions: 10        # questions one user may ask per window; 0 turns the limit off
        per_seconds: 60      # the window, in seconds

Defaults: 10 questions a minute. An on-call engineer clicking through a broken namespace asks a
question every few seconds at most; a loop or a pasted script asks many per second. Each question
may cost several API-server reads, so the limit protects the cluster more than the bot.

Without `REDIS_URL` the count lives in the process (exact: `serve --http` runs one worker process).
With `REDIS_URL` it is shared by every replica (keys `<cache.prefix>:ratelimit:...`). If Redis
fails, questions are let through (the limit is a courtesy, an outage of it must not silence the
bot) and the failure is counted and logged.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import ClassVar, Protocol

from bot import logs
from bot.config import Settings, SettingsError
from bot.metrics import CACHE_ERRORS
from handlers.errors import QueryError

DEFAULT_QUESTIONS = 10
DEFAULT_WINDOW_S = 60


@dataclass(frozen=True, slots=True)
class RateLimitConfig:
    """The `slack.rate_limit` section."""

    questions: int = DEFAULT_QUESTIONS
    """Questions per window per user; 0 = unlimited."""
    per_seconds: int = DEFAULT_WINDOW_S
    """Window length in seconds."""

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimitConfig:
        where = f"{settings.config_file or 'K8SBOT_CONFIG'}: slack.rate_limit"
        slack = settings.raw.get("slack") or {}
        if not isinstance(slack, Mapping):
            raise SettingsError(f"{settings.config_file or 'K8SBOT_CONFIG'}: `slack` must be a mapping")
        section = slack.get("rate_limit") or {}
        if not isinstance(section, Mapping):
            raise SettingsError(f"{where} must be a mapping")
        try:
            questions = int(section.get("questions", DEFAULT_QUESTIONS))
            window = int(section.get("per_seconds", DEFAULT_WINDOW_S))
        except (TypeError, ValueError):
            raise SettingsError(f"{where}: questions and per_seconds must be whole numbers") from None
        if questions < 0 or window <= 0:
            raise SettingsError(f"{where}: questions must be >= 0 and per_seconds > 0")
        return cls(questions, window)


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    retry_after: int = 0
    """Seconds until the user may ask again (when not allowed)."""


class RateLimited(QueryError):
    """The asker went over the limit; worded politely by templates/errors/rate_limited.txt.j2."""

    template: ClassVar[str] = "rate_limited"

    def __init__(self, config: RateLimitConfig, retry_after: int) -> None:
        super().__init__(f"rate limited for {retry_after}s")
        self.config = config
        self.retry_after = retry_after

    def fields(self) -> dict[str, object]:
        return {
            "limit": self.config.questions,
            "window": self.config.per_seconds,
            "retry_after": self.retry_after,
        }


class RateLimiter(Protocol):
    """Counts one question for `key` and says whether it may be answered."""

    config: RateLimitConfig

    def check(self, key: str) -> Verdict: ...


class MemoryLimiter:
    """Sliding window over the times of the last `questions` questions, per key. Thread-safe."""

    def __init__(self, config: RateLimitConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self._clock = clock
        self._seen: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, key: str) -> Verdict:
        limit, window = self.config.questions, self.config.per_seconds
        if limit == 0:
            return Verdict(True)
        now = self._clock()
        with self._lock:
            times = self._seen.setdefault(key, deque())
            while times and times[0] <= now - window:
                times.popleft()
            if len(times) >= limit:
                return Verdict(False, max(1, math.ceil(times[0] + window - now)))
            times.append(now)
            if len(self._seen) > 10_000:  # forget idle users now and then; never grows without bound
                for k in [k for k, t in self._seen.items() if not t or t[-1] <= now - window]:
                    del self._seen[k]
            return Verdict(True)


class RedisLimiter:
    """Fixed windows in Redis (INCR + EXPIRE), shared by every replica."""

    def __init__(self, config: RateLimitConfig, url: str, *, prefix: str, timeout: float) -> None:
        import redis

        self.config = config
        self._prefix = prefix
        # Short timeouts (cache.redis_timeout): the limit is checked inside the 3 s ack.
        self._redis = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)

    def check(self, key: str) -> Verdict:
        limit, window = self.config.questions, self.config.per_seconds
        if limit == 0:
            return Verdict(True)
        now = time.time()
        slot = int(now // window)
        rkey = f"{self._prefix}:ratelimit:{key}:{slot}"
        try:
            pipe = self._redis.pipeline()
            pipe.incr(rkey)
            pipe.expire(rkey, window + 1)
            count = int(pipe.execute()[0])
        except Exception as err:  # redis.RedisError, OSError: fail open, say so
            CACHE_ERRORS.labels(op="ratelimit").inc()
            logs.event("ratelimit.redis_failed", error=type(err).__name__)
            return Verdict(True)
        if count > limit:
            return Verdict(False, max(1, math.ceil((slot + 1) * window - now)))
        return Verdict(True)


def limiter(settings: Settings) -> RateLimiter:
    """The limiter the settings ask for: Redis when REDIS_URL is set, else in-process."""
    config = RateLimitConfig.from_settings(settings)
    if settings.redis_url:
        return RedisLimiter(
            config, settings.redis_url, prefix=settings.cache_prefix, timeout=settings.redis_timeout
        )
    return MemoryLimiter(config)

"""Scheduled digests inside `k8s-bot serve`: per-channel cron schedules, posted exactly once.

Configuration (`K8SBOT_CONFIG`)::

    digests:
      - channel: C0123ABCD            # channel ID (required)
        cron: "0 9 * * 1-5"           # standard 5-field cron, or @daily/@hourly (required)
        timezone: Europe/Berlin       # the cron's time zone (default UTC); DST as croniter handles it
        cluster: prod                 # a name under `clusters` (default: the default cluster)
        namespaces: [shop, payments]  # default: all namespaces
        lang: zh                      # en | zh; absent: the channel's `lang`, else the bot's
        quiet: false                  # true: no post when nothing is new and nothing resolved
        grace: 15m                    # how late a missed digest may still be posted (seconds, or 90s/15m/1h)
        name: shop-morning            # optional; needed only when one channel has several digests
    digest_tick: 15                   # seconds between checks (default 15)

How a fire is posted once with N replicas sharing Redis (`bot/cache.py`, key prefix `cache.prefix`):
every tick each replica computes the schedule's latest fire time at or before now (croniter, in the
schedule's time zone). If it is at most `grace` old and its "posted" marker is absent, the replica
takes the fire's lock, `<prefix>:digest:<id>:<fire>` (SET NX with LOCK_TTL_S), checks the marker
again, computes the digest, posts it, sets the marker, saves the channel's state, releases the lock.

- never twice: the lock lets one replica work on a fire at a time, and whoever takes it after a
  successful post finds the marker (set before the lock is released) and stops;
- never zero while one replica lives: a replica that dies holding the lock loses it when LOCK_TTL_S
  expires, and the next replica to tick finds no marker and posts; a failed post (Slack 5xx/429
  after the client's retries) releases the lock without a marker, so the next tick retries, and the
  state is only advanced after a successful post;
- restart catch-up: a fire missed while every replica was down is still "the latest fire" when one
  starts, so it is posted once on start if within `grace` (later than that it is logged as missed).

Why `grace` defaults to 15 minutes: a restart or a rolling update of the bot takes seconds to a couple
of minutes, a node drain a few more, and a digest 15 minutes late is still this morning's digest; one
that arrives hours late after an outage would be read as a fresh one and, for an hourly schedule,
collide with the next. It must exceed LOCK_TTL_S, or a replica dying mid-post could lose the fire.

Without REDIS_URL the state, locks and markers live in this process: one replica, and a restart
within `grace` after a fire posts it again (nothing outside the process remembers it was posted).
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from bot import logs
from bot.cache import Cache, CacheUnavailable, make_cache
from bot.clusters import Clusters
from bot.config import Settings, SettingsError
from bot.digest import Messages, PostFailed, StateStore, advance, current, diff, post, to_slack, view
from bot.dispatch import ask
from bot.i18n import LANGS
from bot.metrics import DIGEST_FAILURES, DIGESTS_POSTED
from bot.render import error_text, split_messages
from bot.templating import render_file

#: Seconds between checks: a digest is posted within this of its time, and each check costs one
#: Redis GET per schedule not yet posted.
DEFAULT_TICK_S = 15.0
#: How long a replica may hold a fire's lock: longer than a digest takes (listing a 10,000-pod
#: cluster takes a few seconds; a post with the client's retries, 3 rate-limit waits of Retry-After
#: and 2 server-error back-offs, well under a minute), short enough that a dead holder's fire is
#: retried by another replica within the default grace.
LOCK_TTL_S = 120.0
DEFAULT_GRACE = timedelta(minutes=15)
#: The "posted" marker outlives the window in which the fire could still be due.
MARKER_EXTRA_S = 24 * 3600

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}
_SAFE_ID = re.compile(r"[^A-Za-z0-9_.-]")


# -- schedules ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Schedule:
    """One `digests:` entry, validated."""

    id: str
    channel: str
    cron: str
    timezone: ZoneInfo
    cluster: str | None = None
    namespaces: tuple[str, ...] = ()
    lang: str = "en"
    quiet: bool = False
    grace: timedelta = DEFAULT_GRACE

    def latest_fire(self, now: datetime) -> datetime:
        """The last fire time at or before `now`, in UTC."""
        local = now.astimezone(self.timezone) + timedelta(microseconds=1)  # get_prev is strictly before
        fire = croniter(self.cron, local).get_prev(datetime)
        return fire.astimezone(UTC)

    @property
    def query(self) -> str:
        """The question the digest answers, in the one grammar (`digest -n a,b --cluster prod`)."""
        q = "digest"
        if self.namespaces:
            q += f" -n {','.join(self.namespaces)}"
        if self.cluster:
            q += f" --cluster {self.cluster}"
        return q


def _duration(value: object, where: str) -> timedelta:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise SettingsError(f"{where} must be seconds or a duration like 90s, 15m, 1h")
    m = _DURATION.match(str(value))
    if not m:
        raise SettingsError(f"{where} must be seconds or a duration like 90s, 15m, 1h (got {value!r})")
    return timedelta(seconds=float(m.group(1)) * _UNITS[m.group(2)])


def load_schedules(settings: Settings) -> list[Schedule]:
    """The `digests:` list of K8SBOT_CONFIG; SettingsError naming the entry and key when wrong."""
    where = settings.config_file or "K8SBOT_CONFIG"
    section = settings.raw.get("digests") or []
    if not isinstance(section, list):
        raise SettingsError(f"{where}: `digests` must be a list of schedules")
    out: list[Schedule] = []
    for i, raw in enumerate(section):
        at = f"{where}: digests[{i}]"
        if not isinstance(raw, dict):
            raise SettingsError(f"{at} must be a mapping")
        unknown = set(raw) - {
            "channel",
            "cron",
            "timezone",
            "cluster",
            "namespaces",
            "lang",
            "quiet",
            "grace",
            "name",
        }
        if unknown:
            raise SettingsError(f"{at}: unknown key(s) {', '.join(sorted(unknown))}")
        channel = str(raw.get("channel") or "").strip()
        if not channel:
            raise SettingsError(f"{at}.channel is required (the channel ID, e.g. C0123ABCD)")
        cron = str(raw.get("cron") or "").strip()
        # Five fields as crontab and Kubernetes CronJobs write them (croniter would also take a
        # sixth, seconds, field, which makes no sense for a digest), or an @daily-style macro.
        if not cron or not croniter.is_valid(cron) or (not cron.startswith("@") and len(cron.split()) != 5):
            raise SettingsError(f"{at}.cron: {cron!r} is not a 5-field cron expression (e.g. '0 9 * * 1-5')")
        try:
            tz = ZoneInfo(str(raw.get("timezone") or "UTC"))
        except (ZoneInfoNotFoundError, ValueError):
            raise SettingsError(f"{at}.timezone: unknown time zone {raw.get('timezone')!r}") from None
        cluster = raw.get("cluster")
        if cluster is not None and settings.clusters and str(cluster) not in settings.clusters:
            raise SettingsError(f"{at}.cluster: {cluster!r} is not under `clusters`")
        ns_raw = raw.get("namespaces") or ()
        if isinstance(ns_raw, str):
            ns_raw = ns_raw.split(",")
        if not isinstance(ns_raw, list | tuple):
            raise SettingsError(f"{at}.namespaces must be a list of namespace names")
        namespaces = tuple(sorted({str(n).strip() for n in ns_raw if str(n).strip()}))
        # Absent: the channel's language (channels.<ID>.lang), else the bot's (`lang`, K8SBOT_LANG).
        channels = settings.raw.get("channels")
        binding = channels.get(channel) if isinstance(channels, dict) else None
        channel_lang = binding.get("lang") if isinstance(binding, dict) else None
        lang = str(raw.get("lang") or channel_lang or settings.lang)
        if lang not in LANGS:
            raise SettingsError(f"{at}.lang must be one of {', '.join(LANGS)}")
        quiet = raw.get("quiet", False)
        if not isinstance(quiet, bool):
            raise SettingsError(f"{at}.quiet must be true or false")
        grace = _duration(raw["grace"], f"{at}.grace") if "grace" in raw else DEFAULT_GRACE
        name = str(raw.get("name") or channel)
        out.append(
            Schedule(
                id=_SAFE_ID.sub("_", name),
                channel=channel,
                cron=cron,
                timezone=tz,
                cluster=None if cluster is None else str(cluster),
                namespaces=namespaces,
                lang=lang,
                quiet=quiet,
                grace=grace,
            )
        )
    ids = [s.id for s in out]
    for dup in sorted({i for i in ids if ids.count(i) > 1}):
        raise SettingsError(f"{where}: two digests for {dup}: give each a different `name`")
    return out


def tick_seconds(settings: Settings) -> float:
    value = settings.raw.get("digest_tick", DEFAULT_TICK_S)
    seconds = _duration(value, f"{settings.config_file or 'K8SBOT_CONFIG'}: digest_tick").total_seconds()
    if seconds <= 0:
        raise SettingsError("digest_tick must be more than 0 seconds")
    return seconds


def settings_clock(settings: Settings) -> Callable[[], datetime]:
    """Wall time; with K8SBOT_FAKE_NOW (tests), a clock that starts there and runs at normal speed."""
    if settings.fake_now is None:
        return lambda: datetime.now(UTC)
    base, started = settings.fake_now, time.monotonic()
    return lambda: base + timedelta(seconds=time.monotonic() - started)


# -- the scheduler ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one tick did for one schedule's fire."""

    schedule: str
    fire: datetime
    #: posted | quiet | already_posted | locked | failed | missed | cache_unavailable
    result: str


class Scheduler:
    """Checks the schedules every `tick_s` seconds on a background thread (or `tick()` by hand)."""

    def __init__(
        self,
        schedules: Sequence[Schedule],
        clusters: Clusters,
        web: Any,
        *,
        cache: Cache,
        prefix: str,
        clock: Callable[[], datetime] | None = None,
        tick_s: float = DEFAULT_TICK_S,
        lock_ttl_s: float = LOCK_TTL_S,
    ) -> None:
        self.schedules = tuple(schedules)
        self.clusters = clusters
        self.web = web
        self.cache = cache
        self.prefix = prefix
        self.store = StateStore(cache, prefix)
        self.clock = clock or (lambda: datetime.now(UTC))
        self.tick_s = tick_s
        self.lock_ttl_s = lock_ttl_s
        #: The last fire known done (posted here or elsewhere) per schedule: no Redis call until the next.
        self._done: dict[str, datetime] = {}
        self._missed: set[tuple[str, datetime]] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def from_settings(
        cls, settings: Settings, clusters: Clusters, web: Any, schedules: Sequence[Schedule] | None = None
    ) -> Scheduler | None:
        """The scheduler `serve` runs, or None when no digest is configured."""
        chosen = load_schedules(settings) if schedules is None else list(schedules)
        if not chosen:
            return None
        return cls(
            chosen,
            clusters,
            web,
            cache=make_cache(settings),
            prefix=settings.cache_prefix,
            clock=settings_clock(settings),
            tick_s=tick_seconds(settings),
        )

    # -- running ----------------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="k8s-digests", daemon=True)
        self._thread.start()
        logs.event(
            "digest.scheduler_started",
            schedules=[s.id for s in self.schedules],
            backend=self.cache.backend,
            tick_s=self.tick_s,
        )

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:  # a bug must not end the thread: the next tick tries again
                logs.exception("digest.tick_failed")
            self._stop.wait(self.tick_s)

    # -- one check --------------------------------------------------------------------------------
    def tick(self) -> list[Outcome]:
        now = self.clock()
        out: list[Outcome] = []
        for s in self.schedules:
            fire = s.latest_fire(now)
            if self._done.get(s.id) == fire:
                continue
            if now - fire > s.grace:
                if (s.id, fire) not in self._missed:
                    self._missed.add((s.id, fire))
                    logs.event(
                        "digest.missed",
                        schedule=s.id,
                        channel=s.channel,
                        fire=_iso(fire),
                        late_s=round((now - fire).total_seconds()),
                        grace_s=s.grace.total_seconds(),
                    )
                out.append(Outcome(s.id, fire, "missed"))
                continue
            result = self.fire(s, fire, now)
            if result in ("posted", "quiet", "already_posted"):
                self._done[s.id] = fire
            out.append(Outcome(s.id, fire, result))
        return out

    def _key(self, s: Schedule, fire: datetime) -> str:
        return f"{self.prefix}:digest:{s.id}:{fire.strftime('%Y%m%dT%H%M%SZ')}"

    def fire(self, s: Schedule, fire: datetime, now: datetime) -> str:
        """Post schedule `s`'s digest for `fire` unless another replica does or did."""
        key = self._key(s, fire)
        marker = f"{key}:posted"
        fields: dict[str, Any] = {"schedule": s.id, "channel": s.channel, "fire": _iso(fire)}
        try:
            if self.cache.get(marker) is not None:
                logs.event("digest.already_posted", **fields)
                return "already_posted"
            token = self.cache.acquire(key, self.lock_ttl_s)
            if token is None:
                logs.event("digest.locked", **fields)  # another replica is posting it right now
                return "locked"
            try:
                if self.cache.get(marker) is not None:
                    logs.event("digest.already_posted", **fields)
                    return "already_posted"
                return self._post(s, fire, now, marker, fields)
            finally:
                with contextlib.suppress(CacheUnavailable):  # if so, the lock expires by itself
                    self.cache.release(key, token)
        except CacheUnavailable as err:
            # Without the shared lock several replicas could post: wait for Redis instead.
            logs.event("digest.cache_unavailable", error=str(err), **fields)
            return "cache_unavailable"

    def _post(self, s: Schedule, fire: datetime, now: datetime, marker: str, fields: dict[str, Any]) -> str:
        state = self.store.load(s.id)
        if state.last_fire is not None and state.last_fire >= fire:
            logs.event("digest.already_posted", source="state", **fields)
            return "already_posted"
        started = time.perf_counter()
        outcome = ask(s.query, self.clusters, now=now, lang=s.lang)
        if outcome.result is None:
            assert outcome.error is not None
            # The cluster could not be read: say so in the channel; the problem state stays as it was.
            err = outcome.error
            cluster = s.cluster or self.clusters.default or ""
            lang = outcome.lang
            text = error_text(err, lang)
            blocks = render_file("slack/digest_error.json.j2", lang, cluster=cluster, error=text)
            message = split_messages(json.loads(blocks), text, cli_hint=None, lang=lang)[0]
            messages, new_state = Messages(message, ()), None
            counts: dict[str, int] = {}
        else:
            cur = current(outcome.result, outcome.lang)
            d = diff(state, cur)
            counts = {"new": len(d.new), "ongoing": len(d.ongoing), "resolved": len(d.resolved)}
            if s.quiet and not d.changed:
                self.cache.set(marker, b"quiet", s.grace.total_seconds() + MARKER_EXTRA_S)
                self.store.save(s.id, advance(state, d, at=now, fire=fire, posted=False))
                logs.event("digest.quiet", **fields, **counts)
                return "quiet"
            v = view(cur, d, now=now, last_posted=state.last_posted, tz=s.timezone)
            messages = to_slack(v)
            new_state = advance(state, d, at=now, fire=fire, posted=True)
        try:
            ts = post(self.web, s.channel, messages)
        except PostFailed as err:
            DIGEST_FAILURES.labels(channel=s.channel).inc()
            logs.event("digest.failed", error=str(err), **fields)
            return "failed"
        self.cache.set(marker, ts.encode() or b"posted", s.grace.total_seconds() + MARKER_EXTRA_S)
        if new_state is not None:
            self.store.save(s.id, new_state)
        DIGESTS_POSTED.labels(channel=s.channel).inc()
        logs.event(
            "digest.posted",
            ts=ts,
            thread=len(messages.thread),
            duration_ms=round((time.perf_counter() - started) * 1000),
            cluster_error=new_state is None,
            **fields,
            **counts,
        )
        return "posted"


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

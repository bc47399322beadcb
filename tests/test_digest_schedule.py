"""The scheduled digest in one process: bot/scheduler.py's Scheduler ticking with a test clock, the REAL
Redis (a private key prefix, deleted afterwards) and the fake Slack Web API over HTTP, through the real
WebClient and its retry handlers.

Three consecutive mornings of tests/fixtures/digest (state1..3) give new / still ongoing / resolved;
quiet mode; Slack 429 (retried with Retry-After, posted once); Slack 500 (not posted, state not
advanced, retried next tick); a lock left by a dead replica; schedule parsing and time zones.
Several `serve` processes sharing Redis are in test_digest_serve.py.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import redis

from bot.cache import Cache, MemoryCache, RedisCache
from bot.clusters import Clusters
from bot.config import Secret, Settings, SettingsError
from bot.digest import DigestState
from bot.metrics import REGISTRY
from bot.scheduler import Schedule, Scheduler, load_schedules
from bot.slack_app import web_client
from tests.conftest import FIXTURES, clean_env, run_cli
from tests.fakes.kube_api import FakeKube
from tests.fakes.slack_api import Call, FakeSlack, check_message, texts

REDIS_URL = "redis://127.0.0.1:6379/0"
CHANNEL = "C0DIGEST"
T1 = datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC)  # state1's morning (tests/fixtures/digest/cluster.py)
DAY = timedelta(days=1)


@pytest.fixture
def prefix() -> Iterator[str]:
    name = f"k8sbot-test-{uuid.uuid4().hex[:12]}"
    yield name
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"{name}:*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Rig:
    """One bot's digest machinery: settings, the shared Redis cache, a clock, a scheduler per snapshot."""

    slack: FakeSlack
    prefix: str
    digests: list[dict[str, Any]] = field(default_factory=lambda: [{"channel": CHANNEL, "cron": "0 9 * * *"}])
    clock: Clock = field(default_factory=lambda: Clock(T1 + timedelta(seconds=5)))

    def __post_init__(self) -> None:
        self.settings = Settings(
            redis_url=REDIS_URL,
            cache_prefix=self.prefix,
            slack_bot_token=Secret("xoxb-test"),
            slack_api_url=self.slack.api_url,
            raw={"digests": self.digests},
        )
        self.cache: Cache = RedisCache(REDIS_URL, timeout=1.0)
        self.web = web_client(self.settings)

    def scheduler(self, state: int, **kw: Any) -> Scheduler:
        clusters = Clusters(self.settings, snapshot=[str(FIXTURES / "digest" / f"state{state}")])
        return Scheduler(
            load_schedules(self.settings),
            clusters,
            self.web,
            cache=self.cache,
            prefix=self.prefix,
            clock=self.clock,
            **kw,
        )

    def morning(self, state: int) -> list[str]:
        """Tick at 09:00:05 of morning `state` (state1 = T1); the results of that tick."""
        self.clock.now = T1 + (state - 1) * DAY + timedelta(seconds=5)
        return [o.result for o in self.scheduler(state).tick()]

    def summaries(self) -> list[Call]:
        return [c for c in self.slack.received("chat.postMessage", status=200) if not c.body.get("thread_ts")]

    def state(self, digest_id: str = CHANNEL) -> DigestState | None:
        blob = self.cache.get(f"{self.prefix}:digest:{digest_id}:state")
        return None if blob is None else DigestState.decode(blob)


def section(body: dict[str, Any], title: str) -> list[str]:
    """The lines of the summary section `*<title> (n)*`, without the icons."""
    for block in body["blocks"]:
        text = block.get("text", {}).get("text", "") if block["type"] == "section" else ""
        if text.startswith(f"*{title} ("):
            return [line.split(" ", 1)[1] for line in text.splitlines()[1:] if line.startswith(":")]
    return []


def metric(name: str, channel: str) -> float:
    return REGISTRY.get_sample_value(name, {"channel": channel}) or 0.0


# -- new / ongoing / resolved -------------------------------------------------------------------------


def test_three_mornings_new_ongoing_resolved(slack: FakeSlack, prefix: str) -> None:
    rig = Rig(slack, prefix)
    assert rig.morning(1) == ["posted"]
    (d1,) = rig.summaries()
    check_message(d1.body)
    assert d1.body["channel"] == CHANNEL
    assert section(d1.body, "New") == [
        "deploy/web in shop: 3/3 pods CrashLoopBackOff, exit 1 (app error) → `/k8s why deploy/web -n shop`",
        "deploy/cart in shop: 1/3 pods cannot pull shop/cart:2.31 (ImagePullBackOff) → "
        "`/k8s why cart-b98d5576fb-wczf7 -n shop`",
        "svc/web in shop: no ready endpoints (3 pods match app=web, 0 ready) → `/k8s endpoints web -n shop`",
        "node k8s-worker-3 under MemoryPressure for 47m",
    ]
    assert section(d1.body, "Still ongoing") == [] and section(d1.body, "Resolved") == []
    # The detail is in the summary's thread, every problem with its evidence and next steps.
    thread = [c for c in slack.received("chat.postMessage") if c.body.get("thread_ts")]
    assert thread and all(c.body["thread_ts"] for c in thread)
    detail = "\n".join(texts(c.body) for c in thread)
    assert "web-b66cf89988-5p78h: READY 0/1, STATUS CrashLoopBackOff, RESTARTS 60" in detail
    assert "kubectl -n shop logs web-b66cf89988-5p78h -c web --previous --tail=50" in detail
    first = rig.state()
    assert first is not None and set(first.problems) == {
        "crashloop:shop:Deployment/web:exit=1",
        "image-pull:shop:Deployment/cart",
        "no-endpoints:shop:Service/web",
        "node-pressure:Node/k8s-worker-3:MemoryPressure",
    }

    assert rig.morning(2) == ["posted"]
    d2 = rig.summaries()[1]
    check_message(d2.body)
    assert "Since the last digest: 2026-03-02 09:00 UTC (24h ago)" in texts(d2.body)
    assert [line.split(" → ")[0] for line in section(d2.body, "New")] == [
        "deploy/search in shop: 1/3 pods Pending for 120m: 3 Insufficient memory",
        "cronjob/report in ops: its last run, job report-29541960, failed "
        "(BackoffLimitExceeded, 3 failed pods)",
    ]
    assert section(d2.body, "Still ongoing") == [
        "deploy/web in shop: 3/3 pods CrashLoopBackOff, exit 1 (app error) _(for 24h)_ → "
        "`/k8s why deploy/web -n shop`",
        "svc/web in shop: no ready endpoints (3 pods match app=web, 0 ready) _(for 24h)_ → "
        "`/k8s endpoints web -n shop`",
    ]
    assert section(d2.body, "Resolved") == [
        "~deploy/cart in shop: 1/3 pods cannot pull shop/cart:2.31 (ImagePullBackOff)~",
        "~node k8s-worker-3 under MemoryPressure for 47m~",
    ]

    assert rig.morning(3) == ["posted"]
    d3 = rig.summaries()[2]
    assert section(d3.body, "New") == []
    # The Pending pod was recreated under another name and the CronJob failed in another Job: the
    # keys are the owner's, so both are still the same problems, now two days old.
    assert [line.split(" → ")[0] for line in section(d3.body, "Still ongoing")] == [
        "deploy/search in shop: 1/3 pods Pending for 120m: 3 Insufficient memory _(for 24h)_",
        "cronjob/report in ops: its last run, job report-29543400, failed "
        "(BackoffLimitExceeded, 3 failed pods) _(for 24h)_",
    ]
    assert section(d3.body, "Resolved") == [
        "~deploy/web in shop: 3/3 pods CrashLoopBackOff, exit 1 (app error)~",
        "~svc/web in shop: no ready endpoints (3 pods match app=web, 0 ready)~",
    ]
    last = rig.state()
    assert last is not None
    assert last.problems["pending:shop:Deployment/search"].first_seen == T1 + DAY + timedelta(seconds=5)
    assert last.last_fire == T1 + 2 * DAY
    assert len(rig.summaries()) == 3


@pytest.mark.parametrize("backend", ["redis", "memory"])
def test_a_fire_already_posted_is_not_posted_again(slack: FakeSlack, prefix: str, backend: str) -> None:
    rig = Rig(slack, prefix)
    if backend == "memory":  # no REDIS_URL: state, locks and markers in this process
        rig.cache = MemoryCache()
    assert rig.morning(1) == ["posted"]
    rig.clock.now += timedelta(seconds=30)
    # Another replica (a new Scheduler, nothing in memory) ticking later the same morning.
    assert [o.result for o in rig.scheduler(1).tick()] == ["already_posted"]
    assert len(rig.summaries()) == 1


def test_quiet_mode_skips_a_digest_when_nothing_changed(slack: FakeSlack, prefix: str) -> None:
    rig = Rig(slack, prefix, digests=[{"channel": CHANNEL, "cron": "0 9 * * *", "quiet": True}])
    assert rig.morning(1) == ["posted"]
    # Next morning, the cluster exactly as it was: nothing new, nothing resolved -> no post.
    rig.clock.now = T1 + DAY + timedelta(seconds=5)
    assert [o.result for o in rig.scheduler(1).tick()] == ["quiet"]
    assert len(rig.summaries()) == 1
    state = rig.state()
    assert (
        state is not None and state.last_fire == T1 + DAY and state.last_posted == T1 + timedelta(seconds=5)
    )
    # The morning after, things changed: posted, compared with the last digest that was posted.
    rig.clock.now = T1 + 2 * DAY + timedelta(seconds=5)
    assert [o.result for o in rig.scheduler(2).tick()] == ["posted"]
    d = rig.summaries()[1]
    assert "Since the last digest: 2026-03-02 09:00 UTC (2d ago)" in texts(d.body)
    assert len(section(d.body, "Resolved")) == 2 and len(section(d.body, "New")) == 2


# -- Slack failing -------------------------------------------------------------------------------------


def test_429_is_retried_after_retry_after_and_posted_once(slack: FakeSlack, prefix: str) -> None:
    rig = Rig(slack, prefix)
    before = metric("k8sbot_digests_posted_total", CHANNEL)
    slack.fail("chat.postMessage", status=429, times=1, retry_after=1)
    assert rig.morning(1) == ["posted"]
    limited = slack.received("chat.postMessage", status=429)
    assert len(limited) == 1
    (summary,) = rig.summaries()
    assert summary.at - limited[0].at >= 1.0  # the client waited Retry-After before asking again
    assert summary.body["blocks"] == limited[0].body["blocks"]
    assert metric("k8sbot_digests_posted_total", CHANNEL) == before + 1


def test_a_failed_post_is_retried_next_tick_and_the_state_waits(slack: FakeSlack, prefix: str) -> None:
    rig = Rig(slack, prefix)
    failures = metric("k8sbot_digest_failures_total", CHANNEL)
    slack.fail("chat.postMessage", status=500, times=1000)
    sched = rig.scheduler(1)
    rig.clock.now = T1 + timedelta(seconds=5)
    assert [o.result for o in sched.tick()] == ["failed"]
    assert rig.state() is None  # nothing advanced
    assert metric("k8sbot_digest_failures_total", CHANNEL) == failures + 1
    rig.clock.now += timedelta(seconds=15)
    assert [o.result for o in sched.tick()] == ["failed"]  # the next tick tries again
    assert metric("k8sbot_digest_failures_total", CHANNEL) == failures + 2
    assert rig.summaries() == []
    slack.recover()
    rig.clock.now += timedelta(seconds=15)
    assert [o.result for o in sched.tick()] == ["posted"]
    (summary,) = rig.summaries()
    assert len(section(summary.body, "New")) == 4  # the same digest the failed attempts tried
    assert "Since the last digest" not in texts(summary.body)
    rig.clock.now += timedelta(seconds=15)
    assert sched.tick() == []  # done for this fire
    assert len(rig.summaries()) == 1


def test_a_lock_left_by_a_dead_replica_expires_and_the_digest_is_posted(
    slack: FakeSlack, prefix: str
) -> None:
    rig = Rig(slack, prefix)
    # What a replica that died mid-post leaves: the fire's lock, no "posted" marker.
    dead = rig.cache.acquire(f"{prefix}:digest:{CHANNEL}:20260302T090000Z", 1.5)
    assert dead is not None
    sched = rig.scheduler(1)
    assert [o.result for o in sched.tick()] == ["locked"]
    assert rig.summaries() == []
    deadline = time.monotonic() + 10
    results: list[str] = []
    while time.monotonic() < deadline and results != ["posted"]:
        time.sleep(0.2)
        results = [o.result for o in sched.tick()]
    assert results == ["posted"]
    assert len(rig.summaries()) == 1


# -- schedules -----------------------------------------------------------------------------------------


def schedules(*entries: dict[str, Any], clusters: dict[str, Any] | None = None) -> list[Schedule]:
    return load_schedules(Settings(raw={"digests": list(entries)}, clusters=clusters or {}))


def test_schedule_parsing_names_the_bad_key() -> None:
    (s,) = schedules(
        {
            "channel": "C1",
            "cron": "30 8 * * 1-5",
            "timezone": "Europe/Berlin",
            "namespaces": "shop, ops",
            "grace": "90s",
        }
    )
    assert s.id == "C1" and s.namespaces == ("ops", "shop") and s.grace == timedelta(seconds=90)
    assert s.query == "digest -n ops,shop"
    bad: list[tuple[dict[str, Any], str]] = [
        ({"cron": "0 9 * * *"}, "digests[0].channel is required"),
        ({"channel": "C1", "cron": "0 9 * *"}, "digests[0].cron"),
        ({"channel": "C1", "cron": "0 9 * * * 30"}, "digests[0].cron"),
        ({"channel": "C1", "cron": "0 9 * * *", "timezone": "Mars/Olympus"}, "digests[0].timezone"),
        ({"channel": "C1", "cron": "0 9 * * *", "grace": "soon"}, "digests[0].grace"),
        ({"channel": "C1", "cron": "0 9 * * *", "lang": "fr"}, "digests[0].lang"),
        ({"channel": "C1", "cron": "0 9 * * *", "when": "now"}, "unknown key(s) when"),
    ]
    for entry, message in bad:
        with pytest.raises(SettingsError, match=re.escape(message)):
            schedules(entry)
    with pytest.raises(SettingsError, match="two digests for C1"):
        schedules({"channel": "C1", "cron": "0 9 * * *"}, {"channel": "C1", "cron": "0 17 * * *"})
    assert [
        s.id
        for s in schedules(
            {"channel": "C1", "cron": "0 9 * * *"},
            {"channel": "C1", "cron": "0 17 * * *", "name": "C1 evening"},
        )
    ] == [
        "C1",
        "C1_evening",
    ]


def test_fire_times_follow_the_schedules_time_zone_across_dst() -> None:
    (s,) = schedules({"channel": "C1", "cron": "0 9 * * *", "timezone": "Europe/Berlin"})
    assert s.timezone == ZoneInfo("Europe/Berlin")
    winter = datetime(2026, 3, 27, 12, 0, tzinfo=UTC)  # CET, UTC+1
    summer = datetime(2026, 3, 30, 12, 0, tzinfo=UTC)  # CEST, UTC+2 since 29 March
    assert s.latest_fire(winter) == datetime(2026, 3, 27, 8, 0, tzinfo=UTC)
    assert s.latest_fire(summer) == datetime(2026, 3, 30, 7, 0, tzinfo=UTC)
    # Exactly at the fire time, that fire is the latest one.
    assert s.latest_fire(datetime(2026, 3, 30, 7, 0, tzinfo=UTC)) == datetime(2026, 3, 30, 7, 0, tzinfo=UTC)


def test_a_fire_older_than_grace_is_missed_not_posted(slack: FakeSlack, prefix: str) -> None:
    rig = Rig(slack, prefix, digests=[{"channel": CHANNEL, "cron": "0 9 * * *", "grace": "10m"}])
    rig.clock.now = T1 + timedelta(minutes=11)
    assert [o.result for o in rig.scheduler(1).tick()] == ["missed"]
    rig.clock.now = T1 + timedelta(minutes=9)
    assert [o.result for o in rig.scheduler(1).tick()] == ["posted"]
    assert len(rig.summaries()) == 1


def wait_until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.05)


def test_the_background_thread_posts_when_the_clock_reaches_the_fire(slack: FakeSlack, prefix: str) -> None:
    rig = Rig(slack, prefix)
    start = T1 - timedelta(seconds=1)
    began = time.monotonic()
    rig.clock = Clock(start)
    sched = rig.scheduler(1, tick_s=0.1)
    sched.clock = lambda: start + timedelta(seconds=time.monotonic() - began)
    sched.start()
    try:
        wait_until(lambda: len(rig.summaries()) == 1)
    finally:
        sched.stop()
    assert json.dumps(rig.summaries()[0].body).count("CrashLoopBackOff") == 1


# -- the cluster unreadable; `k8s-bot digest --post` ------------------------------------------------------


def test_an_unreadable_cluster_is_said_in_the_channel_and_the_state_kept(
    slack: FakeSlack, prefix: str, fake_kube: FakeKube
) -> None:
    rig = Rig(slack, prefix)
    assert rig.morning(1) == ["posted"]
    before = rig.state()
    fake_kube.serve(FIXTURES / "digest" / "state2")
    fake_kube.fail("/api/v1/pods", 403)
    clusters = Clusters(rig.settings, kubeconfig=str(fake_kube.kubeconfig))
    rig.clock.now = T1 + DAY + timedelta(seconds=5)
    sched = Scheduler(
        load_schedules(rig.settings), clusters, rig.web, cache=rig.cache, prefix=prefix, clock=rig.clock
    )
    assert [o.result for o in sched.tick()] == ["posted"]
    told = rig.summaries()[1]
    check_message(told.body)
    assert "No digest this time" in texts(told.body) and "forbidden" in texts(told.body)
    assert rig.state() == before  # the next digest still compares with morning 1
    assert [o.result for o in rig.scheduler(3).tick()] == ["already_posted"]  # this fire is done


def test_cli_post_uses_the_channels_state(slack: FakeSlack, prefix: str, tmp_path: Path) -> None:
    config = tmp_path / "k8sbot.yaml"
    config.write_text(f"cache:\n  prefix: {prefix}\n", encoding="utf-8")
    env = clean_env(
        SLACK_BOT_TOKEN="xoxb-test",
        SLACK_API_URL=slack.api_url,
        REDIS_URL=REDIS_URL,
        K8SBOT_CONFIG=str(config),
    )
    first = run_cli("digest", "--snapshot", str(FIXTURES / "digest" / "state1"), "--post", "C0CLI", env=env)
    assert first.returncode == 0, first.stderr
    assert "New (4):" in first.stdout
    second = run_cli(
        "digest",
        "--snapshot",
        str(FIXTURES / "digest" / "state2"),
        "--post",
        "C0CLI",
        "--format",
        "json",
        env=env,
    )
    assert second.returncode == 0, second.stderr
    posted = json.loads(second.stdout)
    assert posted["channel"] == "C0CLI" and posted["ts"]
    summary = posted["summary"]
    assert section(summary, "Resolved") and section(summary, "Still ongoing") and section(summary, "New")
    calls = [c for c in slack.received("chat.postMessage") if not c.body.get("thread_ts")]
    assert [c.body["channel"] for c in calls] == ["C0CLI", "C0CLI"]
    assert calls[1].body["blocks"] == summary["blocks"]

    no_token = run_cli("digest", "--snapshot", str(FIXTURES / "digest" / "state1"), "--post", "C0CLI")
    assert no_token.returncode == 2 and "SLACK_BOT_TOKEN" in no_token.stderr

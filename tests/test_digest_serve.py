"""Scheduled digests in `k8s-bot serve` processes (HTTP mode, free ports), sharing the REAL Redis under a
private key prefix, posting to the fake Slack Web API: three replicas post each fire exactly once, and a
fire missed while the bot was down is posted once on start within `grace`, and not outside it.

Each process's clock starts at K8SBOT_FAKE_NOW and runs at normal speed, so a test starts the bots a
few seconds before a fire. Tests wait for what every process logged about the fire (posted or
already posted) before counting what the fake Slack received: no sleeps standing in for assertions.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.conftest import FIXTURES
from tests.fakes.slack_api import BotServer, Call, FakeSlack, check_message

REDIS_URL = "redis://127.0.0.1:6379/0"
CHANNEL = "C0DIGEST"
SNAPSHOT = str(FIXTURES / "digest" / "state1")
FIRE = "2026-03-02T09:00:00Z"


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


def bot(slack: FakeSlack, workdir: Path, prefix: str, fake_now: str, **digest: Any) -> BotServer:
    workdir.mkdir(parents=True, exist_ok=True)
    config = {
        "cache": {"prefix": prefix},
        "digest_tick": 0.25,
        "digests": [{"channel": CHANNEL, "cron": "* * * * *", **digest}],
    }
    return BotServer(
        slack,
        workdir,
        config=config,
        env={"REDIS_URL": REDIS_URL, "K8SBOT_FAKE_NOW": fake_now},
        args=("--snapshot", SNAPSHOT),
    )


def events(server: BotServer) -> list[dict[str, Any]]:
    out = []
    for line in server.log().splitlines():
        if line.startswith("{"):
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
    return out


def outcome(server: BotServer, fire: str) -> str | None:
    """What this process finally did about `fire`: posted, already_posted, or None (not yet)."""
    for e in events(server):
        if e.get("fire") == fire and e.get("event") in ("digest.posted", "digest.already_posted"):
            return str(e["event"])
    return None


def wait_for(what: str, check: Any, timeout: float = 45.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def summaries(slack: FakeSlack) -> list[Call]:
    return [
        c
        for c in slack.received("chat.postMessage", status=200)
        if c.body.get("channel") == CHANNEL and not c.body.get("thread_ts")
    ]


def digests_posted(server: BotServer) -> float:
    with urllib.request.urlopen(f"{server.url}/metrics", timeout=10) as resp:
        body = resp.read().decode()
    for line in body.splitlines():
        if line.startswith(f'k8sbot_digests_posted_total{{channel="{CHANNEL}"}}'):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def test_three_replicas_post_each_fire_exactly_once(slack: FakeSlack, prefix: str, tmp_path: Path) -> None:
    # 4 s before 09:00; grace 30 s, so 08:59 (57 s old at start) is missed rather than caught up.
    servers = [bot(slack, tmp_path / f"r{i}", prefix, "2026-03-02T08:59:56Z", grace="30s") for i in range(3)]
    threads = [threading.Thread(target=s.start) for s in servers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        for s in servers:
            assert s.proc is not None and s.proc.poll() is None, s.log()
        wait_for("every replica to settle the 09:00 fire", lambda: all(outcome(s, FIRE) for s in servers))
        done = [outcome(s, FIRE) for s in servers]
        assert sorted(done) == ["digest.already_posted", "digest.already_posted", "digest.posted"], done
        (summary,) = summaries(slack)
        check_message(summary.body)
        assert "*New (4)*" in json.dumps(summary.body)
        poster = next(s for s in servers if outcome(s, FIRE) == "digest.posted")
        (posted,) = [e for e in events(poster) if e.get("event") == "digest.posted"]
        thread = [c for c in slack.received("chat.postMessage") if c.body.get("thread_ts")]
        assert thread and {c.body["thread_ts"] for c in thread} == {posted["ts"]}
        assert sum(digests_posted(s) for s in servers) == 1
        # The 08:59 fire was too old when they started: logged as missed by each, posted by none.
        for s in servers:
            assert any(
                e.get("event") == "digest.missed" and e.get("fire") == "2026-03-02T08:59:00Z"
                for e in events(s)
            )
    finally:
        for s in servers:
            s.stop()


def test_restart_catch_up_within_grace_once_and_not_outside(
    slack: FakeSlack, prefix: str, tmp_path: Path
) -> None:
    # Down at 09:00, back at 09:06: within the default 15 minutes, posted once on start.
    first = bot(slack, tmp_path / "a", prefix, "2026-03-02T09:06:10Z", cron="0 9 * * *")
    with first:
        wait_for("the catch-up post", lambda: outcome(first, FIRE) is not None)
        assert outcome(first, FIRE) == "digest.posted"
    assert len(summaries(slack)) == 1
    # Restarted again a minute later: the fire is still within grace, but it was posted.
    second = bot(slack, tmp_path / "b", prefix, "2026-03-02T09:07:10Z", cron="0 9 * * *")
    with second:
        wait_for("the second start to see the fire", lambda: outcome(second, FIRE) is not None)
        assert outcome(second, FIRE) == "digest.already_posted"
    assert len(summaries(slack)) == 1

    # Another channel's bot, down at 09:00 and back at 09:20: outside the grace, not posted.
    late = bot(slack, tmp_path / "c", f"{prefix}:late", "2026-03-02T09:20:00Z", cron="0 9 * * *")
    with late:
        wait_for(
            "the missed fire to be logged",
            lambda: any(e.get("event") == "digest.missed" and e.get("fire") == FIRE for e in events(late)),
        )
    assert len(summaries(slack)) == 1

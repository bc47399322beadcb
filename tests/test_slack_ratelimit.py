"""The per-user rate limit: in process (sliding window) and in a real Redis (shared by replicas)."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config import Settings, SettingsError
from bot.ratelimit import MemoryLimiter, RateLimitConfig, RedisLimiter, limiter
from tests.fakes.slack_api import free_port


def test_memory_limiter_slides_its_window() -> None:
    now = [1000.0]
    lim = MemoryLimiter(RateLimitConfig(questions=2, per_seconds=60), clock=lambda: now[0])
    assert lim.check("T:U").allowed
    now[0] += 10
    assert lim.check("T:U").allowed
    refused = lim.check("T:U")
    assert not refused.allowed and refused.retry_after == 50  # the first question leaves at t=1060
    assert lim.check("T:OTHER").allowed
    now[0] += 50
    assert lim.check("T:U").allowed


def test_zero_questions_means_no_limit() -> None:
    lim = MemoryLimiter(RateLimitConfig(questions=0))
    assert all(lim.check("T:U").allowed for _ in range(100))


def test_bad_rate_limit_settings_fail_at_start_naming_the_key(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("slack:\n  rate_limit:\n    questions: lots\n", encoding="utf-8")
    with pytest.raises(
        SettingsError, match=r"slack.rate_limit: questions and per_seconds must be whole numbers"
    ):
        limiter(Settings.from_env({"K8SBOT_CONFIG": str(cfg)}))


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    server = shutil.which("redis-server")
    if server is None:
        pytest.skip("redis-server is not installed")
    port = free_port()
    proc = subprocess.Popen(
        [
            server,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        import redis

        client = redis.Redis(port=port)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(10)


def test_redis_limiter_is_shared_by_every_process(redis_url: str) -> None:
    config = RateLimitConfig(questions=2, per_seconds=3600)
    one = RedisLimiter(config, redis_url, prefix=f"test-{free_port()}", timeout=1.0)
    two = RedisLimiter(config, redis_url, prefix=one._prefix, timeout=1.0)
    assert one.check("T:U").allowed
    assert two.check("T:U").allowed
    refused = one.check("T:U")
    assert not refused.allowed and 0 < refused.retry_after <= 3600
    assert two.check("T:OTHER").allowed


def test_redis_down_lets_questions_through() -> None:
    lim = RedisLimiter(
        RateLimitConfig(questions=1), f"redis://127.0.0.1:{free_port()}/0", prefix="x", timeout=0.2
    )
    assert lim.check("T:U").allowed
    assert lim.check("T:U").allowed

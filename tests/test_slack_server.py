"""`k8s-bot serve` as a process: the per-user rate limit, SIGTERM with an answer in flight, start-up
errors. Each test runs its own server (its own config)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.slack_api import BOT_TOKEN, BotServer, FakeSlack, check_message, texts

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


def at(tag: str) -> object:
    return lambda c: c.path == f"/response/{tag}"


def test_a_user_over_the_rate_limit_gets_a_polite_answer_and_nothing_runs(
    slack: FakeSlack, tmp_path: Path
) -> None:
    config = {"slack": {"rate_limit": {"questions": 2, "per_seconds": 3600}}}
    with BotServer(slack, tmp_path, config=config) as bot:
        for i in range(2):
            assert (
                bot.command("help", slack.response_url(f"ok-{i}"), user="U0EAGER")
                .json()["text"]
                .startswith("Looking into")
            )
        third = bot.command("help", slack.response_url("over"), user="U0EAGER")
        assert third.status == 200
        text = third.json()["text"]
        assert text.startswith("That is more than 2 questions in 3600 seconds, the limit here.")
        assert "Please ask again in" in text
        # Someone else is not limited by it; once their answer is in, the refused one would be too.
        bot.command("help", slack.response_url("other"), user="U0CALM")
        slack.wait_for("response_url", where=at("other"))  # type: ignore[arg-type]
        slack.wait_for("response_url", 2, where=lambda c: c.path.startswith("/response/ok-"))
        assert not [c for c in slack.received("response_url") if c.path == "/response/over"]
        metrics = bot.get("/metrics").body
        assert 'k8sbot_commands_total{outcome="rate_limited",verb="help"} 1.0' in metrics


def test_sigterm_lets_the_answer_in_flight_arrive_then_exits_0(slack: FakeSlack, tmp_path: Path) -> None:
    slack.delay("response_url", 2.0)  # the answer's POST is still on the wire when SIGTERM comes
    bot = BotServer(slack, tmp_path).start()
    try:
        assert bot.command("help", slack.response_url("inflight")).status == 200
        slack.wait_arrival("response_url")
        assert not slack.received("response_url")  # in flight, not answered yet
    finally:
        status = bot.stop()
    assert status == 0, bot.log()
    (call,) = slack.received("response_url")
    assert call.status == 200 and call.path == "/response/inflight"
    check_message(call.body)
    log = bot.log()
    assert log.index('"event":"server.draining"') < log.index('"event":"server.drained"')


def _serve(env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "serve", "--http", "--port", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_serve_without_a_signing_secret_exits_2_naming_it(slack: FakeSlack, tmp_path: Path) -> None:
    env = dict(BotServer(slack, tmp_path).env)
    del env["SLACK_SIGNING_SECRET"]
    run = _serve(env, tmp_path)
    assert run.returncode == 2
    assert "SLACK_SIGNING_SECRET is not set" in run.stderr
    assert not slack.received()


def test_serve_with_a_token_slack_rejects_exits_1(tmp_path: Path) -> None:
    with FakeSlack(token="xoxb-the-right-one") as slack:
        env = BotServer(slack, tmp_path).env
        run = _serve(env, tmp_path)
    assert run.returncode == 1
    assert "Slack rejected SLACK_BOT_TOKEN (auth.test: invalid_auth)" in run.stderr
    assert BOT_TOKEN not in run.stderr + run.stdout


def test_serve_with_a_bad_channel_binding_exits_2_naming_the_key(slack: FakeSlack, tmp_path: Path) -> None:
    config = {
        "clusters": {"prod": {"snapshot": "tests/fixtures/slack"}},
        "channels": {"C1": {"cluster": "prdo"}},
    }
    env = BotServer(slack, tmp_path, config=config).env
    run = _serve(env, tmp_path)
    assert run.returncode == 2
    assert "channels.C1.cluster 'prdo' is not under `clusters` (have: prod)" in run.stderr


def test_serve_socket_needs_the_app_token(slack: FakeSlack, tmp_path: Path) -> None:
    env = BotServer(slack, tmp_path).env
    run = subprocess.run(
        [sys.executable, "-m", "bot", "serve", "--socket"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 2
    assert "SLACK_APP_TOKEN is not set" in run.stderr


def test_serve_with_a_snapshot_answers_from_it(slack: FakeSlack, tmp_path: Path) -> None:
    snapshot = str(ROOT / "tests" / "fixtures" / "slack" / "cluster.yaml")
    with BotServer(slack, tmp_path, args=("--snapshot", snapshot)) as bot:
        value = '{"q":"why es-0","ns":"logging","pod":"es-0"}'
        bot.click("k8s_events", value, slack.response_url("snap"))
        (call,) = slack.wait_for("response_url", where=at("snap"))  # type: ignore[arg-type]
    assert "BackOff: Back-off restarting failed container elasticsearch" in texts(call.body)


def test_serve_socket_with_a_token_slack_refuses_exits_1(slack: FakeSlack, tmp_path: Path) -> None:
    env = {**BotServer(slack, tmp_path).env, "SLACK_APP_TOKEN": "xapp-1-A0FAKEAPP-1-revoked"}
    run = subprocess.run(
        [sys.executable, "-m", "bot", "serve", "--socket"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 1, run.stderr
    assert "Slack rejected SLACK_APP_TOKEN (invalid_auth)" in run.stderr
    assert [c.method for c in slack.received()] == ["auth.test", "auth.test", "apps.connections.open"]

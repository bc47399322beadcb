"""The Slack app end to end: `k8s-bot serve --http` as a subprocess, a fake Slack Web API over HTTP,
requests signed as Slack signs them. Nothing of ours is mocked."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.slack_api import (
    BotServer,
    Call,
    FakeSlack,
    check_message,
    texts,
)

ROOT = Path(__file__).resolve().parent.parent
CLUSTER = ROOT / "tests" / "fixtures" / "slack" / "cluster.yaml"

#: Channel C0LOGGING is bound to prod/logging; Ann may read logging only, Carol everything through
#: the SRE user group, Bob nothing.
CONFIG: dict[str, Any] = {
    "clusters": {"prod": {"snapshot": str(CLUSTER)}},
    "slack": {"rate_limit": {"questions": 1000, "per_seconds": 60}},
    "channels": {"C0LOGGING": {"cluster": "prod", "namespace": "logging", "allowed_namespaces": ["logging"]}},
    "permissions": [
        {"cluster": "prod", "namespaces": ["logging"], "users": ["U0ANN"]},
        {"cluster": "prod", "user_groups": ["S0SRE"]},
    ],
}


@pytest.fixture(scope="module")
def slack() -> Iterator[FakeSlack]:
    with FakeSlack(token=None, usergroups={"S0SRE": ["U0CAROL", "U0DAVE"]}) as fake:
        yield fake


@pytest.fixture(scope="module")
def bot(slack: FakeSlack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotServer]:
    with BotServer(slack, tmp_path_factory.mktemp("bot"), config=CONFIG) as server:
        yield server


def at(tag: str) -> Any:
    """Matcher for calls to the response_url built with `tag`."""
    return lambda c: c.path == f"/response/{tag}"


def answer_at(slack: FakeSlack, tag: str, count: int = 1) -> list[dict[str, Any]]:
    return [c.body for c in slack.wait_for("response_url", count, where=at(tag))]


def button_values(body: dict[str, Any]) -> dict[str, str]:
    return {b["action_id"]: b["value"] for b in check_message(body)}


def quiet_after(slack: FakeSlack, bot: BotServer, tag: str) -> None:
    """Let a sentinel question be answered: anything sent before it has been handled by now."""
    sentinel = f"sentinel-{tag}"
    bot.command("help", slack.response_url(sentinel), user="U0SENTINEL")
    slack.wait_for("response_url", where=at(sentinel))


# -- the slash command ------------------------------------------------------------------------------


def test_command_is_acked_with_the_question_and_answered_ephemerally(
    bot: BotServer, slack: FakeSlack
) -> None:
    reply = bot.command("help", slack.response_url("help-1"))
    assert reply.status == 200
    assert reply.json() == {"text": "Looking into `help`…", "response_type": "ephemeral"}
    (body,) = answer_at(slack, "help-1")
    assert body["response_type"] == "ephemeral"
    assert body["replace_original"] is False
    assert "why <pod> [-n NS]" in texts(body)
    assert set(button_values(body)) == {"k8s_share", "k8s_refresh"}


def test_share_reposts_in_the_channel_naming_who_asked(bot: BotServer, slack: FakeSlack) -> None:
    bot.command("help", slack.response_url("share-q"), user="U0ANN")
    (private,) = answer_at(slack, "share-q")
    value = button_values(private)["k8s_share"]

    assert bot.click("k8s_share", value, slack.response_url("share-click"), user="U0ANN").status == 200
    public, cleanup = answer_at(slack, "share-click", 2)
    assert public["response_type"] == "in_channel"
    assert public["replace_original"] is False
    buttons = button_values(public)
    assert "k8s_share" not in buttons and "k8s_refresh" in buttons
    assert public["blocks"][0]["elements"][0]["text"] == "<@U0ANN> asked `help`"
    assert public["blocks"][1:-1] == private["blocks"][:-1]  # the same answer, not a new one
    assert cleanup == {"delete_original": True}


def test_refresh_runs_the_question_again_and_replaces_the_message(bot: BotServer, slack: FakeSlack) -> None:
    before = _counter(bot, 'k8sbot_commands_total{outcome="answered",verb="help"}')
    bot.command("help", slack.response_url("refresh-q"))
    (first,) = answer_at(slack, "refresh-q")
    value = button_values(first)["k8s_refresh"]

    bot.click("k8s_refresh", value, slack.response_url("refresh-click"))
    (again,) = answer_at(slack, "refresh-click")
    assert again["replace_original"] is True
    assert again["response_type"] == "ephemeral"
    assert texts(again) == texts(first)
    assert set(button_values(again)) == {"k8s_share", "k8s_refresh"}
    assert _counter(bot, 'k8sbot_commands_total{outcome="answered",verb="help"}') == before + 2


def test_a_refresh_in_a_shared_message_keeps_it_public_and_keeps_who_asked(
    bot: BotServer, slack: FakeSlack
) -> None:
    value = json.dumps({"q": "help", "s": "U0ANN"})
    bot.click("k8s_refresh", value, slack.response_url("refresh-public"), user="U0DAVE", ephemeral=False)
    (body,) = answer_at(slack, "refresh-public")
    assert body["response_type"] == "in_channel"
    assert body["replace_original"] is True
    assert body["blocks"][0]["elements"][0]["text"] == "<@U0ANN> asked `help`"
    assert "k8s_share" not in button_values(body)


def test_logs_button_shows_the_previous_log_tail_with_secrets_masked(
    bot: BotServer, slack: FakeSlack
) -> None:
    value = json.dumps({"q": "why es-0", "ns": "logging", "pod": "es-0"})
    bot.click("k8s_logs", value, slack.response_url("logs"), user="U0ANN", channel="C0LOGGING")
    (body,) = answer_at(slack, "logs")
    check_message(body)
    seen = texts(body)
    assert body["response_type"] == "ephemeral"
    assert "`elasticsearch` (previous instance" in seen
    assert "heap usage 97%, GC overhead limit approaching" in seen
    assert "ELASTIC_PASSWORD=***" in seen
    for secret in ("Zr8!qLmw2Tz", "eyJhbGciOiJSUzI1NiJ9", "xoxb-2222222222", "AbCdEfGhIjKlMnOpQrStUvWx"):
        assert secret not in json.dumps(body)


def test_events_button_lists_the_pods_events_oldest_first(bot: BotServer, slack: FakeSlack) -> None:
    value = json.dumps({"q": "why es-0", "ns": "logging", "pod": "es-0"})
    bot.click("k8s_events", value, slack.response_url("events"), user="U0ANN", channel="C0LOGGING")
    (body,) = answer_at(slack, "events")
    check_message(body)
    seen = texts(body)
    assert "Normal  Scheduled: Successfully assigned logging/es-0 to node-a (x1)" in seen
    assert (
        "0s  Warning  BackOff: Back-off restarting failed container elasticsearch in pod "
        "es-0_logging(3c5e7a9b-1d2f-4a6c-8e0b-2f4a6c8e0b1d) (x29)" in seen
    )
    assert seen.index("Scheduled") < seen.index("Pulled") < seen.index("BackOff")


def test_a_why_answer_about_a_pod_carries_logs_and_events_buttons_that_work(
    bot: BotServer, slack: FakeSlack
) -> None:
    bot.command("why es-0", slack.response_url("why"), user="U0ANN", channel="C0LOGGING")
    (body,) = answer_at(slack, "why")
    assert "es-0" in texts(body) and "OOMKilled" in texts(body)
    assert "Zr8!qLmw2Tz" not in json.dumps(body)
    values = button_values(body)
    assert list(values) == ["k8s_share", "k8s_refresh", "k8s_logs", "k8s_events"]
    assert json.loads(values["k8s_logs"]) == {"q": "why es-0", "ns": "logging", "pod": "es-0"}

    bot.click(
        "k8s_logs", values["k8s_logs"], slack.response_url("why-logs"), user="U0ANN", channel="C0LOGGING"
    )
    (logs,) = answer_at(slack, "why-logs")
    assert "heap usage 97%" in texts(logs)
    assert "Zr8!qLmw2Tz" not in json.dumps(logs)


def test_without_n_the_lookup_stays_inside_what_the_asker_may_read(bot: BotServer, slack: FakeSlack) -> None:
    bot.command("why coredns-5d78c9869d-7xw2p", slack.response_url("fence"), user="U0ANN")
    (body,) = answer_at(slack, "fence")
    check_message(body)
    assert "named `coredns-5d78c9869d-7xw2p` in default, all namespaces." in texts(body)
    assert "kube-system" not in json.dumps(body)


def test_logs_of_a_pod_that_is_gone_say_so(bot: BotServer, slack: FakeSlack) -> None:
    value = json.dumps({"q": "why es-1", "ns": "logging", "pod": "es-1"})
    bot.click("k8s_logs", value, slack.response_url("logs-gone"), user="U0ANN", channel="C0LOGGING")
    (body,) = answer_at(slack, "logs-gone")
    check_message(body)
    assert "No pod named `es-1` in logging." in texts(body)


# -- access -------------------------------------------------------------------------------------------


def test_a_user_without_a_grant_is_refused_naming_the_cluster_only(bot: BotServer, slack: FakeSlack) -> None:
    bot.command("why es-0 -n logging", slack.response_url("refuse-user"), user="U0BOB")
    (body,) = answer_at(slack, "refuse-user")
    check_message(body)
    assert texts(body).startswith("You are not allowed to ask about cluster `prod`.")
    assert "es-0" not in json.dumps(body["blocks"])
    assert "actions" not in {b["type"] for b in body["blocks"]}


def test_a_namespace_outside_the_channel_is_refused_naming_what_is_allowed(
    bot: BotServer, slack: FakeSlack
) -> None:
    query = "why coredns-5d78c9869d-7xw2p -n kube-system"
    bot.command(query, slack.response_url("refuse-ns"), user="U0CAROL", channel="C0LOGGING")
    (body,) = answer_at(slack, "refuse-ns")
    seen = texts(body)
    assert "Namespace `kube-system` is outside what you may ask about here." in seen
    assert "On cluster `prod` you may ask about: `logging`." in seen
    assert "coredns" not in json.dumps(body)


def test_another_cluster_in_a_bound_channel_is_refused(bot: BotServer, slack: FakeSlack) -> None:
    bot.command(
        "why es-0 --cluster staging", slack.response_url("refuse-cl"), user="U0ANN", channel="C0LOGGING"
    )
    (body,) = answer_at(slack, "refuse-cl")
    assert "This channel is bound to cluster `prod`" in texts(body)


def test_the_logs_button_checks_the_clicker_too(bot: BotServer, slack: FakeSlack) -> None:
    value = json.dumps(
        {"q": "why coredns-5d78c9869d-7xw2p", "ns": "kube-system", "pod": "coredns-5d78c9869d-7xw2p"}
    )
    bot.click("k8s_logs", value, slack.response_url("refuse-logs"), user="U0ANN")
    (body,) = answer_at(slack, "refuse-logs")
    assert "Namespace `kube-system` is outside" in texts(body)
    assert "coredns" not in json.dumps(body["blocks"])


def test_user_group_members_are_granted_through_the_group(bot: BotServer, slack: FakeSlack) -> None:
    bot.command("why es-0 -n logging", slack.response_url("group"), user="U0CAROL")
    (body,) = answer_at(slack, "group")
    check_message(body)
    assert "not allowed" not in texts(body)
    assert any(c.body.get("usergroup") == "S0SRE" for c in slack.received("usergroups.users.list"))


def test_an_unknown_workspace_is_refused_in_the_ack_and_nothing_runs(
    bot: BotServer, slack: FakeSlack
) -> None:
    reply = bot.command("help", slack.response_url("team"), team="T0STRANGER")
    assert reply.status == 200
    assert reply.json()["text"].startswith("This workspace (`T0STRANGER`) is not one k8s-bot answers.")
    quiet_after(slack, bot, "team")
    assert slack.received("response_url") and not [c for c in slack.received("response_url") if at("team")(c)]


# -- request signatures ----------------------------------------------------------------------------


def test_a_bad_signature_is_401_and_nothing_runs(bot: BotServer, slack: FakeSlack) -> None:
    from tests.fakes.slack_api import FORM, slash_command

    reply = bot.post_signed(
        slash_command("help", slack.response_url("forged")), content_type=FORM, secret="wrong"
    )
    assert reply.status == 401
    quiet_after(slack, bot, "forged")
    assert not [c for c in slack.received("response_url") if at("forged")(c)]


def test_a_timestamp_older_than_five_minutes_is_401_and_nothing_runs(
    bot: BotServer, slack: FakeSlack
) -> None:
    from tests.fakes.slack_api import FORM, slash_command

    body = slash_command("help", slack.response_url("replayed"))
    reply = bot.post_signed(body, content_type=FORM, timestamp=int(time.time()) - 301)
    assert reply.status == 401
    quiet_after(slack, bot, "replayed")
    assert not [c for c in slack.received("response_url") if at("replayed")(c)]


def test_the_events_api_url_verification_challenge_is_answered(bot: BotServer) -> None:
    challenge = "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"
    body = json.dumps({"token": "x", "challenge": challenge, "type": "url_verification"})
    reply = bot.post_signed(body, content_type="application/json")
    assert reply.status == 200
    assert reply.json() == {"challenge": challenge}


# -- mentions -----------------------------------------------------------------------------------------


def _posted(slack: FakeSlack, method: str, ts: str, count: int = 1) -> list[Call]:
    return slack.wait_for(method, count, where=lambda c: c.body.get("thread_ts") == ts)


def test_a_mention_is_answered_in_a_thread(bot: BotServer, slack: FakeSlack) -> None:
    assert bot.mention("help", ts="1718100001.000100", channel="C0OPS").status == 200
    (call,) = _posted(slack, "chat.postMessage", "1718100001.000100")
    assert call.body["channel"] == "C0OPS"
    assert call.headers["authorization"] == f"Bearer {bot.env['SLACK_BOT_TOKEN']}"
    buttons = check_message(call.body)
    assert [b["action_id"] for b in buttons] == ["k8s_refresh"]
    assert "why <pod> [-n NS]" in texts(call.body)


def test_a_mention_inside_a_thread_answers_in_that_thread(bot: BotServer, slack: FakeSlack) -> None:
    bot.mention("help", ts="1718100002.000300", thread_ts="1718100002.000100")
    (call,) = _posted(slack, "chat.postMessage", "1718100002.000100")
    check_message(call.body)


def test_a_refused_mention_is_told_privately(bot: BotServer, slack: FakeSlack) -> None:
    bot.mention("why es-0 -n logging", user="U0BOB", ts="1718100003.000100")
    (call,) = _posted(slack, "chat.postEphemeral", "1718100003.000100")
    assert call.body["user"] == "U0BOB"
    assert "You are not allowed to ask about cluster `prod`." in texts(call.body)
    assert not [
        c for c in slack.received("chat.postMessage") if c.body.get("thread_ts") == "1718100003.000100"
    ]


def test_a_redelivered_event_is_answered_once(bot: BotServer, slack: FakeSlack) -> None:
    for _ in range(2):
        bot.mention("help", ts="1718100004.000100", event_id="Ev0REDELIVERED")
    bot.mention("help", ts="1718100004.000999", event_id="Ev0SENTINEL")
    _posted(slack, "chat.postMessage", "1718100004.000999")
    assert len(_posted(slack, "chat.postMessage", "1718100004.000100")) == 1


# -- retries ----------------------------------------------------------------------------------------


def test_chat_post_message_429_is_retried_after_retry_after(bot: BotServer, slack: FakeSlack) -> None:
    slack.fail(
        "chat.postMessage",
        status=429,
        retry_after=1,
        match=lambda _, b: b.get("thread_ts") == "1718100005.000100",
    )
    bot.mention("help", ts="1718100005.000100")
    (ok,) = _posted(slack, "chat.postMessage", "1718100005.000100")
    limited = [
        c
        for c in slack.received("chat.postMessage", status=429)
        if c.body.get("thread_ts") == ok.body["thread_ts"]
    ]
    assert len(limited) == 1
    assert limited[0].body == ok.body
    assert ok.at - limited[0].at >= 1.0  # waited the Retry-After the server asked for


def test_chat_post_message_500_is_retried(bot: BotServer, slack: FakeSlack) -> None:
    slack.fail("chat.postMessage", status=500, match=lambda _, b: b.get("thread_ts") == "1718100006.000100")
    bot.mention("help", ts="1718100006.000100")
    (ok,) = _posted(slack, "chat.postMessage", "1718100006.000100")
    assert [
        c.status for c in slack.received("chat.postMessage") if c.body.get("thread_ts") == "1718100006.000100"
    ] == [
        500,
        200,
    ]
    check_message(ok.body)


def test_response_url_429_is_retried_after_retry_after(bot: BotServer, slack: FakeSlack) -> None:
    slack.fail("response_url", status=429, retry_after=1, match=lambda path, _: path == "/response/rl-429")
    bot.command("help", slack.response_url("rl-429"))
    (body,) = answer_at(slack, "rl-429")
    calls = [c for c in slack.received("response_url") if at("rl-429")(c)]
    assert [c.status for c in calls] == [429, 200]
    assert calls[1].at - calls[0].at >= 1.0
    check_message(body)


# -- the server ---------------------------------------------------------------------------------------


def test_healthz_and_metrics(bot: BotServer, slack: FakeSlack) -> None:
    bot.command("help", slack.response_url("metrics"))
    answer_at(slack, "metrics")
    health = bot.get("/healthz")
    assert (health.status, health.body) == (200, "ok\n")
    metrics = bot.get("/metrics")
    assert metrics.status == 200
    assert metrics.headers["Content-Type"].startswith("text/plain; version=")  # Prometheus text format
    assert _counter(bot, 'k8sbot_commands_total{outcome="answered",verb="help"}') >= 1
    for name in ("k8sbot_command_duration_seconds_bucket", "k8sbot_slack_posts_total"):
        assert name in metrics.body


def test_other_paths_and_methods(bot: BotServer) -> None:
    assert bot.get("/slack/events").status == 405
    assert bot.get("/nope").status == 404


def _counter(bot: BotServer, series: str) -> float:
    for line in bot.get("/metrics").body.splitlines():
        if line.startswith(series + " "):
            return float(line.split()[-1])
    return 0.0

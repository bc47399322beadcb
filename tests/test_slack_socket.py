"""Socket Mode wiring: the handler serves the same Bolt app (same listeners) as HTTP mode. No
WebSocket is opened; envelopes are fed the way the handler feeds them (`run_bolt_app`)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from slack_bolt.adapter.socket_mode.internals import run_bolt_app
from slack_sdk.socket_mode.request import SocketModeRequest

from bot.clusters import Clusters
from bot.config import Settings
from bot.server import socket_mode_handler
from bot.slack_app import SlackBot
from tests.fakes.slack_api import BOT_TOKEN, FakeSlack, check_message, texts

ROOT = Path(__file__).resolve().parent.parent
CLUSTER = ROOT / "tests" / "fixtures" / "slack" / "cluster.yaml"


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def bot(slack: FakeSlack) -> Iterator[SlackBot]:
    settings = Settings.from_env(
        {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_APP_TOKEN": "xapp-1-A0FAKEAPP-1-abc",
            "SLACK_API_URL": slack.api_url,
        }
    )
    bot = SlackBot(settings, Clusters(settings, snapshot=[str(CLUSTER)]))
    yield bot
    bot.executor.shutdown(wait=True)


def test_the_handler_serves_the_same_app_through_our_web_client(bot: SlackBot) -> None:
    handler = socket_mode_handler(bot, "xapp-1-A0FAKEAPP-1-abc")
    try:
        assert handler.app is bot.app
        assert handler.client.web_client is bot.web  # SLACK_API_URL and the 429/5xx retry handlers
        assert handler.client.socket_mode_request_listeners == [handler.handle]
    finally:
        handler.close()


def test_a_slash_command_envelope_is_acked_and_answered_by_the_lazy_listener(
    bot: SlackBot, slack: FakeSlack
) -> None:
    handler = socket_mode_handler(bot, "xapp-1-A0FAKEAPP-1-abc")
    try:
        envelope = SocketModeRequest(
            type="slash_commands",
            envelope_id="57d6a792-4d35-4d0b-b6aa-3361493e1caf",
            payload={
                "team_id": "T0FAKE",
                "channel_id": "C0OPS",
                "user_id": "U0ANN",
                "command": "/k8s",
                "text": "help",
                "response_url": slack.response_url("socket"),
            },
            accepts_response_payload=True,
        )
        ack = run_bolt_app(handler.app, envelope)
        assert ack.status == 200
        assert json.loads(ack.body) == {"text": "Looking into `help`…", "response_type": "ephemeral"}
        (call,) = slack.wait_for("response_url")
        check_message(call.body)
        assert "why <pod> [-n NS]" in texts(call.body)
    finally:
        handler.close()


def test_button_and_mention_envelopes_reach_their_listeners(bot: SlackBot, slack: FakeSlack) -> None:
    handler = socket_mode_handler(bot, "xapp-1-A0FAKEAPP-1-abc")
    try:
        click = SocketModeRequest(
            type="interactive",
            envelope_id="e1",
            payload={
                "type": "block_actions",
                "user": {"id": "U0ANN", "team_id": "T0FAKE"},
                "team": {"id": "T0FAKE"},
                "channel": {"id": "C0OPS"},
                "container": {"type": "message", "is_ephemeral": True, "channel_id": "C0OPS"},
                "response_url": slack.response_url("socket-click"),
                "actions": [
                    {
                        "action_id": "k8s_events",
                        "type": "button",
                        "value": '{"q":"x","ns":"logging","pod":"es-0"}',
                    }
                ],
            },
        )
        assert run_bolt_app(handler.app, click).status == 200
        mention = SocketModeRequest(
            type="events_api",
            envelope_id="e2",
            payload={
                "team_id": "T0FAKE",
                "type": "event_callback",
                "event_id": "Ev0SOCKET",
                "event": {
                    "type": "app_mention",
                    "user": "U0ANN",
                    "text": "<@UBOT> help",
                    "ts": "1718100000.000100",
                    "channel": "C0OPS",
                },
            },
        )
        assert run_bolt_app(handler.app, mention).status == 200
        (events,) = slack.wait_for("response_url")
        assert "Events of `logging/es-0`" in texts(events.body)
        (posted,) = slack.wait_for("chat.postMessage")
        assert posted.body["thread_ts"] == "1718100000.000100"
    finally:
        handler.close()

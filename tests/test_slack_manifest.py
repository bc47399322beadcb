"""deploy/slack-app-manifest.yaml declares what the app listens to and needs, and nothing else."""

from __future__ import annotations

from pathlib import Path

import yaml

from bot.slack_app import COMMAND

MANIFEST = Path(__file__).resolve().parent.parent / "deploy" / "slack-app-manifest.yaml"


def test_the_manifest_matches_the_app() -> None:
    m = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    (command,) = m["features"]["slash_commands"]
    assert command["command"] == COMMAND
    assert command["should_escape"] is False
    assert command["usage_hint"].startswith("why es-0 -n logging")
    assert set(m["oauth_config"]["scopes"]["bot"]) == {
        "commands",
        "chat:write",
        "chat:write.public",
        "app_mentions:read",
        "usergroups:read",
    }
    settings = m["settings"]
    assert settings["event_subscriptions"]["bot_events"] == ["app_mention"]
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["socket_mode_enabled"] is False
    urls = {
        command["url"],
        settings["event_subscriptions"]["request_url"],
        settings["interactivity"]["request_url"],
    }
    assert len(urls) == 1 and urls.pop().endswith("/slack/events")

"""Every `why` answer as Block Kit: valid blocks (slack_sdk's models) within Slack's limits (FACTS.md §11),
for every case in tests/fixtures/why/ and the example snapshot's demo questions."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from bot.clusters import Clusters
from bot.config import Settings
from bot.dispatch import ask
from bot.render import MAX_BLOCKS, MAX_SECTION_TEXT, to_slack, validate_block
from tests.conftest import EXAMPLE, FIXTURES, run_cli

WHY = FIXTURES / "why"
EXPECTED: dict[str, dict[str, Any]] = yaml.safe_load((WHY / "EXPECTED.yaml").read_text(encoding="utf-8"))

_QUESTIONS = [(str(WHY / e["file"]), f"why {e['pod']} -n {e['namespace']}") for e in EXPECTED.values()] + [
    (str(EXAMPLE), q)
    for q in (
        "why es-2 -n logging",
        "why deploy/web -n shop",
        "why cart -n shop",
        "why sts/es -n logging",
        "why recommender-75c97d6476-c5d6k -n shop",
    )
]


def _check_messages(messages: list[dict[str, Any]]) -> None:
    assert messages
    for msg in messages:
        assert msg["text"].strip(), "no notification fallback text"
        assert len(msg["blocks"]) <= MAX_BLOCKS
        for block in msg["blocks"]:
            validate_block(block)
            if block["type"] == "section":
                assert len(block["text"]["text"]) <= MAX_SECTION_TEXT
            if block["type"] == "context":
                assert all(len(el["text"]) <= 2000 for el in block["elements"])


@pytest.mark.parametrize(("snapshot", "query"), _QUESTIONS, ids=[q for _, q in _QUESTIONS])
def test_block_kit_answers_are_valid_and_within_limits(snapshot: str, query: str) -> None:
    clusters = Clusters(Settings.from_env({}), snapshot=[snapshot])
    out = ask(query, clusters)
    assert out.error is None and out.result is not None
    assert out.result.findings, "an empty answer"
    _check_messages(to_slack(out.result))


def test_cli_slack_format_for_the_demo_question() -> None:
    run = run_cli("ask", "why es-2 -n logging", "--format", "slack", "--snapshot", str(EXAMPLE))
    assert run.returncode == 0, run.stderr
    messages = json.loads(run.stdout)
    _check_messages(messages)
    assert "OOMKilled" in json.dumps(messages)

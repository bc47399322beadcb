"""The Slack app over a live cluster (the fake API server through the real kubernetes client): acks
do not wait for the cluster, Refresh reads past the cache, the namespace fence decides what is
read, and SIGTERM lets an answer that is still reading the cluster finish."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.fakes.slack_api import BotServer, Call, FakeSlack, check_message, texts

if TYPE_CHECKING:
    from tests.fakes.kube_api import FakeKube

ROOT = Path(__file__).resolve().parent.parent
CLUSTER = ROOT / "tests" / "fixtures" / "slack" / "cluster.yaml"
PODS = "/api/v1/pods"  # the all-namespaces list

CONFIG: dict[str, Any] = {
    # Long pod TTL: the second question is served from the cache however slow the machine is.
    "cache": {"ttl": {"Pod": 600, "Event": 600}},
    "permissions": [
        {"cluster": "*", "namespaces": ["logging"], "users": ["U0ANN"]},
        {"cluster": "*", "namespaces": ["kube-system"], "users": ["U0KUBE"]},
    ],
}


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def bot(slack: FakeSlack, fake_kube: FakeKube, tmp_path: Path) -> Iterator[BotServer]:
    fake_kube.serve(CLUSTER)
    env = {"KUBECONFIG": str(fake_kube.kubeconfig)}
    with BotServer(slack, tmp_path, config=CONFIG, env=env) as server:
        yield server


def at(tag: str) -> Any:
    return lambda c: c.path == f"/response/{tag}"


def answer(slack: FakeSlack, bot: BotServer, tag: str) -> Call:
    """The answer posted to the response_url `tag`; the bot's log in the failure if none came."""
    try:
        (call,) = slack.wait_for("response_url", where=at(tag), timeout=60)
    except AssertionError as err:
        raise AssertionError(f"{err}\n--- bot log (end):\n{bot.log()[-4000:]}") from None
    return call


def test_the_ack_does_not_wait_for_a_slow_api_server(
    bot: BotServer, slack: FakeSlack, fake_kube: FakeKube
) -> None:
    fake_kube.latency = 2.0
    reply = bot.command("exit 137", slack.response_url("slow"), user="U0ANN")
    assert reply.json()["text"] == "Looking into `exit 137`…"
    assert not slack.received("response_url")  # the answer was still reading the cluster
    call = answer(slack, bot, "slow")
    check_message(call.body)
    assert "logging/es-0 elasticsearch: exit 137 OOMKilled" in texts(call.body)


def test_refresh_reads_the_cluster_again_past_the_cache(
    bot: BotServer, slack: FakeSlack, fake_kube: FakeKube
) -> None:
    reads = "/api/v1/namespaces/logging/pods"
    bot.command("exit 137", slack.response_url("first"), user="U0ANN")
    first = answer(slack, bot, "first")
    after_first = fake_kube.received("GET", reads)
    assert after_first >= 1

    bot.command("exit 137", slack.response_url("second"), user="U0ANN")
    answer(slack, bot, "second")
    assert fake_kube.received("GET", reads) == after_first  # answered from the cache

    buttons = {b["action_id"]: b["value"] for b in check_message(first.body)}
    assert "k8s_refresh" in buttons, texts(first.body)
    refresh = buttons["k8s_refresh"]
    bot.click("k8s_refresh", refresh, slack.response_url("refresh"), user="U0ANN")
    again = answer(slack, bot, "refresh")
    assert again.body["replace_original"] is True
    assert fake_kube.received("GET", reads) > after_first  # fresh: read again


def test_the_fence_reads_only_the_granted_namespaces(
    bot: BotServer, slack: FakeSlack, fake_kube: FakeKube
) -> None:
    bot.command("exit 137", slack.response_url("kube"), user="U0KUBE")
    call = answer(slack, bot, "kube")
    check_message(call.body)
    assert "es-0" not in json.dumps(call.body)
    assert fake_kube.received("GET", "/api/v1/namespaces/kube-system/pods") >= 1
    assert fake_kube.received("GET", PODS) == 0
    assert fake_kube.received("GET", "/api/v1/namespaces/logging/pods") == 0


def test_sigterm_while_an_answer_reads_the_cluster(
    slack: FakeSlack, fake_kube: FakeKube, tmp_path: Path
) -> None:
    fake_kube.serve(CLUSTER)
    bot = BotServer(slack, tmp_path, config=CONFIG, env={"KUBECONFIG": str(fake_kube.kubeconfig)}).start()
    try:
        fake_kube.latency = 1.0
        bot.command("exit 137", slack.response_url("drain"), user="U0ANN")
        while not fake_kube.requests:  # the answer is inside a cluster read
            pass
    finally:
        status = bot.stop()
    assert status == 0, bot.log()
    (call,) = slack.received("response_url")
    assert call.path == "/response/drain" and call.status == 200
    assert "logging/es-0 elasticsearch: exit 137 OOMKilled" in texts(call.body)

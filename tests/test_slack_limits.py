"""Long answers and long questions stay within Block Kit's limits: split, cut with a pointer to the
CLI, never rejected. The bot is built in-process against the fake Slack (auth.test)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.clusters import Clusters
from bot.config import Settings
from bot.slack_app import MAX_REPLIES, Answer, SlackBot
from tests.fakes.slack_api import BOT_TOKEN, FakeSlack, check_message, texts


@pytest.fixture
def bot() -> Iterator[SlackBot]:
    with FakeSlack() as slack:
        settings = Settings.from_env({"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_API_URL": slack.api_url})
        bot = SlackBot(settings, Clusters(settings))
        yield bot
        bot.executor.shutdown(wait=True)


def _section(i: int) -> dict[str, object]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": f"finding {i}: " + "x" * 2900}}


def test_an_answer_longer_than_five_replies_is_cut_with_a_pointer_and_keeps_its_buttons(
    bot: SlackBot,
) -> None:
    blocks = [_section(i) for i in range(400)]
    answer = Answer(
        query="why es-0 -n logging",
        user="U0ANN",
        messages=({"text": "why es-0 -n logging", "blocks": blocks},),
        answered=True,
        pod=("logging", "es-0"),
    )
    messages = bot.compose(answer, share=True)
    assert len(messages) == MAX_REPLIES
    for m in messages:
        check_message(m)
    last = messages[-1]
    assert [b["action_id"] for b in check_message(last)] == [
        "k8s_share",
        "k8s_refresh",
        "k8s_logs",
        "k8s_events",
    ]
    assert 'the whole of it: `k8s-bot ask "why es-0 -n logging"`' in texts(last)
    assert all(not check_message(m) for m in messages[:-1])  # buttons only once, at the end


def test_a_question_too_long_for_a_button_value_gets_no_buttons_but_an_answer(bot: SlackBot) -> None:
    query = "why " + "a" * 2100
    answer = Answer(
        query=query,
        user="U0ANN",
        messages=({"text": "answer", "blocks": [_section(1)]},),
        answered=True,
    )
    (message,) = bot.compose(answer, share=True)
    assert check_message(message) == []
    assert message["blocks"] == [_section(1)]


def test_a_shared_answer_fits_one_reply_fewer_for_the_cleanup(bot: SlackBot) -> None:
    answer = Answer(
        query="help",
        user="U0ANN",
        messages=({"text": "help", "blocks": [_section(i) for i in range(300)]},),
        answered=True,
    )
    messages = bot.compose(answer, share=False, shared_by="U0ANN", limit=MAX_REPLIES - 1)
    assert len(messages) == MAX_REPLIES - 1
    assert messages[0]["blocks"][0]["elements"][0]["text"] == "<@U0ANN> asked `help`"
    for m in messages:
        check_message(m)


def test_cpu_slots_bound_computing_threads_and_are_given_back_for_reads() -> None:
    import threading

    from bot.slack_app import CpuSlots

    slots = CpuSlots(1)
    in_read = threading.Event()
    leave_read = threading.Event()
    other_computed = threading.Event()

    def reader() -> None:
        # Nested holds do not deadlock; inside io() (a cluster read) the slot is free for others.
        with slots.held(), slots.held(), slots.io():
            in_read.set()
            leave_read.wait(10)

    def other() -> None:
        with slots.held():
            other_computed.set()

    t1 = threading.Thread(target=reader)
    t1.start()
    assert in_read.wait(10)
    t2 = threading.Thread(target=other)
    t2.start()
    assert other_computed.wait(10)  # got the slot while the reader waited on the "cluster"
    leave_read.set()
    t1.join(10)
    t2.join(10)

    busy = threading.Event()
    release = threading.Event()
    second = threading.Event()

    def holder() -> None:
        with slots.held():
            busy.set()
            release.wait(10)

    def waiter() -> None:
        with slots.held():
            second.set()

    h = threading.Thread(target=holder)
    h.start()
    assert busy.wait(10)
    w = threading.Thread(target=waiter)
    w.start()
    assert not second.wait(0.2)  # the one slot is taken
    release.set()
    assert second.wait(10)
    h.join(10)
    w.join(10)

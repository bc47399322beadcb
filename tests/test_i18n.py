"""Languages: the catalogs are complete and intact, the answer's language is chosen as documented,
and a user asking in Chinese (CLI, Slack, a Chinese channel, a scheduled digest) gets Chinese."""

from __future__ import annotations

import gettext
import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from babel.messages.catalog import Message

from bot import i18n, i18n_build
from bot.config import Settings, SettingsError
from bot.i18n import choose, detect
from bot.scheduler import load_schedules
from bot.zh_query import normalise
from tests.conftest import EXAMPLE, clean_env, run_cli
from tests.fakes.slack_api import BotServer, FakeSlack, check_message, texts

HAN = re.compile(r"[\u4e00-\u9fff]")
CLUSTER = Path(__file__).parent / "fixtures" / "slack" / "cluster.yaml"


# -- the catalogs ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def extracted() -> Any:
    return i18n_build.extract()


@pytest.mark.parametrize("lang", i18n.LANGS[1:])
def test_every_message_has_an_intact_translation(lang: str, extracted: Any) -> None:
    """Extract the messages afresh (templates and knowledge YAML as they are now): every one must be
    in the catalog, translated, not fuzzy, with its fields, placeholders and `code` spans intact."""
    catalog = i18n_build.read_catalog(i18n_build.po_path(lang), lang)
    wanted = [m.id for m in extracted if m.id]
    problems = i18n_build.check_catalog(catalog, expected=wanted)
    assert not problems, f"{len(problems)} problems (make i18n, then translate):\n" + "\n".join(
        str(p) for p in problems[:30]
    )
    assert len(wanted) > 800  # findings, notes, reasons and the file templates


@pytest.mark.parametrize("lang", i18n.LANGS[1:])
def test_no_obsolete_messages_linger(lang: str, extracted: Any) -> None:
    catalog = i18n_build.read_catalog(i18n_build.po_path(lang), lang)
    current = {m.id for m in extracted if m.id}
    stale = [str(m.id)[:80] for m in catalog if m.id and m.id not in current]
    assert not stale, f"in the catalog but no longer in the sources (make i18n): {stale[:10]}"


def test_the_knowledge_and_the_templates_are_both_extracted(extracted: Any) -> None:
    where = {loc[0].split("/")[1] for m in extracted if m.id for loc in m.locations}
    assert {"knowledge", "errors", "slack", "text"} <= where
    ids = {m.id for m in extracted if m.id}
    assert "Share in channel" in ids and " or " in ids
    assert any("OOMKilled" in str(i) for i in ids)
    # A next step that is only a command is not a message; one with a `# ` comment line is.
    steps = [m for m in extracted if m.id and any(".next_steps" in c for c in m.auto_comments)]
    assert steps and all("# " in str(m.id) for m in steps)
    assert "kubectl -n {{ ns }} describe pod {{ pod }}" not in ids


@pytest.mark.parametrize(
    ("msgid", "msgstr", "problem"),
    [
        ("{{ pod }} was OOMKilled", "", "no translation"),
        ("{{ pod }} was OOMKilled", "{{ pod }} 被 OOMKilled {{ extra }}", "fields differ"),
        ("{{ pod }} in {{ ns }}", "{{ pod }} 在命名空间中", "fields differ"),
        ("Run `kubectl get pods`.", "运行 `kubectl 获取 pods`。", "code"),
        ("{% if a %}{{ a }}{% endif %} x", "{% if a %}{{ a }} 缺少结束", "not a valid jinja2"),
        ("Looking into `%(query)s`…", "正在查看…", "placeholders differ"),
        ("Pods restart often", "Pods restart often", "no Chinese"),
    ],
)
def test_a_broken_translation_is_caught(msgid: str, msgstr: str, problem: str) -> None:
    flags = {"jinja-source"} if "{" in msgid else set()
    found = i18n_build.check_message(Message(msgid, msgstr, flags=flags))
    assert any(problem in p for p in found), found


def test_a_good_translation_passes_even_reordered() -> None:
    msg = Message(
        "{{ container }} in {{ ns }}/{{ pod }} was OOMKilled{% if limit %}: limit {{ limit }}{% endif %}",
        "{{ ns }}/{{ pod }} 中的容器 {{ container }} 被 OOMKilled"
        "{% if limit %}：限制为 {{ limit }}{% endif %}",
        flags={"jinja-source"},
    )
    assert i18n_build.check_message(msg) == []


def test_the_catalog_compiles_to_what_gettext_reads(tmp_path: Path) -> None:
    from babel.messages.mofile import write_mo

    catalog = i18n_build.read_catalog(i18n_build.po_path("zh"), "zh")
    mo = tmp_path / "messages.mo"
    with mo.open("wb") as f:
        write_mo(f, catalog)
    with mo.open("rb") as f:
        t = gettext.GNUTranslations(f)
    assert t.gettext("Share in channel") == catalog.get("Share in channel").string
    assert HAN.search(t.gettext("Refresh"))
    assert t.gettext("a message that is not in any catalog") == "a message that is not in any catalog"


# -- choosing the language ---------------------------------------------------------------------------


def test_chinese_characters_mean_chinese_and_ascii_says_nothing() -> None:
    assert detect("为什么 es-0 挂了") == "zh"
    assert detect("why es-0 -n logging") is None
    assert detect("why ｅｓ－０") is None  # full-width ASCII is not Chinese


@pytest.mark.parametrize(
    ("kw", "want"),
    [
        ({}, "en"),
        ({"default": "zh"}, "zh"),
        ({"channel": "zh"}, "zh"),
        ({"channel": "zh", "user": "en"}, "en"),
        ({"user": "en", "question": "为什么 es-0"}, "zh"),
        ({"question": "为什么 es-0", "explicit": "en"}, "en"),
        ({"explicit": "xx", "channel": "zh"}, "zh"),
    ],
)
def test_language_precedence(kw: dict[str, str], want: str) -> None:
    assert choose(**kw) == want


@pytest.mark.parametrize(
    ("asked", "grammar"),
    [
        ("为什么 es-0 一直重启 -n logging", "why es-0 -n logging"),
        ("es-0 怎么了", "why es-0"),
        ("es-0 挂了", "why es-0"),
        ("为什么es-0挂了？", "why es-0"),
        ("logging 命名空间下的 es-0 为什么起不来", "why es-0 -n logging"),
        ("命名空间 logging 里 es-0 为什么重启", "why es-0 -n logging"),
        ("退出码 137 是什么意思", "exit 137"),
        ("137 是啥", "exit 137"),
        ("CrashLoopBackOff 是什么意思", "reason CrashLoopBackOff"),
        ("解释 ImagePullBackoff", "reason ImagePullBackoff"),
        ("怎么抓包 es-0 -n logging", "how capture es-0 -n logging"),
        ("怎么进入容器 web-1", "how exec web-1"),
        ("怎么端口转发 svc/web -n shop", "how port-forward svc/web -n shop"),
        ("es-0 怎么一直重启", "why es-0"),
        ("端点 checkout -n shop", "endpoints checkout -n shop"),
        ("web-7d4b9c8f6d-x2x9k 的名字", "name web-7d4b9c8f6d-x2x9k"),
        ("巡检", "digest"),
        ("帮助", "help"),
        ("why es-0 的问题", "why es-0"),
        ("why es-0 -n logging", "why es-0 -n logging"),  # English is left alone
    ],
)
def test_chinese_questions_become_the_grammar(asked: str, grammar: str) -> None:
    assert normalise(asked) == grammar


# -- the CLI -------------------------------------------------------------------------------------------


def _ask(*args: str, env: dict[str, str] | None = None) -> Any:
    run = run_cli("ask", *args, "--snapshot", str(EXAMPLE), env=env)
    return run


def test_a_question_in_chinese_is_answered_in_chinese() -> None:
    run = _ask("为什么 es-2 一直重启 -n logging", "--format", "json")
    assert run.returncode == 0, run.stderr
    doc = run.json()
    assert doc["target"] == {"kind": "Pod", "namespace": "logging", "name": "es-2"}
    assert doc["status"] == "CrashLoopBackOff"
    f = doc["findings"][0]
    assert f["code"] == "POD-OOMKILLED"
    assert HAN.search(f["title"]) and "2Gi" in f["title"] and "elasticsearch" in f["title"]
    assert "kubectl -n logging logs es-2 -c elasticsearch --previous --tail=50" in f["next_steps"]


def test_lang_flag_and_k8sbot_lang() -> None:
    en = _ask("为什么 es-2 -n logging", "--lang", "en").stdout
    assert "was OOMKilled" in en and not HAN.search(en.split("\n", 1)[1])
    zh = _ask("why es-2 -n logging --lang zh").stdout
    assert "OOMKilled" in zh and HAN.search(zh)
    by_env = _ask("why es-2 -n logging", env=clean_env(K8SBOT_LANG="zh")).stdout
    assert by_env.split("\n", 1)[1] == zh.split("\n", 1)[1]  # the first line repeats the question
    bad = run_cli("ask", "exit 1", env=clean_env(K8SBOT_LANG="fr"))
    assert bad.returncode == 2 and "K8SBOT_LANG" in bad.stderr


def test_errors_in_chinese_keep_their_exit_status() -> None:
    run = _ask("为什么 no-such-pod -n logging")
    assert run.returncode == 1
    assert HAN.search(run.stderr) and "no-such-pod" in run.stderr and "Traceback" not in run.stderr
    usage = _ask("wyh es-0 --lang zh")
    assert usage.returncode == 2
    assert HAN.search(usage.stderr) and "`why`" in usage.stderr
    bad_lang = _ask("why es-0 --lang fr", "--format", "json")
    assert bad_lang.returncode == 2 and bad_lang.json()["error"]["problem"] == "bad_lang"


def test_the_digest_in_chinese() -> None:
    run = run_cli("digest", "--snapshot", str(EXAMPLE), "--lang", "zh", "--format", "slack")
    assert run.returncode == 0, run.stderr
    messages = run.json()
    check_message(messages["summary"])
    for m in messages["thread"]:
        check_message(m)
    header = messages["summary"]["blocks"][0]["text"]["text"]
    assert HAN.search(header)
    text = run_cli("digest", "--snapshot", str(EXAMPLE), "--lang", "zh").stdout
    assert "sts/es" in text and "OOMKilled" in text and HAN.search(text)


# -- settings --------------------------------------------------------------------------------------


def _settings(tmp_path: Path, config: dict[str, Any]) -> Settings:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return Settings.from_env({"K8SBOT_CONFIG": str(path)})


def test_languages_in_the_config_are_checked(tmp_path: Path) -> None:
    from bot.access import Policy

    with pytest.raises(SettingsError, match=r"channels\.C1\.lang"):
        Policy.from_settings(_settings(tmp_path, {"channels": {"C1": {"lang": "fr"}}}))
    with pytest.raises(SettingsError, match=r"users\.U1\.lang"):
        Policy.from_settings(_settings(tmp_path, {"users": {"U1": {"lang": "de"}}}))
    with pytest.raises(SettingsError, match="lang"):
        _settings(tmp_path, {"lang": "jp"})


def test_a_digest_speaks_its_channels_language_unless_told(tmp_path: Path) -> None:
    settings = _settings(
        tmp_path,
        {
            "lang": "en",
            "channels": {"C0ZH": {"lang": "zh"}},
            "digests": [
                {"channel": "C0ZH", "cron": "0 9 * * *"},
                {"channel": "C0ZH", "cron": "0 18 * * *", "lang": "en", "name": "evening"},
                {"channel": "C0EN", "cron": "0 9 * * *"},
            ],
        },
    )
    assert [s.lang for s in load_schedules(settings)] == ["zh", "en", "en"]


# -- Slack -------------------------------------------------------------------------------------------

CONFIG: dict[str, Any] = {
    "clusters": {"prod": {"snapshot": str(CLUSTER)}},
    "slack": {"rate_limit": {"questions": 1000, "per_seconds": 60}},
    "channels": {"C0ZH": {"cluster": "prod", "namespace": "logging", "lang": "zh"}},
    "users": {"U0LI": {"lang": "zh"}},
}


@pytest.fixture(scope="module")
def slack() -> Iterator[FakeSlack]:
    with FakeSlack(token=None) as fake:
        yield fake


@pytest.fixture(scope="module")
def bot(slack: FakeSlack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BotServer]:
    with BotServer(slack, tmp_path_factory.mktemp("bot"), config=CONFIG) as server:
        yield server


def _answer(slack: FakeSlack, tag: str) -> dict[str, Any]:
    (call,) = slack.wait_for("response_url", 1, where=lambda c: c.path == f"/response/{tag}")
    body: dict[str, Any] = call.body
    return body


def _labels(body: dict[str, Any]) -> list[str]:
    return [b["text"]["text"] for b in check_message(body)]


def test_slack_chinese_question_gets_chinese_ack_answer_and_buttons(bot: BotServer, slack: FakeSlack) -> None:
    reply = bot.command("为什么 es-0 -n logging", slack.response_url("zh-q"), user="U0ANN", channel="C0OPS")
    assert reply.status == 200 and HAN.search(reply.json()["text"])
    body = _answer(slack, "zh-q")
    assert HAN.search(texts(body)) and "es-0" in texts(body)
    labels = _labels(body)
    assert labels and all(HAN.search(label) for label in labels)
    assert not any(label in ("Refresh", "Share in channel") for label in labels)


def test_slack_channel_and_user_settings(bot: BotServer, slack: FakeSlack) -> None:
    bot.command("why es-0", slack.response_url("zh-channel"), user="U0ANN", channel="C0ZH")
    assert HAN.search(texts(_answer(slack, "zh-channel")))
    bot.command("why es-0 -n logging", slack.response_url("zh-user"), user="U0LI", channel="C0OPS")
    assert HAN.search(texts(_answer(slack, "zh-user")))
    bot.command("why es-0 -n logging", slack.response_url("en-user"), user="U0ANN", channel="C0OPS")
    english = _answer(slack, "en-user")
    assert not HAN.search(texts(english))
    assert "Refresh" in _labels(english)
    bot.command("why es-0 --lang en", slack.response_url("zh-channel-en"), user="U0LI", channel="C0ZH")
    assert not HAN.search(texts(_answer(slack, "zh-channel-en")))


def test_slack_refresh_keeps_the_language(bot: BotServer, slack: FakeSlack) -> None:
    bot.command("es-0 怎么了 -n logging", slack.response_url("zh-r"), user="U0ANN", channel="C0OPS")
    first = _answer(slack, "zh-r")
    refresh = next(b["value"] for b in check_message(first) if b["action_id"] == "k8s_refresh")
    assert json.loads(refresh)["q"] == "es-0 怎么了 -n logging"
    bot.click("k8s_refresh", refresh, slack.response_url("zh-r2"), user="U0ANN", channel="C0OPS")
    assert texts(_answer(slack, "zh-r2")) == texts(first)


def test_slack_usage_error_in_a_chinese_channel(bot: BotServer, slack: FakeSlack) -> None:
    bot.command("wy es-0", slack.response_url("zh-usage"), user="U0ANN", channel="C0ZH")
    body = _answer(slack, "zh-usage")
    assert HAN.search(texts(body)) and "`why`" in texts(body)


def test_slack_buttons_answer_in_the_askers_language(bot: BotServer, slack: FakeSlack) -> None:
    bot.command("why es-0", slack.response_url("zh-b"), user="U0ANN", channel="C0ZH")
    buttons = {b["action_id"]: b["value"] for b in check_message(_answer(slack, "zh-b"))}
    bot.click("k8s_logs", buttons["k8s_logs"], slack.response_url("zh-logs"), user="U0ANN", channel="C0ZH")
    logs = _answer(slack, "zh-logs")
    assert HAN.search(texts(logs)) and "kubectl -n logging logs es-0" in texts(logs)
    bot.click("k8s_events", buttons["k8s_events"], slack.response_url("zh-ev"), user="U0ANN", channel="C0ZH")
    assert HAN.search(texts(_answer(slack, "zh-ev")))
    bot.click("k8s_share", buttons["k8s_share"], slack.response_url("zh-share"), user="U0ANN", channel="C0ZH")
    (shared, _cleanup) = [
        c.body for c in slack.wait_for("response_url", 2, where=lambda c: c.path == "/response/zh-share")
    ]
    header = shared["blocks"][0]["elements"][0]["text"]
    assert header.startswith("<@U0ANN>") and HAN.search(header)


def test_a_translation_that_fails_to_render_is_answered_in_english(monkeypatch: pytest.MonkeyPatch) -> None:
    """A translator's slip on a branch no test reached costs the user the Chinese words, not the
    answer: the English renders instead and the fallback is counted (tests assert there is none)."""
    from bot import catalogue, templating

    source = "{{ pod }} restarted (a source only this test uses)"
    broken = "{{ pod.missing.deeper }} 重启了"
    monkeypatch.setattr(templating, "translate", lambda lang, s: broken if (s, lang) == (source, "zh") else s)
    catalogue.FALLBACKS.clear()
    assert catalogue._render("TEST-CODE", source, {"pod": "es-0"}, "zh") == (
        "es-0 restarted (a source only this test uses)"
    )
    assert catalogue.FALLBACKS["TEST-CODE"] == 1
    catalogue.FALLBACKS.clear()

"""Answers in Chinese carry the same facts as in English.

Every question a user could ask about every object of the fixture clusters (why, exit, name, dns,
endpoints, trace, scrape, how on each pod, Service, Ingress and workload), and the offline ones (exit
codes, every reason in reasons.yaml, every runbook, help), is answered once and rendered in both
languages. The Chinese rendering must: keep the codes, severities, evidence and commands; word every
finding in Chinese; show every fact the English shows (names, numbers, quantities, reasons, messages:
each field value the English prints); and never fall back to English because a translation failed to
render.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from bot import catalogue
from bot.clusters import Clusters
from bot.config import Settings
from bot.dispatch import ask
from bot.knowledge import reasons
from bot.render import error_text, to_json, to_slack
from handlers.how import TOPICS
from handlers.model import Result
from tests.conftest import EXAMPLE, FIXTURES

HAN = re.compile(r"[\u4e00-\u9fff]")
SOURCES: dict[str, list[Path]] = {
    "example": [EXAMPLE],
    **{f"why/{p.stem}": [p] for p in sorted((FIXTURES / "why").glob("*.yaml")) if p.stem != "EXPECTED"},
    **{f"traffic/{p.stem}": [p] for p in sorted((FIXTURES / "traffic").glob("*.yaml"))},
    "dns": [FIXTURES / "dns" / "cluster"],
    "how": [FIXTURES / "how"],
    "basic": [FIXTURES / "basic"],
}
WORKLOADS = {
    "Deployment": "deploy",
    "StatefulSet": "sts",
    "DaemonSet": "ds",
    "Job": "job",
    "CronJob": "cronjob",
}


def _clusters(paths: list[Path]) -> Clusters:
    return Clusters(Settings.from_env({}), snapshot=[str(p) for p in paths])


def questions(clusters: Clusters) -> Iterator[str]:
    """Every question about every object of a snapshot."""
    view = clusters.open().view
    for pod in view.list("Pod"):
        ns, name = pod.namespace, pod.name
        for verb in ("why", "exit", "scrape", "dns"):
            yield f"{verb} {name} -n {ns}"
        yield f"name {name}"
        yield f"how capture {name} -n {ns}"
    for svc in view.list("Service"):
        for verb in ("endpoints", "dns", "trace", "scrape"):
            yield f"{verb} {svc.name} -n {svc.namespace}"
    for ing in view.list("Ingress"):
        yield f"ingress {ing.name} -n {ing.namespace}"
        for rule in ing.children("spec", "rules"):
            if rule.text("host"):
                yield f"trace {rule.text('host')}"
    for kind, short in WORKLOADS.items():
        for obj in view.list(kind):
            yield f"why {short}/{obj.name} -n {obj.namespace}"
    yield "digest"


def offline_questions() -> Iterator[str]:
    for code in (0, 1, 2, 3, 125, 126, 127, 128, 130, 134, 137, 139, 143, 255, -1, 256, 65280):
        yield f"exit {code}"
    for name in reasons():
        yield f"reason {name}"
    yield from ("reason", "reason ImagePullBackoff", "reason TeardownNetworkErro", "reason Init:Error")
    yield from ("reason OutOfnvidia.com/gpu", "reason NoSuchReasonAnywhere", "reason Back")
    for topic in TOPICS:
        yield f"how {topic}"
    yield "how"
    yield from ("help", *(f"help {v}" for v in ("why", "exit", "dns", "name", "endpoints", "trace", "how")))
    yield from ("name web-7d4b9c8f6d-x2x9k", "name es-0", "name backup-28712345-abcde", "dns redis 0")


#: Fields that hold names of objects (a value of any shape there is a fact).
_NAMES = re.compile(
    r"(^|_)(name|ns|namespace|pod|container|node|svc|service|owner|image|host|ingress|configmap|pvc|key|port)s?($|_)"
)


def _values(fields: dict[str, object]) -> Iterator[str]:
    """Field values that are facts: names, numbers, quantities, reasons, quoted messages (not the
    lowercase words a template may translate, like `liveness` or a class key like `out-of-range`)."""
    for key, value in fields.items():
        items = value if isinstance(value, tuple | list) else (value,)
        for v in items:
            if isinstance(v, bool) or v is None or isinstance(v, dict):
                continue
            s = str(v)
            if len(s) < 2 or len(s) > 300:
                continue
            if isinstance(v, int | float) or re.search(r"[\d/.:_A-Z]", s) or _NAMES.search(key):
                yield s


def _command(step: str) -> str:
    return re.split(r"\s{2,}#\s", step)[0]


def _shown(value: str, text: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(value)}(?![\w-])", text) is not None


def compare(result: Result) -> list[str]:
    """What the Chinese rendering of a Result gets wrong against the English one."""
    en, zh = to_json(result, "en"), to_json(result, "zh")
    problems = []
    for key in ("query", "verb", "target", "status", "partial"):
        if en[key] != zh[key]:
            problems.append(f"{key} differs")
    for f, fe, fz in zip(result.findings, en["findings"], zh["findings"], strict=True):
        where = f"{result.query} / {f.code}"
        if (fe["code"], fe["severity"], len(fe["evidence"])) != (
            fz["code"],
            fz["severity"],
            len(fz["evidence"]),
        ):
            problems.append(f"{where}: code, severity or evidence differ")
        for raw, ev_en, ev_zh in zip(f.evidence, fe["evidence"], fz["evidence"], strict=True):
            if isinstance(raw, str):  # data quoted from the cluster: the same in every language
                if ev_en != ev_zh:
                    problems.append(f"{where}: evidence data changed with the language: {ev_en!r}")
                continue
            lost = [v for v in set(_values(dict(raw.fields))) if _shown(v, ev_en) and v not in ev_zh]
            if lost:
                problems.append(f"{where}: evidence {raw.code} lost {sorted(lost)} in Chinese: {ev_zh!r}")
        # Commands are the same in every language; only their shell comments are translated.
        commands_en = [_command(s) for s in fe["next_steps"] if not s.lstrip().startswith("#")]
        commands_zh = [_command(s) for s in fz["next_steps"] if not s.lstrip().startswith("#")]
        if commands_en != commands_zh:
            problems.append(f"{where}: commands differ: {set(commands_en) ^ set(commands_zh)}")
        zh_text = fz["title"] + "\n" + fz["detail"]
        if not HAN.search(zh_text):
            problems.append(f"{where}: not worded in Chinese: {fz['title']!r}")
        en_text = fe["title"] + "\n" + fe["detail"]
        lost = [v for v in set(_values(dict(f.fields))) if _shown(v, en_text) and v not in zh_text]
        if lost:
            problems.append(f"{where}: facts in the English but not the Chinese: {sorted(lost)}")
    return problems


def _answer_all(clusters: Clusters, qs: list[str]) -> tuple[list[str], int]:
    problems: list[str] = []
    answered = 0
    catalogue.FALLBACKS.clear()
    for q in dict.fromkeys(qs):
        out = ask(q, clusters)
        if out.result is None:
            assert out.error is not None
            assert HAN.search(error_text(out.error, "zh")), f"{q}: error not in Chinese"
            continue
        answered += 1
        problems += compare(out.result)
        to_slack(out.result, lang="zh")  # Block Kit limits hold for the Chinese answer too
    problems += [f"translation failed to render, answered in English: {c}" for c in catalogue.FALLBACKS]
    return problems, answered


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_chinese_answers_carry_the_english_facts(source: str) -> None:
    clusters = _clusters(SOURCES[source])
    problems, answered = _answer_all(clusters, list(questions(clusters)))
    assert answered, "no question was answered: the fixture or the question list is wrong"
    assert not problems, "\n".join(problems[:40])


def test_chinese_offline_answers_carry_the_english_facts() -> None:
    problems, answered = _answer_all(Clusters(Settings.from_env({})), list(offline_questions()))
    assert answered > len(reasons())
    assert not problems, "\n".join(problems[:40])


def test_every_catalogue_entry_was_rendered_in_chinese_by_some_answer() -> None:
    """The facts tests above reach (nearly) every finding code; list the ones they never render so a
    new code without a realistic fixture is seen. Codes listed in ONLY_SYNTHETIC are reached by the
    synthetic tests (tests/test_why_synthetic.py) instead."""
    reached: set[str] = set()
    for paths in SOURCES.values():
        clusters = _clusters(paths)
        for q in dict.fromkeys(questions(clusters)):
            out = ask(q, clusters)
            reached |= {f.code for f in out.result.findings} if out.result else set()
    offline = Clusters(Settings.from_env({}))
    for q in offline_questions():
        out = ask(q, offline)
        reached |= {f.code for f in out.result.findings} if out.result else set()
    share = len(reached) / len(catalogue.entries())
    assert share > 0.6, f"only {len(reached)} of {len(catalogue.entries())} codes reached"


def test_handlers_do_not_depend_on_the_language() -> None:
    """The language only changes the words: the Result is the same whatever language is asked."""
    clusters = _clusters([EXAMPLE])
    for q in ("why es-2 -n logging", "endpoints checkout -n shop", "digest", "exit 137", "reason OOMKilled"):
        en, zh = ask(q, clusters, lang="en"), ask(q, clusters, lang="zh")
        assert en.result is not None and zh.result is not None
        assert en.lang == "en" and zh.lang == "zh"
        strip = lambda r: [(f.code, f.fields, f.evidence, f.commands) for f in r.findings]  # noqa: E731
        assert strip(en.result) == strip(zh.result)


def test_reason_texts_are_translated() -> None:
    """`reason` reads its texts from reasons.yaml: in Chinese every one of them comes translated."""
    out = ask("reason CrashLoopBackOff", Clusters(Settings.from_env({})), lang="zh")
    assert out.result is not None
    doc = to_json(out.result, "zh")
    detail = doc["findings"][0]["detail"]
    en = yaml.safe_load((Path(__file__).parent.parent / "templates/knowledge/reasons.yaml").read_text())
    for cause in en["CrashLoopBackOff"]["causes"]:
        assert cause not in detail, "an English cause in the Chinese answer"
    assert "CrashLoopBackOff" in doc["findings"][0]["title"]
    assert HAN.search(detail)

"""`reason <Reason>` through the CLI: forgiving lookup, legacy marking, kubectl's STATUS forms, answers.

No cluster is needed (reason is an offline verb), so most runs have no snapshot at all.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import run_cli

REASONS = Path(__file__).resolve().parent.parent / "templates" / "knowledge" / "reasons.yaml"


@cache
def _data() -> dict[str, Any]:
    return yaml.safe_load(REASONS.read_text(encoding="utf-8"))


def ask(query: str) -> dict[str, Any]:
    run = run_cli("ask", query, "--format", "json")
    assert run.returncode == 0, run.stderr
    return run.json()


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("reason ImagePullBackoff", "ImagePullBackOff"),
        ("reason imagepullbackoff", "ImagePullBackOff"),
        ("reason CrashLoopBackoff", "CrashLoopBackOff"),
        ("reason crash loop back-off", "CrashLoopBackOff"),
        ("reason OOMKilled", "OOMKilled"),
        ("reason oomkilled", "OOMKilled"),
        ("reason Evicted", "Evicted"),
        ("reason `Evicted`", "Evicted"),
        ("reason FailedSheduling", "FailedScheduling"),
        ("reason Unknwon", "Unknown"),
        ("reason OutOfCPU", "OutOfcpu"),
        ("reason outofephemeral-storage", "OutOfephemeral-storage"),
    ],
)
def test_case_and_typos_find_the_reason(query: str, reason: str) -> None:
    answer = ask(query)
    assert answer["verb"] == "reason"
    assert answer["target"] == {"kind": "Reason", "namespace": None, "name": reason}
    [finding] = answer["findings"]
    assert finding["code"] == "REASON-EXPLAINED"
    assert finding["severity"] == "info"
    assert reason in finding["title"]
    assert _data()[reason]["meaning"] in finding["detail"]
    assert finding["next_steps"] == _data()[reason]["next_steps"]


def test_a_typo_says_how_it_was_read_and_an_exact_name_does_not() -> None:
    typo = ask("reason TeardownNetworkErro")["findings"][0]
    assert "`TeardownNetworkErro`" in typo["detail"] and "`TeardownNetworkError`" in typo["detail"]
    exact = ask("reason imagepullbackoff")["findings"][0]
    assert "imagepullbackoff" not in exact["detail"]


@pytest.mark.parametrize(
    ("query", "reason", "replacement"),
    [
        ("reason TeardownNetworkErro", "TeardownNetworkError", "FailedKillPod"),
        ("reason SetupNetworkError", "SetupNetworkError", "FailedCreatePodSandBox"),
        ("reason VerifyNonRootError", "VerifyNonRootError", "CreateContainerConfigError"),
        ("reason RunInitContainerError", "RunInitContainerError", "Init:"),
        ("reason ContainerCannotRun", "ContainerCannotRun", "StartError"),
    ],
)
def test_legacy_reasons_are_marked_with_what_replaces_them(query: str, reason: str, replacement: str) -> None:
    answer = ask(query)
    assert answer["target"]["name"] == reason
    [finding] = answer["findings"]
    assert finding["code"] == "REASON-LEGACY"
    assert reason in finding["title"]
    assert _data()[reason]["legacy"]["now"] in finding["detail"]
    assert replacement in finding["detail"]


def test_current_reasons_are_not_marked_legacy() -> None:
    for query in ("reason CreateContainerConfigError", "reason StartError", "reason Shutdown"):
        assert ask(query)["findings"][0]["code"] == "REASON-EXPLAINED", query


def test_contains_runtime_and_component_facts() -> None:
    """The facts FACTS.md pins: StartError is containerd's, exit 128; ContainerStatusUnknown is 137."""
    start = ask("reason StartError")["findings"][0]
    assert "containerd" in start["detail"] and "128" in start["detail"]
    unknown = ask("reason ContainerStatusUnknown")["findings"][0]
    assert "137" in unknown["detail"]
    assert "The container could not be located when the pod was terminated" in unknown["detail"]
    oom = ask("reason OOMKilling")["findings"][0]
    assert "node-problem-detector" in oom["detail"]
    system = ask("reason SystemOOM")["findings"][0]
    assert "System OOM encountered, victim process: <name>, pid: <pid>" in system["detail"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("reason OOM", {"OOMKilled", "OOMKilling", "SystemOOM"}),
        ("reason ImagePull", {"ErrImagePull", "ImagePullBackOff"}),
        ("reason Terminat", {"Terminated", "Terminating"}),
    ],
)
def test_ambiguous_text_asks_did_you_mean(query: str, expected: set[str]) -> None:
    [finding] = ask(query)["findings"]
    assert finding["code"] == "REASON-AMBIGUOUS"
    assert "Did you mean" in finding["detail"]
    assert {step.removeprefix("reason ") for step in finding["next_steps"]} == expected


def test_unknown_reason_lists_the_close_ones() -> None:
    [finding] = ask("reason FailedBinding")["findings"]
    assert finding["code"] == "REASON-UNKNOWN"
    assert finding["severity"] == "warning"
    assert "`FailedScheduling`" in finding["detail"]
    assert "reason FailedScheduling" in finding["next_steps"]
    assert "kubectl get events -A --field-selector reason=FailedBinding" in finding["next_steps"]


def test_unknown_reason_with_nothing_close_still_answers() -> None:
    [finding] = ask("reason Flibbertigibbet")["findings"]
    assert finding["code"] == "REASON-UNKNOWN"
    assert finding["next_steps"] == ["kubectl get events -A --field-selector reason=Flibbertigibbet"]


def test_init_prefix_explains_the_reason_for_an_init_container() -> None:
    answer = ask("reason Init:CrashLoopBackOff")
    assert answer["target"]["name"] == "CrashLoopBackOff"
    [finding] = answer["findings"]
    assert finding["title"].startswith("Init:CrashLoopBackOff")
    assert "kubectl -n <ns> logs <pod> -c <init-container> --previous" in finding["next_steps"]
    assert any(".status.initContainerStatuses" in s for s in finding["next_steps"])


def test_init_progress_names_the_init_container_to_look_at() -> None:
    [finding] = ask("reason Init:1/3")["findings"]
    assert finding["code"] == "REASON-INIT-PROGRESS"
    assert "1 of 3" in finding["title"]
    assert any("{.spec.initContainers[1].name}" in s for s in finding["next_steps"])


@pytest.mark.parametrize(("query", "code"), [("reason ExitCode:137", 137), ("reason Signal:9", 137)])
def test_exit_forms_point_at_the_exit_code(query: str, code: int) -> None:
    [finding] = ask(query)["findings"]
    assert finding["code"] == "REASON-EXIT-FORM"
    assert finding["next_steps"][0] == f"exit {code}"


def test_out_of_an_extended_resource_is_the_outof_family() -> None:
    answer = ask("reason OutOfnvidia.com/gpu")
    assert answer["target"]["name"] == "OutOfnvidia.com/gpu"
    [finding] = answer["findings"]
    assert finding["code"] == "REASON-EXPLAINED"
    assert finding["title"].startswith("OutOfnvidia.com/gpu")
    assert "`nvidia.com/gpu`" in finding["detail"]


def test_reason_alone_lists_every_reason_and_the_legacy_ones() -> None:
    [finding] = ask("reason")["findings"]
    assert finding["code"] == "REASON-INDEX"
    assert finding["title"].startswith(f"{len(_data())} reasons")
    for name in _data():
        assert name in finding["detail"]


def test_text_and_slack_formats_render() -> None:
    text = run_cli("ask", "reason Evicted")
    assert text.returncode == 0, text.stderr
    assert "(REASON-EXPLAINED)" in text.stdout and "kubectl describe node <node>" in text.stdout
    slack = run_cli("ask", "reason FailedScheduling", "--format", "slack")
    assert slack.returncode == 0, slack.stderr
    [message] = json.loads(slack.stdout)
    assert "FailedScheduling" in message["text"]
    assert message["blocks"]


def test_reason_works_with_a_snapshot_too() -> None:
    run = run_cli("ask", "reason CrashLoopBackOff", "--snapshot", "tests/fixtures/how", "--format", "json")
    assert run.returncode == 0, run.stderr
    assert run.json()["findings"][0]["code"] == "REASON-EXPLAINED"
    assert run.json()["notes"] == []

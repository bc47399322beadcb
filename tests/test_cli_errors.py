"""Every error class through the CLI, as a user meets it: exit status, one stderr line, no traceback,
and `--format json` printing exactly one JSON object."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from handlers import VERBS
from tests.conftest import FIXTURES, CliRun, clean_env, run_cli
from tests.fakes.kube_api import FakeKube

BASIC = FIXTURES / "basic"


def needs(verb: str) -> None:
    if verb not in VERBS:
        pytest.skip(f"the `{verb}` verb has not landed yet")


def one_line(run: CliRun) -> str:
    """The single stderr line of a failed run (anything else is a defect)."""
    assert "Traceback" not in run.stderr, run.stderr
    lines = run.stderr.splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("k8s-bot: ")
    return lines[0]


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port nothing listens on: bound, so no other test takes it, but never listen()ed."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    yield sock.getsockname()[1]
    sock.close()


def kubeconfig_for(fake: FakeKube, server: str, tmp_path: Path) -> Path:
    path = tmp_path / "kubeconfig"
    path.write_text(fake.kubeconfig.read_text().replace(fake.url, server))
    return path


# -- usage: exit 2 --------------------------------------------------------------------------


@pytest.mark.parametrize(("typed", "meant"), [("hepl", "help"), ("wyh es-0", "why"), ("exti 137", "exit")])
def test_an_unknown_verb_is_usage_with_did_you_mean(typed: str, meant: str) -> None:
    needs(meant)
    run = run_cli("ask", typed)
    assert run.returncode == 2
    line = one_line(run)
    assert f"`{typed.split(maxsplit=1)[0]}`" in line
    assert f"Did you mean `{meant}`" in line


def test_a_bad_flag_in_the_question_is_usage() -> None:
    run = run_cli("ask", "exit 137 --namespase shop")
    assert run.returncode == 2
    line = one_line(run)
    assert "`--namespase`" in line
    assert "Did you mean `--namespace`" in line


@pytest.mark.parametrize(
    "argv",
    [("ask", "help", "--format", "xml"), ("frobnicate",), ("ask",), ("ask", "help", "--snapshot")],
    ids=["bad-format", "bad-command", "no-question", "flag-without-value"],
)
def test_bad_command_lines_are_exit_2_without_traceback(argv: tuple[str, ...]) -> None:
    run = run_cli(*argv)
    assert run.returncode == 2, run.stdout + run.stderr
    assert "Traceback" not in run.stderr
    assert "usage: k8s-bot" in run.stderr


def test_an_unknown_verb_in_json_is_one_json_object() -> None:
    run = run_cli("ask", "hepl", "--format", "json")
    assert run.returncode == 2
    answer = json.loads(run.stdout)  # exactly one object: json.loads rejects trailing data
    assert answer["query"] == "hepl"
    assert answer["error"]["type"] == "UsageError"
    assert answer["error"]["close"][0] == "help"
    one_line(run)


# -- the cluster: exit 1 --------------------------------------------------------------------


def test_a_closed_port_is_unreachable(fake_kube: FakeKube, closed_port: int, tmp_path: Path) -> None:
    needs("why")
    kubeconfig = kubeconfig_for(fake_kube, f"http://127.0.0.1:{closed_port}", tmp_path)
    run = run_cli("ask", "why x", "--kubeconfig", str(kubeconfig))
    assert run.returncode == 1
    line = one_line(run)
    assert "unreachable" in line
    assert "connection refused" in line
    assert f"127.0.0.1:{closed_port}" in line
    assert run.stdout == ""


def test_unreachable_from_kubeconfig_in_the_environment(
    fake_kube: FakeKube, closed_port: int, tmp_path: Path
) -> None:
    needs("why")
    kubeconfig = kubeconfig_for(fake_kube, f"http://127.0.0.1:{closed_port}", tmp_path)
    run = run_cli("ask", "why x", env=clean_env(KUBECONFIG=str(kubeconfig)))
    assert run.returncode == 1
    assert "connection refused" in one_line(run)


def test_unreachable_in_json_is_one_json_object(
    fake_kube: FakeKube, closed_port: int, tmp_path: Path
) -> None:
    needs("why")
    kubeconfig = kubeconfig_for(fake_kube, f"http://127.0.0.1:{closed_port}", tmp_path)
    run = run_cli("ask", "why x", "--kubeconfig", str(kubeconfig), "--format", "json")
    assert run.returncode == 1
    answer = json.loads(run.stdout)
    assert answer["query"] == "why x"
    assert answer["error"]["type"] == "ClusterUnavailable"
    assert answer["error"]["cluster"] == "fake"
    assert "connection refused" in answer["error"]["message"]
    one_line(run)


def test_a_hung_server_times_out_after_k8sbot_api_timeout(fake_kube: FakeKube) -> None:
    needs("why")
    fake_kube.serve(BASIC)
    fake_kube.hang("/api/v1/namespaces/shop/pods")
    run = run_cli("ask", "why web-7d4b9c8f6d-q8l5m -n shop", env=fake_kube.env(K8SBOT_API_TIMEOUT="1"))
    assert run.returncode == 1
    line = one_line(run)
    assert "unreachable" in line and "timed out" in line
    assert fake_kube.received("GET", "/api/v1/namespaces/shop/pods/web-7d4b9c8f6d-q8l5m") == 1  # not retried


def test_forbidden_says_the_read_was_refused(fake_kube: FakeKube) -> None:
    needs("why")
    fake_kube.serve(BASIC)
    fake_kube.fail("/api/v1/namespaces/shop/pods", 403)
    run = run_cli("ask", "why web-7d4b9c8f6d-q8l5m -n shop", env=fake_kube.env())
    assert run.returncode == 1
    line = one_line(run)
    assert "refused" in line
    assert 'cannot get resource "pods"' in line


def test_the_live_cluster_answers_through_the_fake(fake_kube: FakeKube) -> None:
    needs("why")
    fake_kube.serve(BASIC)
    run = run_cli("ask", "why web-7d4b9c8f6d-q8l5m -n shop", "--format", "json", env=fake_kube.env())
    assert run.returncode == 0, run.stderr
    answer = json.loads(run.stdout)
    assert answer["target"] == {"kind": "Pod", "namespace": "shop", "name": "web-7d4b9c8f6d-q8l5m"}
    assert answer["status"] == "CrashLoopBackOff"
    assert fake_kube.received("GET", "/api/v1/namespaces/shop/pods/web-7d4b9c8f6d-q8l5m") == 1


def test_a_missing_object_is_not_found_exit_1(fake_kube: FakeKube) -> None:
    needs("why")
    fake_kube.serve(BASIC)
    run = run_cli("ask", "why web-7d4b9c8f6d-q8l5n -n shop", env=fake_kube.env())
    assert run.returncode == 1
    line = one_line(run)
    assert "web-7d4b9c8f6d-q8l5n" in line and "shop" in line


# -- configuration: exit 1 ------------------------------------------------------------------


@pytest.mark.parametrize("asked", ["why x", "exit 137"])
def test_an_unknown_context_names_the_contexts(fake_kube: FakeKube, asked: str) -> None:
    # The kubeconfig is read when the cluster is opened, before any verb runs.
    needs(asked.split(maxsplit=1)[0])
    run = run_cli("ask", asked, "--context", "prod", env=fake_kube.env())
    assert run.returncode == 1
    line = one_line(run)
    assert "'prod'" in line
    assert "fake, fake-ns" in line
    assert fake_kube.requests == []


@pytest.mark.parametrize("asked", ["why x", "exit 137"])
def test_a_garbage_kubeconfig_names_file_and_line(tmp_path: Path, asked: str) -> None:
    needs(asked.split(maxsplit=1)[0])
    path = tmp_path / "kubeconfig"
    path.write_text("apiVersion: v1\nclusters:\n- name: a\n  cluster: {server: [\n")
    run = run_cli("ask", asked, "--kubeconfig", str(path))
    assert run.returncode == 1
    line = one_line(run)
    assert f"{path}:" in line
    assert "not valid YAML" in line


def test_a_missing_kubeconfig_file(tmp_path: Path) -> None:
    needs("why")
    run = run_cli("ask", "why x", "--kubeconfig", str(tmp_path / "nope"))
    assert run.returncode == 1
    line = one_line(run)
    assert f"`{tmp_path / 'nope'}`: no such file" in line


def test_config_errors_in_json_are_one_json_object(fake_kube: FakeKube) -> None:
    needs("why")
    run = run_cli("ask", "why x", "--context", "prod", "--format", "json", env=fake_kube.env())
    assert run.returncode == 1
    answer = json.loads(run.stdout)
    assert answer["error"]["type"] == "ConfigError"
    assert "fake, fake-ns" in answer["error"]["message"]


def test_without_any_cluster_a_cluster_question_says_so() -> None:
    needs("why")
    run = run_cli("ask", "why x")  # clean_env: KUBECONFIG points at nothing
    assert run.returncode == 1
    assert "needs a cluster" in one_line(run)
    offline = run_cli("ask", "exit 137")
    assert offline.returncode == 0, offline.stderr

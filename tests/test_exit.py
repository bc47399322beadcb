"""`exit <code>` and `exit <pod>`, through the CLI as a user runs it (offline and on a snapshot)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.conftest import EXAMPLE, FIXTURES, run_cli
from tests.fakes.kube_api import FakeKube

SNAPSHOT = str(FIXTURES / "dns" / "cluster")

# man 7 signal, x86/ARM: written out here independently of handlers/exit_code.py.
SIGNAL_NAMES = {
    1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 5: "SIGTRAP", 6: "SIGABRT", 7: "SIGBUS",
    8: "SIGFPE", 9: "SIGKILL", 10: "SIGUSR1", 11: "SIGSEGV", 12: "SIGUSR2", 13: "SIGPIPE",
    14: "SIGALRM", 15: "SIGTERM", 16: "SIGSTKFLT", 17: "SIGCHLD", 18: "SIGCONT", 19: "SIGSTOP",
    20: "SIGTSTP", 21: "SIGTTIN", 22: "SIGTTOU", 23: "SIGURG", 24: "SIGXCPU", 25: "SIGXFSZ",
    26: "SIGVTALRM", 27: "SIGPROF", 28: "SIGWINCH", 29: "SIGIO", 30: "SIGPWR", 31: "SIGSYS",
}  # fmt: skip
# Default action Ign, Stop or Cont: these cannot end a process by themselves.
NOT_FATAL = {17, 18, 19, 20, 21, 22, 23, 28}


def ask(query: str, *extra: str) -> dict[str, Any]:
    run = run_cli("ask", query, "--format", "json", *extra)
    assert run.returncode == 0, run.stderr
    answer: dict[str, Any] = run.json()
    return answer


def codes(answer: dict[str, Any]) -> list[str]:
    return [f["code"] for f in answer["findings"]]


def finding(answer: dict[str, Any], code: str) -> dict[str, Any]:
    found = [f for f in answer["findings"] if f["code"] == code]
    assert found, f"{code} not in {codes(answer)}"
    return found[0]


# -- offline: every class of code ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "expected", "words"),
    [
        (0, ["EXIT-SUCCESS"], "success"),
        (1, ["EXIT-GENERIC"], "general error"),
        (2, ["EXIT-USAGE"], "usage error"),
        (3, ["EXIT-APP"], "chosen by the application"),
        (42, ["EXIT-APP"], "chosen by the application"),
        (126, ["EXIT-NOT-EXECUTABLE"], "not executable"),
        (127, ["EXIT-NOT-FOUND"], "command not found"),
        (128, ["EXIT-START-ERROR"], "not a signal"),
        (137, ["EXIT-SIGKILL"], "128 + 9: killed by SIGKILL"),
        (139, ["EXIT-SIGSEGV"], "segmentation fault"),
        (143, ["EXIT-SIGTERM"], "128 + 15: stopped by SIGTERM"),
        (193, ["EXIT-APP"], "chosen by the application"),
        (255, ["EXIT-255"], "exit(-1)"),
    ],
)
def test_exit_code_classes_offline(code: int, expected: list[str], words: str) -> None:
    answer = ask(f"exit {code}")
    assert codes(answer) == expected
    assert words in answer["findings"][0]["title"]
    assert answer["target"] == {"kind": "ExitCode", "namespace": None, "name": str(code)}
    assert answer["notes"] == ["No cluster or snapshot given: answered from knowledge only."]
    assert answer["partial"] is False


@pytest.mark.parametrize("n", sorted(SIGNAL_NAMES))
def test_every_classic_signal_is_named(n: int) -> None:
    answer = ask(f"exit {128 + n}")
    f = answer["findings"][0]
    assert f"128 + {n}" in f["title"]
    assert SIGNAL_NAMES[n] in f["title"]
    if n in NOT_FATAL:
        assert f["code"] == "EXIT-SIGNAL"
        assert "probably not a signal" in f["title"]
        assert "cannot end a process by itself" in f["detail"]
    else:
        assert "not a signal" not in f["title"]


@pytest.mark.parametrize(
    ("code", "name"),
    [(162, "SIGRTMIN"), (163, "SIGRTMIN+1"), (178, "SIGRTMIN+16"), (192, "SIGRTMAX")],
)
def test_real_time_signals_named_as_kill_l_prints_them(code: int, name: str) -> None:
    f = ask(f"exit {code}")["findings"][0]
    assert f["code"] == "EXIT-SIGNAL"
    assert f"({name})" in f["title"]
    assert "real-time signal" in f["detail"]


def test_real_time_signal_32_has_no_glibc_name() -> None:
    f = ask("exit 160")["findings"][0]
    assert f["title"].startswith("exit 160 = 128 + 32: killed by a signal")
    assert "glibc keeps them for its threads" in f["detail"]


def test_codes_above_192_cannot_be_signals() -> None:
    f = ask("exit 200")["findings"][0]
    assert f["code"] == "EXIT-APP"
    assert "cannot come from a signal" in f["detail"]


def test_sysexits_names_are_given() -> None:
    assert "EX_CONFIG (configuration error)" in ask("exit 78")["findings"][0]["detail"]
    assert "EX_USAGE" in ask("exit 64")["findings"][0]["detail"]
    assert "sysexits" not in ask("exit 63")["findings"][0]["detail"]


def test_137_explains_oomkilled_and_the_other_sigkills() -> None:
    f = ask("exit 137")["findings"][0]
    assert f["code"] == "EXIT-SIGKILL"
    detail = f["detail"]
    assert "`OOMKilled`" in detail and "memory limit" in detail
    assert "terminationGracePeriodSeconds (default 30 s)" in detail
    assert "liveness" in detail and "kill -9" in detail
    assert "ContainerStatusUnknown" in detail


def test_exit_128_is_start_error_not_signal() -> None:
    f = ask("exit 128")["findings"][0]
    assert "StartError" in f["detail"]
    assert "signals start at 129" in f["detail"]


def test_exit_255_is_explained_once() -> None:
    assert codes(ask("exit 255")) == ["EXIT-255"]


def test_minus_one_is_255() -> None:
    answer = ask("exit -1")
    assert codes(answer) == ["EXIT-OUT-OF-RANGE", "EXIT-255"]
    first = answer["findings"][0]
    assert "exited with 255" in first["title"]
    assert "Go os.Exit(-1)" in first["detail"]
    assert "-1 is SIGHUP" in first["detail"]  # Python subprocess's -N reading


def test_minus_nine_mentions_python_sigkill() -> None:
    detail = ask("exit -9")["findings"][0]["detail"]
    assert "seen as 247" in detail
    assert "-9 is SIGKILL, which a container would report as 137" in detail


def test_256_reads_as_wait_status_and_as_8_bit_wrap() -> None:
    answer = ask("exit 256")
    assert codes(answer) == ["EXIT-OUT-OF-RANGE", "EXIT-GENERIC"]
    detail = answer["findings"][0]["detail"]
    assert "256 >> 8 = 1" in detail
    assert "the parent sees 0" in detail


@pytest.mark.parametrize(
    ("raw", "exit_code", "follow"),
    [(65280, 255, "EXIT-255"), (32512, 127, "EXIT-NOT-FOUND"), (35072, 137, "EXIT-SIGKILL")],
)
def test_raw_wait_statuses_are_decoded(raw: int, exit_code: int, follow: str) -> None:
    answer = ask(f"exit {raw}")
    assert codes(answer) == ["EXIT-OUT-OF-RANGE", follow]
    first = answer["findings"][0]
    assert f"raw wait() status meaning exit {exit_code}" in first["title"]
    assert f"{raw} >> 8 = {exit_code}" in first["detail"]
    assert "os.system()" in first["detail"]


def test_big_value_is_not_an_exit_status() -> None:
    answer = ask("exit 999999")
    assert codes(answer) == ["EXIT-OUT-OF-RANGE"]
    f = answer["findings"][0]
    assert "not a Linux exit status (0x000F423F)" in f["title"]
    assert "999999 mod 256 = 63" in f["detail"]
    assert "Windows" in f["detail"]


def test_out_of_range_that_is_no_wait_status_wraps() -> None:
    answer = ask("exit 300")
    assert codes(answer) == ["EXIT-OUT-OF-RANGE", "EXIT-APP"]
    assert "300 mod 256 = 44" in answer["findings"][0]["detail"]
    assert answer["findings"][1]["title"].startswith("exit 44")


def test_hex_codes_are_accepted() -> None:
    f = ask("exit 0xC0000005")["findings"][0]
    assert "0xC0000005" in f["title"]


def test_no_double_spaces_or_empty_sentences() -> None:
    for code in (0, 2, 78, 126, 128, 130, 137, 145, 160, 200, 255, -1, 256, 65280, 999999):
        for f in ask(f"exit {code}")["findings"]:
            for text in (f["title"], f["detail"]):
                assert "  " not in text, (code, text)
                assert " ." not in text and "..." not in text, (code, text)


# -- usage errors ---------------------------------------------------------------------------------


def test_exit_without_argument_is_usage_error() -> None:
    run = run_cli("ask", "exit")
    assert run.returncode == 2
    assert "exit" in run.stderr and "Traceback" not in run.stderr


def test_exit_with_two_arguments_is_usage_error() -> None:
    run = run_cli("ask", "exit 1 2")
    assert run.returncode == 2


def test_exit_pod_needs_a_cluster() -> None:
    run = run_cli("ask", "exit es-0 -n logging")
    assert run.returncode == 1
    assert "needs a cluster" in run.stderr


# -- with a snapshot ------------------------------------------------------------------------------


def test_exit_137_lists_containers_newest_first_with_reasons() -> None:
    answer = ask("exit 137", "--snapshot", SNAPSHOT)
    assert codes(answer) == ["EXIT-SIGKILL", "EXIT-CONTAINERS"]
    listed = finding(answer, "EXIT-CONTAINERS")
    assert listed["title"] == "4 containers in all namespaces last exited with 137 (1 OOMKilled)"
    assert listed["evidence"][0].startswith("apps/api-6b9d8c7f5d-m7n8p api: exit 137 Error")
    assert any("cart-5c8f7d9b6c-q2w4z cart: exit 137 OOMKilled" in e for e in listed["evidence"])
    assert any("exit 137 ContainerStatusUnknown" in e for e in listed["evidence"])
    assert listed["next_steps"][0] == "kubectl -n apps describe pod api-6b9d8c7f5d-m7n8p"
    assert answer["notes"] == []


def test_exit_code_scoped_to_namespace_without_matches() -> None:
    answer = ask("exit 137 -n batch", "--snapshot", SNAPSHOT)
    assert codes(answer) == ["EXIT-SIGKILL", "EXIT-NO-CONTAINERS"]
    assert finding(answer, "EXIT-NO-CONTAINERS")["title"] == "No container in batch last exited with 137"


def test_exit_0_lists_completed_job_pod_without_previous_flag() -> None:
    answer = ask("exit 0 -n batch", "--snapshot", SNAPSHOT)
    listed = finding(answer, "EXIT-CONTAINERS")
    assert "backup-29926620-x7k2p backup: exit 0 Completed" in listed["evidence"][0]
    assert "--previous" not in listed["next_steps"][1]


def test_pod_oomkilled_with_its_limit() -> None:
    answer = ask("exit cart-5c8f7d9b6c-q2w4z -n apps", "--snapshot", SNAPSHOT)
    assert answer["target"] == {"kind": "Pod", "namespace": "apps", "name": "cart-5c8f7d9b6c-q2w4z"}
    assert answer["status"] == "Running"
    f = finding(answer, "EXIT-OOMKILLED")
    assert f["severity"] == "error"
    assert f["title"].startswith("apps/cart-5c8f7d9b6c-q2w4z cart: OOMKilled (exit 137 = 128 + 9, SIGKILL)")
    assert "the container's limit (256Mi)" in f["detail"]
    assert f["evidence"][0].startswith("lastState.terminated: exitCode=137 reason=OOMKilled")
    assert "kubectl -n apps top pod cart-5c8f7d9b6c-q2w4z --containers" in f["next_steps"]


def test_pod_137_after_liveness_failures_is_not_oom() -> None:
    answer = ask("exit api-6b9d8c7f5d-m7n8p", "--snapshot", SNAPSHOT)
    f = finding(answer, "EXIT-SIGKILL")
    assert "not OOMKilled" in f["title"]
    assert "failed liveness probes" in f["detail"]
    assert "30 s grace period" in f["detail"]
    assert f["severity"] == "warning"  # it is running again
    assert any(e.startswith("event Killing: Container api failed liveness probe") for e in f["evidence"])
    assert any(e.startswith("event Unhealthy: Liveness probe failed") for e in f["evidence"])


def test_pod_137_from_eviction() -> None:
    answer = ask("exit batcher-9b8c7d6f5d-h2j4k -n apps", "--snapshot", SNAPSHOT)
    f = finding(answer, "EXIT-SIGKILL")
    assert "was evicted" in f["detail"]
    assert f["severity"] == "error"
    assert any(
        e.startswith("pod status.reason=Evicted: The node was low on resource: memory.")
        for e in f["evidence"]
    )


def test_pod_container_status_unknown_is_not_a_real_exit() -> None:
    f = finding(ask("exit report-8c9d7b6f5c-l5m6n -n apps", "--snapshot", SNAPSHOT), "EXIT-STATUS-UNKNOWN")
    assert "not a real exit code" in f["title"]
    assert "`The container could not be located when the pod was terminated`" in f["detail"]
    assert f["severity"] == "warning"


def test_pod_init_container_start_error_128() -> None:
    answer = ask("exit migrate-db-4kq9w -n apps", "--snapshot", SNAPSHOT)
    assert codes(answer) == ["EXIT-START-ERROR", "EXIT-NOT-TERMINATED"]
    assert answer["status"] == "Init:CrashLoopBackOff"
    f = answer["findings"][0]
    assert f["title"] == (
        "apps/migrate-db-4kq9w migrate (init container): StartError (exit 128):"
        " the container's process never started"
    )
    assert "(ran" not in f["evidence"][0]  # startedAt is 1970-01-01 for a process that never ran
    assert 'exec: "/app/migrate": stat /app/migrate: no such file or directory' in f["evidence"][1]
    assert 'initContainers[?(@.name=="migrate")].image' in f["next_steps"][1]
    waiting = answer["findings"][1]
    assert waiting["title"] == "apps/migrate-db-4kq9w app has no exit code: PodInitializing"


def test_pod_segfault_crashloop() -> None:
    f = finding(ask("exit imgproc-5d6f7b8c9d-r4s5t -n apps", "--snapshot", SNAPSHOT), "EXIT-SIGSEGV")
    assert f["severity"] == "error"
    assert f["next_steps"] == [
        "kubectl -n apps logs imgproc-5d6f7b8c9d-r4s5t -c imgproc --previous --tail=50"
    ]


def test_pod_exit_0_in_deployment_explains_restart_policy() -> None:
    f = finding(ask("exit oneshot-6c5d4f8b9d-v7w8x -n apps", "--snapshot", SNAPSHOT), "EXIT-SUCCESS")
    assert "restart policy is Always" in f["detail"]
    assert "CrashLoopBackOff" in f["detail"]


def test_pod_143_sigterm() -> None:
    f = finding(ask("exit notifier-7f6d5c4b9d-z5x6c -n apps", "--snapshot", SNAPSHOT), "EXIT-SIGTERM")
    assert f["severity"] == "warning"
    assert "Repeated 143 with restarts" in f["detail"]


def test_pod_not_found_suggests_close_names() -> None:
    run = run_cli("ask", "exit web-7d4b9c8f6d-x2x9k -n apps", "--snapshot", SNAPSHOT)
    assert run.returncode == 1
    assert "shop/web-7d4b9c8f6d-x2x9k" in run.stderr


# -- formats --------------------------------------------------------------------------------------


def test_text_format_reads_well() -> None:
    run = run_cli("ask", "exit cart-5c8f7d9b6c-q2w4z -n apps", "--snapshot", SNAPSHOT)
    assert run.returncode == 0, run.stderr
    assert "[error] apps/cart-5c8f7d9b6c-q2w4z cart: OOMKilled" in run.stdout
    assert "STATUS: Running" in run.stdout
    assert re.search(r"^  > kubectl -n apps top pod cart-5c8f7d9b6c-q2w4z --containers$", run.stdout, re.M)


def test_slack_format_is_block_kit() -> None:
    run = run_cli("ask", "exit 65280", "--format", "slack")
    assert run.returncode == 0, run.stderr
    messages = json.loads(run.stdout)
    blocks = messages[0]["blocks"]
    texts = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert any("raw wait() status meaning exit 255" in t for t in texts)
    assert all(len(t) <= 3000 for t in texts)


# -- the example snapshot and the live path (fake API server) -------------------------------------


def test_example_snapshot_oomkilled_elasticsearch() -> None:
    answer = ask("exit es-2 -n logging", "--snapshot", str(EXAMPLE))
    assert answer["target"] == {"kind": "Pod", "namespace": "logging", "name": "es-2"}
    f = finding(answer, "EXIT-OOMKILLED")
    assert f["title"].startswith("logging/es-2 elasticsearch: OOMKilled (exit 137 = 128 + 9, SIGKILL)")
    listed = finding(ask("exit 137", "--snapshot", str(EXAMPLE)), "EXIT-CONTAINERS")
    assert any(e.startswith("logging/es-2 elasticsearch: exit 137 OOMKilled") for e in listed["evidence"])


def test_live_cluster_pod_exit_codes(fake_kube: FakeKube) -> None:
    fake_kube.serve(SNAPSHOT)
    run = run_cli("ask", "exit cart-5c8f7d9b6c-q2w4z -n apps", "--format", "json", env=fake_kube.env())
    assert run.returncode == 0, run.stderr
    f = finding(run.json(), "EXIT-OOMKILLED")
    assert "the container's limit (256Mi)" in f["detail"]
    assert fake_kube.received("GET", "/api/v1/namespaces/apps/pods/cart-5c8f7d9b6c-q2w4z") >= 1


def test_live_cluster_code_lists_one_namespace(fake_kube: FakeKube) -> None:
    fake_kube.serve(SNAPSHOT)
    run = run_cli("ask", "exit 137 -n apps", "--format", "json", env=fake_kube.env())
    assert run.returncode == 0, run.stderr
    listed = finding(run.json(), "EXIT-CONTAINERS")
    assert listed["title"] == "4 containers in apps last exited with 137 (1 OOMKilled)"
    assert fake_kube.received("GET", "/api/v1/namespaces/apps/pods") == 1
    assert fake_kube.received("GET", "/api/v1/pods") == 0


def test_live_cluster_forbidden_pods_is_partial_not_an_error(fake_kube: FakeKube) -> None:
    fake_kube.serve(SNAPSHOT)
    fake_kube.fail("/api/v1/namespaces/apps/pods", 403)
    run = run_cli("ask", "exit 137 -n apps", "--format", "json", env=fake_kube.env())
    assert run.returncode == 0, run.stderr
    answer = run.json()
    assert codes(answer) == ["EXIT-SIGKILL", "EXIT-NO-CONTAINERS"]
    assert answer["partial"] is True
    assert any("Pod" in n and "forbidden" in n for n in answer["notes"]), answer["notes"]

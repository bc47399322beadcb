"""`why <pod>` on every realistic case in tests/fixtures/why/, asked as a user asks it:
`k8s-bot ask "why <pod> -n <ns>" --format json`, once from the snapshot file and once against the fake
Kubernetes API server serving the same objects. Both answers must name the same cause, quote the key
facts (EXPECTED.yaml), show kubectl's STATUS, never leak a secret from a log, and cost the API server
at most five requests.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import FIXTURES, run_cli
from tests.fakes.kube_api import FakeKube

WHY = FIXTURES / "why"
EXPECTED: dict[str, dict[str, Any]] = yaml.safe_load((WHY / "EXPECTED.yaml").read_text(encoding="utf-8"))

#: The findings each answer must have, in order (other findings may follow). The first is the cause.
CODES: dict[str, tuple[str, ...]] = {
    "completed": ("POD-COMPLETED",),
    "configmap-key-missing": ("POD-MISSING-CONFIGMAP-KEY",),
    "configmap-missing": ("POD-MISSING-CONFIGMAP",),
    "container-status-unknown": ("POD-FAILED",),
    "crashloop-app-error": ("POD-CRASHLOOP",),
    "crashloop-exit127-shell": ("POD-COMMAND-NOT-FOUND",),
    "create-container-error": ("POD-CREATE-CONTAINER-ERROR",),
    "err-image-never-pull": ("POD-IMAGE-NEVER-PULL",),
    "evicted-ephemeral-storage": ("POD-EVICTED",),
    "evicted-memory": ("POD-EVICTED", "NODE-PRESSURE"),
    "exec-format-error": ("POD-EXEC-FORMAT",),
    "failed-attach-volume": ("POD-ATTACH-FAILED",),
    "failed-mount-configmap": ("POD-MISSING-CONFIGMAP",),
    "healthy": ("POD-HEALTHY",),
    "healthy-with-warnings": ("POD-HEALTHY", "POD-WARNING-EVENTS", "POD-OOMKILLED"),
    "image-not-found": ("POD-IMAGE-NOT-FOUND",),
    "image-rate-limited": ("POD-IMAGE-RATE-LIMITED",),
    "image-registry-unreachable": ("POD-IMAGE-REGISTRY-UNREACHABLE",),
    "image-unauthorized": ("POD-IMAGE-UNAUTHORIZED",),
    "init-crashloop": ("POD-CRASHLOOP",),
    "init-error": ("POD-CONTAINER-FAILED", "JOB-STATUS"),
    "init-waiting": ("POD-INIT-RUNNING",),
    "invalid-image-name": ("POD-IMAGE-INVALID-NAME",),
    "liveness-probe-restart": ("POD-LIVENESS-FAILED",),
    "multi-container-one-crashing": ("POD-CRASHLOOP",),
    "node-not-ready": ("NODE-NOT-READY",),
    "not-executable-126": ("POD-NOT-EXECUTABLE",),
    "oomkilled": ("POD-OOMKILLED",),
    "pending-insufficient-resources": (
        "SCHED-FAILED",
        "SCHED-INSUFFICIENT",
        "SCHED-INSUFFICIENT",
        "SCHED-TAINT",
    ),
    "pending-node-selector": ("SCHED-FAILED", "SCHED-TAINT", "SCHED-NODE-AFFINITY"),
    "pending-taint": ("SCHED-FAILED", "SCHED-TAINT", "SCHED-TAINT", "SCHED-REASON"),
    "pending-too-many-pods": ("SCHED-FAILED", "SCHED-REASON"),
    "pending-unbound-pvc": ("SCHED-FAILED", "SCHED-PVC"),
    "post-start-hook-error": ("POD-POSTSTART-HOOK-FAILED",),
    "preempted": ("POD-PREEMPTED",),
    "readiness-not-ready": ("POD-READINESS-FAILED",),
    "rollout-broke-it": ("POD-CRASHLOOP", "WORKLOAD-ROLLOUT-CHANGE"),
    "run-container-error": ("POD-START-ERROR",),
    "runasnonroot": ("POD-RUN-AS-NON-ROOT",),
    "sandbox-cni": ("POD-SANDBOX-FAILED",),
    "secret-missing": ("POD-MISSING-SECRET",),
    "segfault-139": ("POD-CONTAINER-FAILED", "JOB-STATUS"),
    "sidecar-init": ("POD-OOMKILLED",),
    "sigkill-137-no-oom": ("POD-LIVENESS-FAILED",),
    "sigterm-143": ("POD-STARTUP-PROBE-FAILED",),
    "starterror-exec-not-found": ("POD-COMMAND-NOT-FOUND",),
    "terminating-stuck": ("POD-STUCK-TERMINATING",),
}

#: EXPECTED.yaml facts an answer cannot know within five requests (the Deployment object, another
#: pod's logs); the answer gives the command that shows them instead.
OUT_OF_REACH: dict[str, frozenset[str]] = {
    "rollout-broke-it": frozenset({"deployment_condition"}),
    "sandbox-cni": frozenset({"cni_pod", "cni_log"}),
}

#: Findings that depend on the clock. A snapshot answers at its own time (10:00); the fake API server
#: serves the same objects hours later by the wall clock, when a pod deleted at 09:59:59 is overdue.
CLOCK: dict[str, dict[str, tuple[str, ...]]] = {
    "preempted": {"snapshot": ("POD-TERMINATING",), "live": ("POD-STUCK-TERMINATING",)},
}


def _text(answer: dict[str, Any]) -> str:
    return "\n".join(
        "\n".join([f["title"], f["detail"], *f["evidence"], *f["next_steps"]]) for f in answer["findings"]
    )


def _codes(answer: dict[str, Any]) -> list[str]:
    return [f["code"] for f in answer["findings"]]


def _query(case: str) -> str:
    e = EXPECTED[case]
    return f"why {e['pod']} -n {e['namespace']}"


def _check(case: str, answer: dict[str, Any], mode: str) -> None:
    e = EXPECTED[case]
    assert answer["verb"] == "why"
    assert answer["target"] == {"kind": "Pod", "namespace": e["namespace"], "name": e["pod"]}
    assert answer["status"] == e["status"], "STATUS differs from kubectl's"
    codes = _codes(answer)
    expected = CODES[case]
    if case not in CLOCK:
        assert codes[0] == expected[0], codes
    rest = iter(codes)
    assert all(code in rest for code in expected), f"{expected} not in order in {codes}"
    for code in CLOCK.get(case, {}).get(mode, ()):
        assert code in codes
    text = _text(answer)
    for fact in e.get("facts", ()):
        for key, value in fact.items():
            if key not in OUT_OF_REACH.get(case, frozenset()):
                assert str(value) in text, f"fact {key}={value!r} missing from the answer"
    blob = json.dumps(answer)
    for secret in e.get("must_not_contain", ()):
        assert secret not in blob
    for f in answer["findings"]:
        assert f["severity"] in ("error", "warning", "info")
        assert f["title"] and "{{" not in f["title"] + f["detail"]
        assert all(s.strip() for s in f["next_steps"])


@pytest.fixture(scope="module")
def kube() -> Iterator[FakeKube]:
    """One fake API server per test module (per xdist worker); each test serves its own case."""
    with FakeKube.start() as k:
        yield k


def _live(kube: FakeKube, case: str, query: str | None = None) -> Any:
    kube.serve(WHY / EXPECTED[case]["file"])
    kube.reset_requests()
    run = run_cli(
        "ask", query or _query(case), "--format", "json", "--kubeconfig", str(kube.kubeconfig), env=kube.env()
    )
    assert run.returncode == 0, run.stderr
    return run.json()


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_why_from_the_snapshot(case: str) -> None:
    run = run_cli("ask", _query(case), "--format", "json", "--snapshot", str(WHY / EXPECTED[case]["file"]))
    assert run.returncode == 0, run.stderr
    _check(case, run.json(), "snapshot")


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_why_against_the_api_server_in_five_requests(case: str, kube: FakeKube) -> None:
    answer = _live(kube, case)
    _check(case, answer, "live")
    e = EXPECTED[case]
    requests = kube.requests
    paths = [r.path for r in requests]
    assert len(requests) <= 5, paths
    assert paths[0] == f"/api/v1/namespaces/{e['namespace']}/pods/{e['pod']}"
    events = [r for r in requests if r.path.endswith("/events")]
    assert events, "the pod's events were not read"
    assert events[0].query["fieldSelector"].startswith("involvedObject.uid=")
    assert not any("/secrets" in p for p in paths), "a Secret was read"
    assert not answer["partial"]


def test_snapshot_and_live_answers_agree_where_the_clock_does_not_matter(kube: FakeKube) -> None:
    case = "rollout-broke-it"
    live = _live(kube, case)
    snap = run_cli("ask", _query(case), "--format", "json", "--snapshot", str(WHY / EXPECTED[case]["file"]))
    assert _codes(snap.json()) == _codes(live)
    change = _finding(live, "WORKLOAD-ROLLOUT-CHANGE")
    assert "revision 4, new" in change["evidence"][0]
    assert "container app: envFrom [ConfigMap app-config] -> [ConfigMap app-config-v2]" in change["evidence"]
    assert "kubectl -n why-rollout rollout undo deploy/app --to-revision=3" in _text(live)


# -- the answers' content, case by case, where a generic fact check says too little -----------------


def _snapshot(case: str, query: str | None = None) -> dict[str, Any]:
    run = run_cli(
        "ask", query or _query(case), "--format", "json", "--snapshot", str(WHY / EXPECTED[case]["file"])
    )
    assert run.returncode == 0, run.stderr
    answer: dict[str, Any] = run.json()
    return answer


def _finding(answer: dict[str, Any], code: str) -> dict[str, Any]:
    return next(f for f in answer["findings"] if f["code"] == code)


def test_oomkilled_names_the_limit_the_request_and_the_runtime_ceiling() -> None:
    f = _finding(_snapshot("oomkilled"), "POD-OOMKILLED")
    assert "memory limit of 512Mi" in f["title"]
    assert "request 256Mi" in f["detail"]
    assert "env GOMEMLIMIT=1800MiB (1.8Gi) is not below limits.memory 512Mi" in f["evidence"]
    assert any(
        e.startswith("Last State: Terminated, Reason: OOMKilled, Exit Code: 137") for e in f["evidence"]
    )
    assert any(e.startswith("Warning BackOff ") and " (x" in e for e in f["evidence"])
    assert (
        "kubectl -n why-oom logs pricing-engine-775cbdb9f8-q44sg -c pricing-engine --previous --tail=50"
        in (f["next_steps"])
    )


def test_sigkill_without_oom_is_the_liveness_probe_and_a_shell_as_pid1() -> None:
    f = _finding(_snapshot("sigkill-137-no-oom"), "POD-LIVENESS-FAILED")
    assert "exit code 137" in f["detail"] and "grace period" in f["detail"]
    assert "`sh -c ...` as PID 1" in f["detail"]
    assert "OOMKilled" not in f["title"]
    assert any(e.startswith("Liveness: http-get http://:health/healthz") for e in f["evidence"])
    # The named port is resolved for the command a user can run.
    assert any("wget -qO- -T 1 http://localhost:8081/healthz" in s for s in f["next_steps"])


def test_configmap_key_missing_lists_the_keys_that_exist_without_reading_secrets() -> None:
    f = _finding(_snapshot("configmap-key-missing"), "POD-MISSING-CONFIGMAP-KEY")
    assert "DATABASE_HOST, DATABASE_NAME, DATABASE_PORT" in f["detail"]
    assert "Did you mean" not in f["detail"]  # DATABASE_URL is not DATABASE_PORT
    assert any("env DATABASE_URL (configMapKeyRef) of container orders" in e for e in f["evidence"])


def test_image_pull_secret_that_does_not_exist_is_named() -> None:
    f = _finding(_snapshot("image-unauthorized"), "POD-IMAGE-UNAUTHORIZED")
    assert "imagePullSecret regcred does not exist" in f["title"]
    assert "kubectl -n why-imgauth get secrets regcred" in f["next_steps"]


def test_registry_dns_failure_quotes_the_cause_not_the_first_words() -> None:
    f = _finding(_snapshot("image-registry-unreachable"), "POD-IMAGE-REGISTRY-UNREACHABLE")
    assert "(DNS lookup failed)" in f["title"]
    assert "`no such host`" in f["detail"]


def test_pending_pvc_reads_the_claim_its_events_and_its_storage_class() -> None:
    f = _finding(_snapshot("pending-unbound-pvc"), "SCHED-PVC")
    assert "data-orders-db-0 (Pending)" in f["title"]
    assert any(e.startswith("PVC data-orders-db-0: Normal ExternalProvisioning") for e in f["evidence"])
    assert (
        "StorageClass gp3: provisioner ebs.csi.aws.com, volumeBindingMode Immediate, reclaimPolicy Delete"
        in (f["evidence"])
    )


def test_insufficient_resources_compare_the_request_with_every_node() -> None:
    answer = _snapshot("pending-insufficient-resources")
    cpu, memory = (f for f in answer["findings"] if f["code"] == "SCHED-INSUFFICIENT")
    assert "too little cpu for its request of 12" in cpu["title"]
    assert "larger than the allocatable cpu of every node (8 at most)" in cpu["detail"]
    assert "too little memory for its request of 48Gi" in memory["title"]
    taint = _finding(answer, "SCHED-TAINT")
    assert "Nodes with taint node-role.kubernetes.io/control-plane=:NoSchedule: cp-1" in taint["evidence"]


def test_multi_attach_after_a_rolling_update_recommends_recreate() -> None:
    f = _finding(_snapshot("failed-attach-volume"), "POD-ATTACH-FAILED")
    assert "older replica of the same Deployment wiki" in f["detail"]
    assert any('"type":"Recreate"' in s for s in f["next_steps"])


def test_node_shutdown_says_the_137_is_not_a_real_exit_and_quotes_the_node() -> None:
    f = _finding(_snapshot("container-status-unknown"), "POD-FAILED")
    assert "it is not a real exit" in f["detail"]
    assert any(e.startswith("Node worker-2: Warning Rebooted") for e in f["evidence"])


def test_stuck_terminating_names_the_finalizer_and_the_hung_mount() -> None:
    f = _finding(_snapshot("terminating-stuck"), "POD-STUCK-TERMINATING")
    assert "finalizer acme.io/session-drain" in f["title"]
    assert "FailedKillPod" in f["detail"]
    assert "Volume reports: nfs nfs01.corp.internal:/exports/reports" in f["evidence"]
    assert (
        "kubectl -n why-terminating delete pod legacy-reports-76dc65456b-7xt2x --grace-period=0 --force"
        in (f["next_steps"])
    )


def test_failed_job_pod_reads_its_job() -> None:
    answer = _snapshot("segfault-139")
    assert "(SIGSEGV)" in _finding(answer, "POD-CONTAINER-FAILED")["title"]
    job = _finding(answer, "JOB-STATUS")
    assert "failed: BackoffLimitExceeded" in job["title"]


def test_log_tails_are_redacted() -> None:
    f = _finding(_snapshot("crashloop-app-error"), "POD-CRASHLOOP")
    log = next(e for e in f["evidence"] if e.startswith("$ kubectl -n ") and " -c worker --previous" in e)
    assert "401 Client Error: Unauthorized" in log
    assert "eyJ" not in log


def test_partial_data_still_answers(tmp_path: Path, kube: FakeKube) -> None:
    case = "oomkilled"
    e = EXPECTED[case]
    kube.serve(WHY / e["file"])
    kube.fail(f"/api/v1/namespaces/{e['namespace']}/events", 403)
    kube.fail("/api/v1/nodes/", 500)
    try:
        run = run_cli(
            "ask", _query(case), "--format", "json", "--kubeconfig", str(kube.kubeconfig), env=kube.env()
        )
    finally:
        kube.clear_faults()
    assert run.returncode == 0, run.stderr
    answer = run.json()
    assert answer["partial"] is True
    assert _codes(answer)[0] == "POD-OOMKILLED"
    notes = " ".join(answer["notes"])
    assert "Event" in notes and "Node" in notes

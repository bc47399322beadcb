"""`why` on the example snapshot (what `make demo` shows): workloads, name lookup, and the same
answers against the fake API server with their request counts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import EXAMPLE, run_cli
from tests.fakes.kube_api import FakeKube


def _ask(query: str, *extra: str) -> dict[str, Any]:
    run = run_cli("ask", query, "--format", "json", "--snapshot", str(EXAMPLE), *extra)
    assert run.returncode == 0, run.stderr
    answer: dict[str, Any] = run.json()
    return answer


def _codes(answer: dict[str, Any]) -> list[str]:
    return [f["code"] for f in answer["findings"]]


def _finding(answer: dict[str, Any], code: str) -> dict[str, Any]:
    return next(f for f in answer["findings"] if f["code"] == code)


@pytest.fixture(scope="module")
def kube() -> Iterator[FakeKube]:
    with FakeKube.start(EXAMPLE) as k:
        yield k


def _live(kube: FakeKube, query: str) -> dict[str, Any]:
    kube.reset_requests()
    run = run_cli("ask", query, "--format", "json", "--kubeconfig", str(kube.kubeconfig), env=kube.env())
    assert run.returncode == 0, run.stderr
    answer: dict[str, Any] = run.json()
    return answer


def test_es2_oomkilled_with_the_heap_as_big_as_the_limit() -> None:
    answer = _ask("why es-2 -n logging")
    assert answer["status"] == "CrashLoopBackOff"
    f = answer["findings"][0]
    assert f["code"] == "POD-OOMKILLED"
    assert "memory limit of 2Gi" in f["title"]
    assert "env ES_JAVA_OPTS: -Xmx2g (2Gi) is not below limits.memory 2Gi" in f["evidence"]
    assert any(
        e.startswith("$ kubectl -n logging logs es-2 -c elasticsearch --previous") for e in f["evidence"]
    )
    assert (
        "kubectl -n logging set resources sts/es -c elasticsearch --limits=memory=<more than 2Gi>"
        in (f["next_steps"])
    )


def test_deploy_web_summarises_the_stuck_rollout_and_its_change() -> None:
    answer = _ask("why deploy/web -n shop")
    assert answer["target"] == {"kind": "Deployment", "namespace": "shop", "name": "web"}
    assert _codes(answer)[:3] == ["DEPLOY-STATUS", "WORKLOAD-ROLLOUT-CHANGE", "POD-CRASHLOOP"]
    status = _finding(answer, "DEPLOY-STATUS")
    assert "rollout stuck (ProgressDeadlineExceeded)" in status["title"]
    assert any(e.startswith("ReplicaSet web-7f47f6554f (revision 4, new") for e in status["evidence"])
    assert any(e.startswith("ReplicaSet web-566b84df98 (revision 3, old") for e in status["evidence"])
    change = _finding(answer, "WORKLOAD-ROLLOUT-CHANGE")
    assert "container web: image shop/web:1.4.2 -> shop/web:1.5.0" in change["evidence"]
    assert "kubectl -n shop rollout undo deploy/web --to-revision=3" in change["next_steps"]
    pods = _finding(answer, "WORKLOAD-PODS")
    assert "4 pod(s)" in pods["title"]


def test_a_bare_workload_name_answers_for_the_workload() -> None:
    answer = _ask("why cart -n shop")
    assert answer["target"] == {"kind": "Deployment", "namespace": "shop", "name": "cart"}
    image = _finding(answer, "POD-IMAGE-NOT-FOUND")
    assert "cannot pull shop/cart:2.31" in image["title"]


def test_missing_configmap_of_the_api_pod() -> None:
    answer = _ask("why api-54c8965fcb-bgjwg -n shop")
    f = answer["findings"][0]
    assert f["code"] == "POD-MISSING-CONFIGMAP"
    assert "ConfigMap api-config, which does not exist in shop" in f["title"]


def test_pending_pod_counts_what_other_pods_request_on_each_node() -> None:
    answer = _ask("why recommender-75c97d6476-c5d6k -n shop")
    f = _finding(answer, "SCHED-INSUFFICIENT")
    assert "its request of 6" in f["title"]
    assert any(
        e.startswith("k8s-worker-02: allocatable 8, requested 2700m by 12 pods") for e in f["evidence"]
    )


def test_statefulset_rolling_update() -> None:
    answer = _ask("why sts/es -n logging")
    status = _finding(answer, "STS-STATUS")
    assert "rolling update" in status["title"]
    assert "Not ready: es-2 (CrashLoopBackOff)" in status["evidence"]
    assert "POD-OOMKILLED" in _codes(answer)


def test_cronjob_diagnoses_its_latest_job() -> None:
    answer = _ask("why cronjob/report -n shop")
    assert _codes(answer)[:2] == ["CRONJOB-STATUS", "JOB-STATUS"]


def test_namespace_inline_and_lookup_across_namespaces() -> None:
    assert _ask("why logging/es-2")["target"]["namespace"] == "logging"
    assert _ask("why es-2")["target"]["namespace"] == "logging"


def test_unknown_pod_is_exit_1_with_did_you_mean() -> None:
    run = run_cli("ask", "why es-3 -n logging", "--snapshot", str(EXAMPLE))
    assert run.returncode == 1
    assert "es-3" in run.stderr
    assert "logging/es-2" in run.stderr or "logging/es-0" in run.stderr


def test_why_needs_a_name_and_refuses_other_kinds() -> None:
    assert run_cli("ask", "why", "--snapshot", str(EXAMPLE)).returncode == 2
    assert run_cli("ask", "why svc/web -n shop", "--snapshot", str(EXAMPLE)).returncode == 2


def test_same_pod_name_in_two_namespaces_is_ambiguous(tmp_path: Path) -> None:
    docs = list(yaml.safe_load_all((EXAMPLE / "pods.yaml").read_text(encoding="utf-8")))
    pod = next(p for d in docs for p in d["items"] if p["metadata"]["name"] == "es-2")
    twin = {
        **pod,
        "metadata": {
            **pod["metadata"],
            "namespace": "staging",
            "uid": "0b0c4d9e-0000-4000-8000-000000000001",
        },
    }
    (tmp_path / "twin.yaml").write_text(yaml.safe_dump(twin), encoding="utf-8")
    run = run_cli("ask", "why es-2", "--snapshot", str(EXAMPLE), "--snapshot", str(tmp_path / "twin.yaml"))
    assert run.returncode == 1
    assert "logging/es-2" in run.stderr and "staging/es-2" in run.stderr


def test_live_pod_question_costs_five_requests_and_a_bare_name_two_more(kube: FakeKube) -> None:
    answer = _live(kube, "why es-2 -n logging")
    assert answer["findings"][0]["code"] == "POD-OOMKILLED"
    paths = [r.path for r in kube.requests]
    assert paths == [
        "/api/v1/namespaces/logging/pods/es-2",
        "/api/v1/namespaces/logging/events",
        "/api/v1/nodes/" + _node_of(kube),
        "/apis/apps/v1/namespaces/logging/controllerrevisions",
        "/api/v1/namespaces/logging/pods/es-2/log",
    ]
    log = kube.requests[-1].query
    assert log["previous"] == "true" and log["container"] == "elasticsearch"
    # Without -n: the default namespace, then one list across all namespaces, then the same five.
    _live(kube, "why es-2")
    paths = [r.path for r in kube.requests]
    assert paths[:2] == ["/api/v1/namespaces/default/pods/es-2", "/api/v1/pods"]
    assert len(paths) == 6  # the all-namespaces list already holds the pod: no second GET


def _node_of(kube: FakeKube) -> str:
    docs = yaml.safe_load((EXAMPLE / "pods.yaml").read_text(encoding="utf-8"))
    pod = next(p for p in docs["items"] if p["metadata"]["name"] == "es-2")
    return str(pod["spec"]["nodeName"])


def test_live_workload_question(kube: FakeKube) -> None:
    answer = _live(kube, "why deploy/web -n shop")
    assert _codes(answer)[:3] == ["DEPLOY-STATUS", "WORKLOAD-ROLLOUT-CHANGE", "POD-CRASHLOOP"]
    paths = [r.path for r in kube.requests]
    assert paths[0] == "/apis/apps/v1/namespaces/shop/deployments/web"
    assert paths.count("/apis/apps/v1/namespaces/shop/replicasets") == 1
    assert paths.count("/api/v1/namespaces/shop/pods") == 1
    assert not any("/secrets" in p for p in paths)

"""The `why` findings no realistic fixture happens to show (legacy reasons, rarer states), each on a
minimal pod, answered in-process from a snapshot file and rendered with the catalogue (so every code's
sentences are proven to render with the fields the handler gives). Also: the catalogue and the
handlers agree on codes and severities."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.catalogue import entries
from bot.clusters import Clusters
from bot.config import Settings
from bot.dispatch import ask
from bot.render import to_json, to_slack
from handlers.pod_diagnosis import DEFAULT_SEVERITY
from tests.conftest import ROOT

T0 = "2026-11-25T08:00:00Z"
NOW = "2026-11-25T10:00:00Z"


def _pod(
    name: str,
    containers: list[dict[str, Any]],
    statuses: list[dict[str, Any]],
    *,
    phase: str = "Running",
    node: str | None = "node-1",
    meta: dict[str, Any] | None = None,
    spec: dict[str, Any] | None = None,
    status: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": "t",
            "uid": f"uid-{name}",
            "creationTimestamp": T0,
            **(meta or {}),
        },
        "spec": {"containers": containers, **({"nodeName": node} if node else {}), **(spec or {})},
        "status": {"phase": phase, "startTime": T0, "containerStatuses": statuses, **(status or {})},
    }


def _node(name: str = "node-1", ready: str = "True", **status: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "uid": f"uid-{name}"},
        "status": {
            "conditions": [
                {"type": "Ready", "status": ready, "lastTransitionTime": T0},
                *status.get("conds", []),
            ],
            "allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"},
        },
    }


def _event(pod: str, reason: str, message: str, *, kind: str = "Warning", path: str = "") -> dict[str, Any]:
    inv = {"kind": "Pod", "namespace": "t", "name": pod, "uid": f"uid-{pod}"}
    if path:
        inv["fieldPath"] = path
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{pod}.{abs(hash(message)) % 10**8}", "namespace": "t"},
        "involvedObject": inv,
        "reason": reason,
        "message": message,
        "type": kind,
        "count": 3,
        "firstTimestamp": "2026-11-25T09:00:00Z",
        "lastTimestamp": NOW,
    }


def _waiting(name: str, reason: str, message: str = "") -> dict[str, Any]:
    w = {"reason": reason, **({"message": message} if message else {})}
    return {"name": name, "image": "img:1", "ready": False, "restartCount": 0, "state": {"waiting": w}}


def _c(name: str = "app", **kw: Any) -> dict[str, Any]:
    return {"name": name, "image": "img:1", **kw}


def _answer(tmp_path: Path, docs: list[dict[str, Any]], query: str) -> dict[str, Any]:
    path = tmp_path / "snap.yaml"
    path.write_text(yaml.safe_dump_all(docs), encoding="utf-8")
    out = ask(query, Clusters(Settings.from_env({}), snapshot=[str(path)]))
    assert out.error is None, out.error
    assert out.result is not None
    to_slack(out.result)  # renders and validates the Block Kit too
    answer: dict[str, Any] = to_json(out.result)
    return answer


CASES: list[tuple[str, list[dict[str, Any]], str, str]] = [
    (
        "legacy waiting reason",
        [_pod("a", [_c()], [_waiting("app", "RunInitContainerError")], phase="Pending"), _node()],
        "POD-WAITING",
        "legacy reason",
    ),
    (
        "legacy terminated reason",
        [
            _pod(
                "b",
                [_c()],
                [
                    {
                        "name": "app",
                        "ready": False,
                        "restartCount": 0,
                        "state": {"terminated": {"exitCode": 128, "reason": "ContainerCannotRun"}},
                    }
                ],
                phase="Failed",
                spec={"restartPolicy": "Never"},
            ),
            _node(),
        ],
        "POD-START-ERROR",
        "legacy dockershim name",
    ),
    (
        "other terminated reason",
        [
            _pod(
                "b2",
                [_c()],
                [
                    {
                        "name": "app",
                        "ready": False,
                        "restartCount": 0,
                        "state": {"terminated": {"exitCode": 1, "reason": "DeadlineExceeded"}},
                    }
                ],
                phase="Failed",
                spec={"restartPolicy": "Never"},
            ),
            _node(),
        ],
        "POD-CONTAINER-FAILED",
        "exited with code 1",
    ),
    (
        "node lost",
        [
            _pod(
                "c",
                [_c()],
                [],
                status={
                    "reason": "NodeLost",
                    "message": "Node node-1 which was running pod c is unresponsive",
                },
                meta={"deletionTimestamp": "2026-11-25T09:00:00Z"},
            ),
            _node(ready="Unknown"),
        ],
        "POD-NODE-LOST",
        "node node-1 was lost",
    ),
    (
        "scheduling gates",
        [
            _pod(
                "d",
                [_c()],
                [],
                phase="Pending",
                node=None,
                spec={"schedulingGates": [{"name": "kueue.x-k8s.io/admission"}]},
            )
        ],
        "POD-SCHEDULING-GATED",
        "kueue.x-k8s.io/admission",
    ),
    (
        "no scheduler looked",
        [_pod("e", [_c()], [], phase="Pending", node=None, spec={"schedulerName": "my-scheduler"})],
        "POD-NOT-SCHEDULED",
        "my-scheduler",
    ),
    (
        "pulling for long",
        [
            _pod("f", [_c()], [_waiting("app", "ContainerCreating")], phase="Pending"),
            _node(),
            _event("f", "Pulling", 'Pulling image "img:1"', kind="Normal", path="spec.containers{app}"),
        ],
        "POD-IMAGE-PULLING",
        "has been pulling img:1",
    ),
    (
        "creating without a word",
        [
            _pod("g", [_c()], [_waiting("app", "ContainerCreating")], phase="Pending"),
            _node(),
            _event("g", "Scheduled", "Successfully assigned t/g to node-1", kind="Normal"),
        ],
        "POD-CREATING-SLOW",
        "ContainerCreating",
    ),
    (
        "network not ready",
        [
            _pod("h", [_c()], [_waiting("app", "ContainerCreating")], phase="Pending"),
            _node(),
            _event(
                "h",
                "NetworkNotReady",
                "network is not ready: container runtime network not ready: NetworkReady=false "
                "reason:NetworkPluginNotReady message:Network plugin returns error: "
                "cni plugin not initialized",
            ),
        ],
        "POD-NETWORK-NOT-READY",
        "NetworkNotReady",
    ),
    (
        "pvc mount timeout",
        [
            _pod(
                "i",
                [_c()],
                [_waiting("app", "ContainerCreating")],
                phase="Pending",
                spec={"volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "data-i"}}]},
            ),
            _node(),
            _event(
                "i",
                "FailedMount",
                'MountVolume.MountDevice failed for volume "data" : rpc error: code = DeadlineExceeded '
                "desc = context deadline exceeded",
            ),
        ],
        "POD-MOUNT-FAILED",
        "persistentVolumeClaim data-i",
    ),
    (
        "image for another platform",
        [
            _pod("j", [_c()], [_waiting("app", "ImagePullBackOff")], phase="Pending"),
            _node(),
            _event(
                "j",
                "Failed",
                'Failed to pull image "img:1": rpc error: code = NotFound desc = failed to pull and unpack '
                'image "docker.io/library/img:1": no match for platform in manifest: not found',
                path="spec.containers{app}",
            ),
        ],
        "POD-IMAGE-PLATFORM",
        "no variant for this node's platform",
    ),
    (
        "unknown pull failure",
        [
            _pod("k", [_c()], [_waiting("app", "ErrImagePull")], phase="Pending"),
            _node(),
            _event(
                "k",
                "Failed",
                'Failed to pull image "img:1": rpc error: code = Unknown desc = something odd',
                path="spec.containers{app}",
            ),
        ],
        "POD-IMAGE-PULL-FAILED",
        "something odd",
    ),
    (
        "image inspect error",
        [
            _pod(
                "l",
                [_c()],
                [_waiting("app", "ImageInspectError", "Failed to inspect image")],
                phase="Pending",
            ),
            _node(),
        ],
        "POD-IMAGE-INSPECT-ERROR",
        "cannot inspect image img:1",
    ),
    (
        "signature",
        [
            _pod(
                "l2",
                [_c()],
                [_waiting("app", "SignatureValidationFailed", "signature invalid")],
                phase="Pending",
            ),
            _node(),
        ],
        "POD-IMAGE-SIGNATURE",
        "did not validate",
    ),
    (
        "secret key missing",
        [
            _pod(
                "m",
                [_c(env=[{"name": "PW", "valueFrom": {"secretKeyRef": {"name": "db", "key": "pw"}}}])],
                [_waiting("app", "CreateContainerConfigError", "couldn't find key pw in Secret t/db")],
                phase="Pending",
            ),
            _node(),
        ],
        "POD-MISSING-SECRET-KEY",
        "key pw of Secret db",
    ),
    (
        "other config error",
        [
            _pod(
                "n",
                [_c()],
                [
                    _waiting(
                        "app",
                        "CreateContainerConfigError",
                        "failed to sync configmap cache: timed out waiting for the condition",
                    )
                ],
                phase="Pending",
            ),
            _node(),
        ],
        "POD-CONFIG-ERROR",
        "failed to sync configmap cache",
    ),
    (
        "container status unknown, restarting",
        [
            _pod(
                "o",
                [_c()],
                [
                    {
                        "name": "app",
                        "ready": False,
                        "restartCount": 1,
                        "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                        "lastState": {
                            "terminated": {
                                "exitCode": 137,
                                "reason": "ContainerStatusUnknown",
                                "message": "The container could not be located when the pod was deleted.  "
                                "The container used to be Running",
                            }
                        },
                    }
                ],
            ),
            _node(),
        ],
        "POD-CONTAINER-UNKNOWN",
        "not a real exit",
    ),
    (
        "liveness failing, not yet restarted",
        [
            _pod(
                "p",
                [_c(livenessProbe={"tcpSocket": {"port": 5432}})],
                [{"name": "app", "ready": True, "restartCount": 0, "state": {"running": {"startedAt": T0}}}],
                status={"conditions": [{"type": "Ready", "status": "True"}]},
            ),
            _node(),
            _event(
                "p",
                "Unhealthy",
                "Liveness probe failed: dial tcp 10.0.0.1:5432: connect: connection refused",
                path="spec.containers{app}",
            ),
        ],
        "POD-LIVENESS-FAILING",
        "tcp-socket :5432",
    ),
    (
        "startup probe still running",
        [
            _pod(
                "q",
                [_c(startupProbe={"exec": {"command": ["cat", "/tmp/ready"]}, "failureThreshold": 30})],
                [
                    {
                        "name": "app",
                        "ready": False,
                        "started": False,
                        "restartCount": 0,
                        "state": {"running": {"startedAt": "2026-11-25T09:59:00Z"}},
                    }
                ],
            ),
            _node(),
        ],
        "POD-STARTUP-PENDING",
        "exec [cat /tmp/ready]",
    ),
    (
        "not ready, no probe",
        [
            _pod(
                "r",
                [_c()],
                [{"name": "app", "ready": False, "restartCount": 0, "state": {"running": {"startedAt": T0}}}],
                status={
                    "conditions": [{"type": "Ready", "status": "False", "reason": "ReadinessGatesNotReady"}]
                },
            ),
            _node(),
        ],
        "POD-NOT-READY",
        "ReadinessGatesNotReady",
    ),
    (
        "node gone",
        [
            _pod(
                "s",
                [_c()],
                [{"name": "app", "ready": True, "restartCount": 0, "state": {"running": {"startedAt": T0}}}],
                node="node-9",
            )
        ],
        "NODE-MISSING",
        "node-9",
    ),
    (
        "starting",
        [
            _pod(
                "u",
                [_c()],
                [_waiting("app", "ContainerCreating")],
                phase="Pending",
                meta={"creationTimestamp": "2026-11-25T09:59:30Z"},
                status={"startTime": "2026-11-25T09:59:30Z"},
            ),
            _node(),
            _event("u", "Scheduled", "Successfully assigned t/u to node-1", kind="Normal"),
        ],
        "POD-STARTING",
        "nothing wrong found yet",
    ),
]


@pytest.mark.parametrize(("label", "docs", "code", "words"), CASES, ids=[c[0] for c in CASES])
def test_rare_states(tmp_path: Path, label: str, docs: list[dict[str, Any]], code: str, words: str) -> None:
    name = docs[0]["metadata"]["name"]
    answer = _answer(tmp_path, docs, f"why {name} -n t")
    codes = [f["code"] for f in answer["findings"]]
    assert code in codes, codes
    f = next(f for f in answer["findings"] if f["code"] == code)
    assert words in f["title"] + " " + f["detail"] + " " + " ".join(f["evidence"])


def test_daemonset_replicaset_and_empty_workloads(tmp_path: Path) -> None:
    ds = {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "agent", "namespace": "t", "uid": "uid-ds"},
        "spec": {"selector": {"matchLabels": {"app": "agent"}}},
        "status": {
            "desiredNumberScheduled": 2,
            "currentNumberScheduled": 2,
            "numberReady": 1,
            "updatedNumberScheduled": 2,
            "numberUnavailable": 1,
        },
    }
    pod = _pod(
        "agent-x2x9k",
        [_c()],
        [_waiting("app", "CrashLoopBackOff")],
        meta={
            "labels": {"app": "agent"},
            "ownerReferences": [{"kind": "DaemonSet", "name": "agent", "uid": "uid-ds", "controller": True}],
        },
    )
    rs = {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": "lonely", "namespace": "t", "uid": "uid-rs"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "lonely"}}},
        "status": {"replicas": 0},
    }
    docs = [ds, pod, rs, _node()]
    answer = _answer(tmp_path, docs, "why ds/agent -n t")
    assert [f["code"] for f in answer["findings"]][:2] == ["DS-STATUS", "POD-CRASHLOOP"]
    answer = _answer(tmp_path, docs, "why rs/lonely -n t")
    assert [f["code"] for f in answer["findings"]] == ["RS-STATUS", "WORKLOAD-NO-PODS"]


# -- catalogue and handlers agree -------------------------------------------------------------

_FAMILIES = ("pod.yaml", "sched.yaml", "node.yaml", "workload.yaml")
_SOURCES = ("pod_diagnosis.py", "rollout.py", "workload.py", "why.py")


def test_every_code_emitted_is_catalogued_and_every_entry_is_emitted() -> None:
    source = "\n".join((ROOT / "handlers" / f).read_text(encoding="utf-8") for f in _SOURCES)
    emitted = set(
        re.findall(r'"((?:POD|SCHED|NODE|WORKLOAD|DEPLOY|STS|DS|JOB|CRONJOB|RS)-[A-Z0-9-]+)"', source)
    )
    ours = {code for code, e in entries().items() if e.source in _FAMILIES}
    assert emitted <= set(entries()), sorted(emitted - set(entries()))
    assert ours <= emitted, sorted(ours - emitted)
    for code in ours:
        e = entries()[code]
        assert e.since and e.title
        assert all("{{" not in s or "}}" in s for s in e.next_steps)


def test_default_severities_match_the_catalogue() -> None:
    for code, severity in DEFAULT_SEVERITY.items():
        assert entries()[code].severity == severity, code
    for code, e in entries().items():
        if e.source in _FAMILIES and code not in DEFAULT_SEVERITY:
            # Codes without an entry in the table are treated as errors when ranking pods.
            assert e.severity.value == "error" or code.endswith("-STATUS") or code == "WORKLOAD-PODS", code


def _revision(name: str, number: int, image: str, memory: str) -> dict[str, Any]:
    template = {
        "$patch": "replace",
        "metadata": {"labels": {"app": "es"}},
        "spec": {"containers": [{"name": "es", "image": image, "resources": {"limits": {"memory": memory}}}]},
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "ControllerRevision",
        "metadata": {
            "name": name,
            "namespace": "t",
            "uid": f"uid-{name}",
            "creationTimestamp": "2026-11-25T09:00:00Z" if number == 2 else "2026-10-01T00:00:00Z",
            "labels": {"app": "es", "controller.kubernetes.io/hash": name.rsplit("-", maxsplit=1)[-1]},
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "StatefulSet",
                    "name": "es",
                    "uid": "uid-sts",
                    "controller": True,
                }
            ],
        },
        "revision": number,
        "data": {"spec": {"template": template}},
    }


def test_statefulset_revision_change_from_controller_revisions(tmp_path: Path) -> None:
    sts = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "es", "namespace": "t", "uid": "uid-sts"},
        "spec": {"replicas": 2, "serviceName": "es", "selector": {"matchLabels": {"app": "es"}}},
        "status": {
            "replicas": 2,
            "readyReplicas": 1,
            "currentReplicas": 1,
            "updatedReplicas": 1,
            "currentRevision": "es-6c4d8b7f9",
            "updateRevision": "es-5d8c7b9f6",
        },
    }
    owner = {"ownerReferences": [{"kind": "StatefulSet", "name": "es", "uid": "uid-sts", "controller": True}]}
    crashing = _pod(
        "es-1",
        [_c("es", image="es:8.15.0", resources={"limits": {"memory": "2Gi"}})],
        [
            {
                "name": "es",
                "ready": False,
                "restartCount": 4,
                "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled", "finishedAt": NOW}},
            }
        ],
        meta={"labels": {"app": "es", "controller-revision-hash": "es-5d8c7b9f6"}, **owner},
    )
    fine = _pod(
        "es-0",
        [_c("es", image="es:8.14.3")],
        [{"name": "es", "ready": True, "restartCount": 0, "state": {"running": {"startedAt": T0}}}],
        meta={"labels": {"app": "es", "controller-revision-hash": "es-6c4d8b7f9"}, **owner},
    )
    docs = [
        sts,
        crashing,
        fine,
        _node(),
        _revision("es-6c4d8b7f9", 1, "es:8.14.3", "4Gi"),
        _revision("es-5d8c7b9f6", 2, "es:8.15.0", "2Gi"),
    ]
    answer = _answer(tmp_path, docs, "why es-1 -n t")
    change = next(f for f in answer["findings"] if f["code"] == "WORKLOAD-ROLLOUT-CHANGE")
    assert "container es: resources.limits.memory 4Gi -> 2Gi" in change["evidence"]
    assert "kubectl -n t rollout undo sts/es --to-revision=1" in change["next_steps"]
    answer = _answer(tmp_path, docs, "why sts/es -n t")
    assert [f["code"] for f in answer["findings"]][:3] == [
        "STS-STATUS",
        "WORKLOAD-ROLLOUT-CHANGE",
        "POD-OOMKILLED",
    ]


def test_a_pod_question_stays_within_its_request_budget_and_says_what_it_skipped(tmp_path: Path) -> None:
    pod = _pod(
        "w",
        [_c(resources={"requests": {"memory": "6Gi"}})],
        [],
        phase="Pending",
        node=None,
        spec={"volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "data-w"}}]},
    )
    claim = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data-w", "namespace": "t", "uid": "uid-pvc"},
        "spec": {"storageClassName": "local", "accessModes": ["ReadWriteOnce"]},
        "status": {"phase": "Pending"},
    }
    message = (
        "0/2 nodes are available: 2 Insufficient memory, "
        "2 node(s) didn't find available persistent volumes to bind."
    )
    docs = [pod, claim, _node("node-1"), _node("node-2"), _event("w", "FailedScheduling", message)]
    answer = _answer(tmp_path, docs, "why w -n t")
    codes = [f["code"] for f in answer["findings"]]
    assert codes[:3] == ["SCHED-FAILED", "SCHED-INSUFFICIENT", "SCHED-PVC"]
    # events, nodes, pods on the nodes, claims: the budget's four reads after the pod itself.
    assert any(n.startswith("Not read, to keep this answer within 5 API requests: ") for n in answer["notes"])
    assert any("get StorageClass/local" in n for n in answer["notes"])

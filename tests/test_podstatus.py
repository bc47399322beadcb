"""`pod_state()` prints READY, STATUS and RESTARTS as `kubectl get pod` does (printPod, FACTS.md §5):
on every fixture pod against what kubectl printed (EXPECTED.yaml), and on each branch of the algorithm."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import yaml

from bot.snapshot import Snapshot
from handlers.objects import Obj
from handlers.podstatus import pod_state
from tests.conftest import FIXTURES

WHY = FIXTURES / "why"
EXPECTED: dict[str, dict[str, Any]] = yaml.safe_load((WHY / "EXPECTED.yaml").read_text(encoding="utf-8"))
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_fixture_pods_match_kubectl(case: str) -> None:
    e = EXPECTED[case]
    snap = Snapshot.load([WHY / e["file"]])
    pod = next(p for p in snap.objects["Pod"] if p.name == e["pod"] and p.namespace == e["namespace"])
    state = pod_state(pod)
    assert (state.status, state.ready_column, state.restarts) == (e["status"], e["ready"], e["restarts"])


# -- each branch of printPod, on minimal pods ---------------------------------------------------


def _pod(
    containers: list[dict[str, Any]],
    inits: list[dict[str, Any]] | None = None,
    *,
    phase: str = "Running",
    spec_inits: list[dict[str, Any]] | None = None,
    **status: Any,
) -> Obj:
    init_specs = spec_inits if spec_inits is not None else [{"name": i["name"]} for i in inits or []]
    return Obj(
        {
            "metadata": {"name": "p", "namespace": "ns", **status.pop("meta", {})},
            "spec": {"containers": [{"name": c["name"]} for c in containers], "initContainers": init_specs},
            "status": {
                "phase": phase,
                "containerStatuses": containers,
                "initContainerStatuses": inits or [],
                **status,
            },
        }
    )


def _running(name: str, *, ready: bool = True, restarts: int = 0, last: str | None = None) -> dict[str, Any]:
    st: dict[str, Any] = {
        "name": name,
        "ready": ready,
        "restartCount": restarts,
        "started": True,
        "state": {"running": {"startedAt": "2026-11-25T09:00:00Z"}},
    }
    if last:
        st["lastState"] = {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": last}}
    return st


def _waiting(name: str, reason: str) -> dict[str, Any]:
    return {"name": name, "ready": False, "restartCount": 0, "state": {"waiting": {"reason": reason}}}


def _terminated(name: str, code: int, reason: str = "", signal: int = 0) -> dict[str, Any]:
    term: dict[str, Any] = {"exitCode": code}
    if reason:
        term["reason"] = reason
    if signal:
        term["signal"] = signal
    return {"name": name, "ready": False, "restartCount": 0, "state": {"terminated": term}}


@pytest.mark.parametrize(
    ("pod", "status", "ready"),
    [
        (
            _pod([_waiting("app", "PodInitializing")], [_terminated("init", 3)], phase="Pending"),
            "Init:ExitCode:3",
            "0/1",
        ),
        (
            _pod([_waiting("app", "PodInitializing")], [_terminated("init", 137, signal=9)], phase="Pending"),
            "Init:Signal:9",
            "0/1",
        ),
        (
            _pod(
                [_waiting("app", "PodInitializing")],
                [
                    _terminated("a", 0, "Completed"),
                    _running("b", ready=False),
                    _waiting("c", "PodInitializing"),
                ],
                phase="Pending",
            ),
            "Init:1/3",
            "0/1",
        ),
        (
            _pod(
                [_waiting("app", "PodInitializing")], [_waiting("init", "ImagePullBackOff")], phase="Pending"
            ),
            "Init:ImagePullBackOff",
            "0/1",
        ),
        (_pod([_terminated("app", 2)], phase="Failed"), "ExitCode:2", "0/1"),
        (_pod([_terminated("app", 137, signal=9)], phase="Failed"), "Signal:9", "0/1"),
        # The lowest-index container with a reason wins (containers are walked last to first).
        (
            _pod([_waiting("a", "CrashLoopBackOff"), _waiting("b", "ImagePullBackOff")]),
            "CrashLoopBackOff",
            "0/2",
        ),
        # Completed, but another container still runs: NotReady unless the pod is Ready.
        (_pod([_terminated("job", 0, "Completed"), _running("proxy")]), "NotReady", "1/2"),
        (
            _pod(
                [_terminated("job", 0, "Completed"), _running("proxy")],
                conditions=[{"type": "Ready", "status": "True"}],
            ),
            "Running",
            "1/2",
        ),
        # A started sidecar (restartable init container) counts in READY and does not block.
        (
            _pod(
                [_running("app")],
                [_running("log-shipper")],
                spec_inits=[{"name": "log-shipper", "restartPolicy": "Always"}],
                conditions=[{"type": "Initialized", "status": "True"}],
            ),
            "Running",
            "2/2",
        ),
        (
            _pod(
                [],
                phase="Pending",
                conditions=[{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}],
            ),
            "SchedulingGated",
            "0/0",
        ),
        (_pod([_running("app")], meta={"deletionTimestamp": "2026-11-25T09:59:00Z"}), "Terminating", "1/1"),
        (
            _pod([_running("app")], reason="NodeLost", meta={"deletionTimestamp": "2026-11-25T09:59:00Z"}),
            "Unknown",
            "1/1",
        ),
        (
            _pod(
                [_terminated("app", 0, "Completed")],
                phase="Succeeded",
                meta={"deletionTimestamp": "2026-11-25T09:59:00Z"},
            ),
            "Completed",
            "0/1",
        ),
        (_pod([], phase="Failed", reason="Evicted"), "Evicted", "0/0"),
        (_pod([], phase="Failed", reason="OutOfcpu"), "OutOfcpu", "0/0"),
    ],
)
def test_print_pod_branches(pod: Obj, status: str, ready: str) -> None:
    state = pod_state(pod)
    assert (state.status, state.ready_column) == (status, ready)


def test_restarts_column_shows_the_last_restart_age() -> None:
    state = pod_state(_pod([_running("app", restarts=5, last="2026-11-25T09:57:57Z")]))
    assert state.restarts_column(NOW) == "5 (2m3s ago)"
    assert pod_state(_pod([_running("app")])).restarts_column(NOW) == "0"

"""The READY, STATUS and RESTARTS columns exactly as `kubectl get pod` prints them.

A port of `printPod` in kubernetes `pkg/printers/internalversion/printers.go` (FACTS.md §5),
including restartable (sidecar) init containers, SchedulingGated, the "Completed but still
running" correction, NodeLost -> Unknown and Terminating. Checked against what kubectl prints
for the same objects (tests/test_podstatus.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from handlers.objects import Obj, human_duration


@dataclass(frozen=True, slots=True)
class PodState:
    status: str
    ready: int
    total: int
    restarts: int
    last_restart: datetime | None

    @property
    def ready_column(self) -> str:
        return f"{self.ready}/{self.total}"

    def restarts_column(self, now: datetime) -> str:
        """`5 (2m3s ago)` as kubectl prints it, or `0`."""
        if self.restarts and self.last_restart is not None:
            return f"{self.restarts} ({human_duration((now - self.last_restart).total_seconds())} ago)"
        return str(self.restarts)


def is_restartable_init(container: Obj) -> bool:
    """A sidecar: an init container with `restartPolicy: Always` (KEP-753)."""
    return container.text("restartPolicy") == "Always"


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


def _condition_true(pod: Obj, ctype: str) -> bool:
    return any(
        c.text("type") == ctype and c.text("status") == "True" for c in pod.children("status", "conditions")
    )


def pod_state(pod: Obj) -> PodState:
    """READY/STATUS/RESTARTS of a pod, as `kubectl get pod` computes them."""
    phase = pod.text("status", "phase")
    reason = pod.text("status", "reason") or phase
    for cond in pod.children("status", "conditions"):
        if cond.text("type") == "PodScheduled" and cond.text("reason") == "SchedulingGated":
            reason = "SchedulingGated"

    spec_inits = {c.text("name"): c for c in pod.children("spec", "initContainers")}
    total = len(pod.children("spec", "containers")) + sum(
        1 for c in spec_inits.values() if is_restartable_init(c)
    )
    ready = 0
    restarts = 0
    sidecar_restarts = 0
    last_restart: datetime | None = None
    last_sidecar_restart: datetime | None = None

    initializing = False
    init_statuses = pod.children("status", "initContainerStatuses")
    n_init = len(spec_inits)
    for i, cs in enumerate(init_statuses):
        restarts += cs.num("restartCount")
        finished = cs.time("lastState", "terminated", "finishedAt")
        last_restart = _later(last_restart, finished)
        sidecar = is_restartable_init(spec_inits.get(cs.text("name"), Obj()))
        if sidecar:
            sidecar_restarts += cs.num("restartCount")
            last_sidecar_restart = _later(last_sidecar_restart, finished)
        term = cs.child("state", "terminated")
        waiting = cs.child("state", "waiting")
        if term and term.num("exitCode") == 0:
            continue
        if sidecar and cs.flag("started"):
            if cs.flag("ready"):
                ready += 1
            continue
        if term:
            if not term.text("reason"):
                if term.num("signal"):
                    reason = f"Init:Signal:{term.num('signal')}"
                else:
                    reason = f"Init:ExitCode:{term.num('exitCode')}"
            else:
                reason = "Init:" + term.text("reason")
        elif waiting and waiting.text("reason") and waiting.text("reason") != "PodInitializing":
            reason = "Init:" + waiting.text("reason")
        else:
            reason = f"Init:{i}/{n_init}"
        initializing = True
        break

    if not initializing or _condition_true(pod, "Initialized"):
        restarts = sidecar_restarts
        last_restart = last_sidecar_restart
        has_running = False
        for cs in reversed(pod.children("status", "containerStatuses")):
            restarts += cs.num("restartCount")
            last_restart = _later(last_restart, cs.time("lastState", "terminated", "finishedAt"))
            waiting = cs.child("state", "waiting")
            term = cs.child("state", "terminated")
            if waiting and waiting.text("reason"):
                reason = waiting.text("reason")
            elif term and term.text("reason"):
                reason = term.text("reason")
            elif term:
                reason = (
                    f"Signal:{term.num('signal')}"
                    if term.num("signal")
                    else f"ExitCode:{term.num('exitCode')}"
                )
            elif cs.flag("ready") and cs.has("state", "running"):
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            reason = "Running" if _condition_true(pod, "Ready") else "NotReady"

    if pod.has("metadata", "deletionTimestamp"):
        if pod.text("status", "reason") == "NodeLost":
            reason = "Unknown"
        elif phase not in ("Succeeded", "Failed"):
            reason = "Terminating"

    return PodState(status=reason, ready=ready, total=total, restarts=restarts, last_restart=last_restart)

"""What is wrong with one pod, and why: the state, the cause in catalogue codes, the evidence.

`diagnose_pod(view, pod, req)` is what `why <pod>` answers and what other verbs reuse (`endpoints`
for not-ready pods, the digest). It reads, in this order and at most once each: the pod's events
(by uid), its node, its owner (one list of ReplicaSets or ControllerRevisions, or the Job), and one
log (the previous instance of the container that failed); a pending pod spends the node and log
requests on the node list, the pods on them, or its claims instead. See `handlers/reads.py`.

Order of the checks follows how a pod comes to life: deleted? failed as a whole (evicted,
rejected)? scheduled? sandbox and volumes? each init container, then each container: image,
config, start, crash (OOM, probe, exit code), readiness. Every finding carries the facts it rests
on as evidence, quoted as kubectl prints them, and the commands to run next.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from handlers import configrefs, eventlog, images, quantity, scheduling
from handlers.containers import (
    Container,
    condition_line,
    containers,
    pod_requests,
    probe_action,
    probe_budget_seconds,
    probe_line,
    ran_for,
    resources_line,
    state_line,
)
from handlers.eventlog import EventGroup
from handlers.exit_code import meaning
from handlers.model import FieldValue, Finding, Phrase, Request, Severity, Text
from handlers.objects import Obj, age, human_duration
from handlers.podstatus import PodState, pod_state
from handlers.reads import Reads, label, log_label
from handlers.redact import redact
from handlers.view import ClusterView

#: Requests a pod diagnosis may make after the pod itself was read (issue #4: five in all).
POD_BUDGET = 4
#: A pod deleted this long past its deletionTimestamp (which is "deleted at + grace period") is
#: stuck: the kubelet normally confirms within seconds once the grace period is over.
STUCK_TERMINATING = timedelta(minutes=2)
#: ContainerCreating / PodInitializing for longer than this with no warning event is worth saying:
#: image pulls of a few hundred MB and volume attaches usually finish well within it.
SLOW_CREATING = timedelta(minutes=5)
#: An init container running this long is probably waiting for something (a dependency, a job).
SLOW_INIT = timedelta(minutes=5)
#: A restart is "recent" (a warning, not a footnote) when the last one finished within this.
RECENT_RESTART = timedelta(hours=24)
#: Log lines quoted per finding, and the width of each (the rest is cut with …).
LOG_LINES = 10
LOG_WIDTH = 240
#: Nodes quoted in scheduling evidence (the ones with the most room first).
MAX_NODES = 5

_IMAGE_WAITING = frozenset(
    {
        "ErrImagePull",
        "ImagePullBackOff",
        "RegistryUnavailable",
        "SignatureValidationFailed",
        "InvalidImageName",
        "ErrImageNeverPull",
        "ImageInspectError",
    }
)
_CREATING = frozenset({"ContainerCreating", "PodInitializing", ""})
_ERRORISH = re.compile(r"(?i)(error|fatal|panic|exception|traceback|caused by|killed|refused|denied|failed)")
_KILLING_PROBE = re.compile(r"failed (liveness|startup) probe")
_NOT_FOUND_START = re.compile(
    r'executable file not found|no such file or directory|exec: "[^"]*": stat|not found in \$PATH', re.I
)
_PERMISSION = re.compile(r"permission denied", re.I)
_MOUNT_ERROR = re.compile(r"error mounting|mount (?:source|destination)|not a directory|onto a file", re.I)
_EXEC_FORMAT = re.compile(r"exec format error", re.I)
_PREEMPTED_BY = re.compile(r"Preempted by (?:pod )?(\S+) on node (\S+)")
_EVICT_RESOURCE = re.compile(r"low on resource: ([\w./-]+?)\.")
_EVICT_CONTAINER = re.compile(
    r"Container (\S+) was using (\S+), request is (\S+), has larger consumption of ([\w./-]+)"
)
_EVICT_CONDITION = re.compile(r"The node had condition: \[?(\w+)\]?")
_EPHEMERAL = re.compile(r"ephemeral local storage|EmptyDir volume|ephemeral storage limit", re.I)
_EPHEMERAL_LIMIT = re.compile(r'Container (\S+) exceeded its local ephemeral storage limit "([^"]+)"')
_EPHEMERAL_TOTAL = re.compile(r"ephemeral local storage usage exceeds the total limit|EmptyDir volume")
#: Pod status reasons that mean the node, not the pod, ended it: its events say why.
_NODE_REASONS = frozenset({"Terminated", "Shutdown", "NodeLost", "NodeAffinity", "UnexpectedAdmissionError"})
#: Normal Node events worth quoting next to the warnings.
_NODE_EVENT_REASONS = frozenset(
    {
        "Rebooted",
        "NodeNotReady",
        "NodeReady",
        "Starting",
        "Shutdown",
        "NodeHasDiskPressure",
        "NodeHasInsufficientMemory",
        "NodeHasInsufficientPID",
        "EvictionThresholdMet",
        "SystemOOM",
    }
)
#: Error findings a new pod template cannot explain: no rollout comparison for these.
_NOT_FROM_TEMPLATE = frozenset(
    {
        "POD-EVICTED",
        "POD-FAILED",
        "POD-NODE-LOST",
        "POD-STUCK-TERMINATING",
        "POD-SANDBOX-FAILED",
        "POD-NETWORK-NOT-READY",
        "POD-CONTAINER-UNKNOWN",
        "NODE-NOT-READY",
        "NODE-MISSING",
        "SCHED-PVC",
        "SCHED-FAILED",
    }
)
_UID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_MULTI_ATTACH = re.compile(r"Multi-Attach error", re.I)
_VOLUME_NAME = re.compile(r'for volume "([^"]+)"')
_USED_BY = re.compile(r"already used by pod\(s\) ([^\s].*?)\s*$")
_UNMOUNTED = re.compile(r"unmounted volumes=\[([^\]]*)\]")
_SANDBOX_CNI = re.compile(
    r"(?i)cni|network plugin|failed to (set ?up|setup) network|calico|cilium|flannel|weave|ipam"
)
_SANDBOX_RUNTIME = re.compile(r"(?i)RuntimeHandler|runtime handler|no runtime for")
_SANDBOX_IMAGE = re.compile(r"(?i)pause|sandbox image|failed to pull")


@dataclass
class _F:
    """A finding being built (evidence and commands still growing)."""

    code: str
    fields: dict[str, FieldValue]
    evidence: list[Text] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    severity: Severity | None = None

    def freeze(self) -> Finding:
        return Finding(
            self.code, dict(self.fields), tuple(self.evidence), tuple(self.commands), self.severity
        )


@dataclass(frozen=True, slots=True)
class LogWish:
    """The one log worth reading for this pod: which container, which instance, for which finding."""

    container: str
    previous: bool
    finding: int  # index into the findings being built
    init: bool


@dataclass(frozen=True, slots=True)
class PodDiagnosis:
    """One pod's answer: its kubectl state and what was found, worst first."""

    pod: Obj
    state: PodState
    findings: tuple[Finding, ...]
    #: 0 healthy, 1 warnings only, 2 something is broken (for ranking pods of a workload).
    badness: int
    #: Reads that were skipped to stay within the request budget, as data (`reads.label()`).
    skipped: tuple[str, ...] = ()

    @property
    def healthy(self) -> bool:
        return self.badness == 0


_SEVERITY_ORDER = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


def diagnose_pod(
    view: ClusterView,
    pod: Obj,
    req: Request,
    *,
    reads: Reads | None = None,
    catalogue_severity: dict[str, Severity] | None = None,
    owner: bool = True,
    logs: bool = True,
) -> PodDiagnosis:
    """Diagnose `pod` (already read). `reads` may be shared between pods of one answer (a workload
    question); by default it gets the pod budget. `owner=False` skips the rollout comparison,
    `logs=False` skips log reads (cheap callers such as `endpoints` or the digest)."""
    r = reads if reads is not None else Reads(view, POD_BUDGET)
    d = _Diagnosis(pod, req, r)
    d.run(owner=owner, logs=logs)
    findings = [f.freeze() for f in d.findings]
    # Worst first; a healthy pod's summary leads its own (warning) footnotes.
    findings.sort(
        key=lambda f: -1 if f.code == "POD-HEALTHY" else _SEVERITY_ORDER[_severity_of(f, catalogue_severity)]
    )
    badness = 0
    for f in findings:
        sev = _severity_of(f, catalogue_severity)
        if sev is Severity.ERROR:
            badness = 2
        elif sev is Severity.WARNING and f.code not in ("POD-WARNING-EVENTS",):
            badness = max(badness, 1)
    return PodDiagnosis(pod, d.state, tuple(findings), badness, tuple(r.skipped))


def _severity_of(f: Finding, catalogue: dict[str, Severity] | None) -> Severity:
    if f.severity is not None:
        return f.severity
    if catalogue and f.code in catalogue:
        return catalogue[f.code]
    return DEFAULT_SEVERITY.get(f.code, Severity.ERROR)


#: The catalogue's severities for codes emitted without an override (kept here so that handlers,
#: which cannot read the catalogue, can order and rank findings; tests/test_why_catalogue.py checks
#: that this table and templates/knowledge/findings/*.yaml agree).
DEFAULT_SEVERITY: dict[str, Severity] = {
    "POD-HEALTHY": Severity.INFO,
    "POD-COMPLETED": Severity.INFO,
    "POD-TERMINATING": Severity.INFO,
    "POD-WARNING-EVENTS": Severity.WARNING,
    "POD-INIT-RUNNING": Severity.WARNING,
    "POD-STARTING": Severity.INFO,
    "POD-STARTUP-PENDING": Severity.WARNING,
    "POD-IMAGE-PULLING": Severity.WARNING,
    "POD-CREATING-SLOW": Severity.WARNING,
    "POD-SCHEDULING-GATED": Severity.WARNING,
    "POD-PREEMPTED": Severity.WARNING,
    "POD-LIVENESS-FAILING": Severity.WARNING,
    "NODE-PRESSURE": Severity.WARNING,
    "WORKLOAD-ROLLOUT-CHANGE": Severity.WARNING,
}


class _Diagnosis:
    def __init__(self, pod: Obj, req: Request, reads: Reads) -> None:
        self.pod = pod
        self.req = req
        self.now = req.now
        self.reads = reads
        self.ns = pod.namespace
        self.name = pod.name
        self.state = pod_state(pod)
        self.containers = containers(pod)
        self.findings: list[_F] = []
        self.groups: list[EventGroup] = []
        self.node: Obj | None = None
        self.node_name = pod.text("spec", "nodeName")
        self.log_wish: LogWish | None = None
        #: True once a container has run (so some log exists): otherwise the log request is free
        #: for other reads (a claim, a ConfigMap).
        self.ever_ran = any(
            c.is_running or c.terminated or c.last_terminated for c in self.containers if c.status
        )
        self.explained_events: set[tuple[str, str]] = set()
        self.owner = owner_fields(pod)

    # -- plumbing ---------------------------------------------------------------------------
    def base(self, c: Container | None = None) -> dict[str, FieldValue]:
        """Fields every POD-/SCHED-/NODE- finding has (container ones empty for pod-level findings)."""
        return {
            **self.owner,
            "ns": self.ns,
            "pod": self.name,
            "uid": self.pod.uid,
            "container": c.name if c else "",
            "init": c.init if c else False,
            "sidecar": c.sidecar if c else False,
            "restarts": c.restarts if c else self.state.restarts,
            "image": c.image if c else "",
            "waiting": c.waiting.text("reason") if c else "",
            "looping": c.waiting.text("reason") == "CrashLoopBackOff" if c else False,
        }

    def add(
        self, code: str, fields: dict[str, FieldValue], evidence: Sequence[Text] = (), **kw: object
    ) -> _F:
        sev = kw.get("severity")
        f = _F(code, fields, list(evidence), severity=sev if isinstance(sev, Severity) else None)
        self.findings.append(f)
        return f

    def events_with(self, *reasons: str, c: Container | None = None) -> list[EventGroup]:
        groups = eventlog.with_reason(self.groups, *reasons)
        if c is not None:  # the container's own events, and pod-level ones without a fieldPath
            groups = [g for g in groups if g.field_path in ("", c.field_path)]
        return groups

    def cite(self, f: _F, groups: Sequence[EventGroup], limit: int = 3) -> None:
        """Quote event groups as evidence (the latest `limit`) and mark them explained."""
        for g in list(groups)[-limit:]:
            f.evidence.append(g.line(self.now))
        for g in groups:
            self.explained_events.add((g.reason, g.message))

    def explain(self, groups: Sequence[EventGroup]) -> None:
        """Mark events as accounted for without quoting them (`Error: ErrImagePull` after the pull error)."""
        for g in groups:
            self.explained_events.add((g.reason, g.message))

    def container_facts(self, f: _F, c: Container, *, image: bool = True, command: bool = False) -> None:
        """The container's lines of `kubectl describe pod`: image, state, last state, restarts."""
        if image:
            role = "sidecar" if c.sidecar else "init" if c.init else ""
            f.evidence.append(
                Phrase("EV-POD-CONTAINER-IMAGE", {"role": role, "container": c.name, "image": c.image})
            )
        f.evidence.append(state_line(c.status.child("state"), self.now))
        if c.last_terminated:
            f.evidence.append(state_line(c.status.child("lastState"), self.now, label="Last State"))
        f.evidence.append(f"Restart Count: {c.restarts}")
        if command:
            f.evidence.append(command_line(c.spec))
        if c.init and not c.sidecar:
            f.evidence.append(self.init_context())

    def init_context(self) -> Phrase:
        """Where initialisation stands: `Init containers: wait-db Running, migrate Waiting
        (PodInitializing); containers: app Waiting (PodInitializing)`."""

        def short(x: Container) -> str:
            if x.terminated:
                return f"{x.name} Terminated ({x.terminated.text('reason') or x.terminated.num('exitCode')})"
            if x.is_running:
                return f"{x.name} Running"
            if x.status.has("state", "waiting"):
                return f"{x.name} Waiting ({x.waiting.text('reason') or '-'})"
            return f"{x.name} <no status>"

        inits = ", ".join(short(x) for x in self.containers if x.init)
        mains = ", ".join(short(x) for x in self.containers if not x.init)
        return Phrase("EV-POD-INIT-PROGRESS", {"inits": inits, "containers": mains})

    # -- the run ----------------------------------------------------------------------------
    def run(self, *, owner: bool, logs: bool) -> None:
        self.groups = eventlog.group(self.reads.events(self.pod))
        if self.node_name and self.reads.afford(label("get", "Node", self.node_name)):
            self.node = self.reads.get("Node", None, self.node_name)
        self.pod_level()
        if not self.findings or not self._terminal_explained():
            for c in self.containers:
                self.container(c)
        self.node_checks()
        # A new revision of the template can cause these; a node, eviction or deletion cannot.
        template_broken = any(
            self._sev(f) is Severity.ERROR and f.code not in _NOT_FROM_TEMPLATE for f in self.findings
        )
        if owner and template_broken and self.pod.controller.text("kind") == "Job":
            self.job_owner()
        elif owner and template_broken and not any(f.fields.get("holder_same_owner") for f in self.findings):
            from handlers import rollout  # rollout imports this module's helpers

            change = rollout.change_for_pod(self.reads, self.pod, self.req)
            if change is not None:
                self.findings.append(
                    _F(
                        change.code,
                        dict(change.fields),
                        list(change.evidence),
                        list(change.commands),
                        change.severity,
                    )
                )
        if logs and self.log_wish is not None:
            self.read_log(self.log_wish)
        serving = self.state.status == "Running" and self.state.ready == self.state.total
        if serving and all(self._sev(f) is Severity.INFO for f in self.findings):
            self.healthy()  # running and ready now; earlier trouble follows as warnings/info
        elif not self.findings:
            self.starting()
        else:
            self.leftover_warnings()

    def job_owner(self) -> None:
        """A failed Job pod: the Job's own state (backoffLimit reached, deadline), one request."""
        from handlers import rollout

        name = self.pod.controller.text("name")
        if not self.reads.afford(label("get", "Job", name, self.ns)):
            return
        job = self.reads.get("Job", self.ns, name)
        if job is not None:
            js = rollout.job_status(job, self.req)
            self.findings.append(_F(js.code, dict(js.fields), list(js.evidence), [], js.severity))

    def _sev(self, f: _F) -> Severity:
        return f.severity or DEFAULT_SEVERITY.get(f.code, Severity.ERROR)

    def _terminal_explained(self) -> bool:
        """Pod-level findings that make per-container analysis noise (evicted, rejected, gated...)."""
        return any(
            f.code
            in (
                "POD-EVICTED",
                "POD-FAILED",
                "POD-SCHEDULING-GATED",
                "SCHED-FAILED",
                "POD-NOT-SCHEDULED",
                "POD-NODE-LOST",
            )
            for f in self.findings
        )

    def wish_log(self, c: Container, finding: _F, *, previous: bool) -> None:
        if self.log_wish is None:
            self.log_wish = LogWish(c.name, previous, self.findings.index(finding), c.init)

    def read_log(self, wish: LogWish) -> None:
        if not self.reads.afford(log_label(self.ns, self.name, wish.container, previous=wish.previous)):
            return
        text = self.reads.log(self.ns, self.name, wish.container, previous=wish.previous)
        lines = log_tail(text or "")
        f = self.findings[wish.finding]
        if lines:
            # The command that prints these lines heads them: words in no language, and a user can
            # run it for more (`--previous`: the instance that stopped).
            previous = " --previous" if wish.previous else ""
            head = (
                f"$ kubectl -n {self.ns} logs {self.name} -c {wish.container}{previous} --tail={len(lines)}"
            )
            f.evidence.append(head + "\n" + "\n".join(lines))
        f.fields["log_lines"] = len(lines)
        # runc reports a binary for another architecture from inside the container, after the start:
        # `exec /app/resize: exec format error` on stderr and an ordinary exit, not a StartError.
        if f.code in ("POD-CRASHLOOP", "POD-CONTAINER-FAILED") and _EXEC_FORMAT.search(text or ""):
            f.code = "POD-EXEC-FORMAT"
            if self.node is not None:
                f.fields["arch"] = self.node.text("status", "nodeInfo", "architecture")
                f.evidence.append(
                    Phrase(
                        "EV-POD-NODE-ARCH",
                        {
                            "node": self.node_name,
                            "arch": f.fields["arch"],
                            "os": self.node.text("status", "nodeInfo", "operatingSystem") or "linux",
                        },
                    )
                )

    # -- pod level --------------------------------------------------------------------------
    def pod_level(self) -> None:
        pod = self.pod
        phase = pod.text("status", "phase")
        reason = pod.text("status", "reason")
        if pod.has("metadata", "deletionTimestamp"):
            self.terminating()
        if reason == "Evicted":
            self.evicted()
        elif reason == "NodeLost":
            f = self.add("POD-NODE-LOST", {**self.base(), "node": self.node_name})
            f.evidence.append(f"Status: {phase}, Reason: NodeLost, Message: {pod.text('status', 'message')}")
        elif reason and phase == "Failed":
            self.rejected(reason)
        elif reason == "Preempting" or self.events_with("Preempted"):
            self.preempted()
        if phase == "Succeeded":
            self.add("POD-COMPLETED", {**self.base(), "age": age(pod.created, self.now)})
        if not self.node_name and phase == "Pending":
            self.unscheduled()
            return
        if self.node_name:
            self.sandbox_and_volumes()

    def terminating(self) -> None:
        pod = self.pod
        deleted = pod.time("metadata", "deletionTimestamp")
        grace = pod.num(
            "metadata",
            "deletionGracePeriodSeconds",
            default=pod.num("spec", "terminationGracePeriodSeconds", default=30),
        )
        finalizers = tuple(pod.strings("metadata", "finalizers"))
        overdue = (self.now - deleted) if deleted else timedelta(0)
        node_ready = _node_ready(self.node) if self.node is not None else ""
        running = tuple(c.name for c in self.containers if c.is_running)
        fields = {
            **self.base(),
            "deleted": pod.text("metadata", "deletionTimestamp"),
            "overdue": human_duration(overdue.total_seconds()),
            "grace": grace,
            "finalizers": finalizers,
            "node": self.node_name,
            "node_ready": node_ready,
            "running": running,
            "phase": pod.text("status", "phase"),
            "kill_failed": bool(self.events_with("FailedKillPod")),
        }
        ev: list[Text] = [
            Phrase(
                "EV-POD-DELETION",
                {
                    "grace": grace,
                    "deleted": pod.text("metadata", "deletionTimestamp"),
                    "ago": human_duration(overdue.total_seconds()) if overdue.total_seconds() > 0 else "",
                },
            )
        ]
        if finalizers:
            ev.append("Finalizers: " + ", ".join(finalizers))
        if self.node_name:
            ev.append(
                f"Node {self.node_name}: Ready={node_ready}"
                if node_ready
                else Phrase("EV-POD-NODE-READY-NOT-READ", {"node": self.node_name})
            )
        if running:
            ev.append(Phrase("EV-POD-STILL-RUNNING", {"containers": ", ".join(running)}))
        if pod.text("status", "phase") in ("Succeeded", "Failed") and not finalizers:
            return  # kubectl shows the phase, and it goes away on its own
        # Network and CSI volumes are what a kubelet most often cannot unmount (a hung NFS server).
        for v in self.pod.children("spec", "volumes"):
            source, name = _volume_source(v)
            if source in ("nfs", "csi", "persistentVolumeClaim", "iscsi", "cephfs", "rbd", "fc", "glusterfs"):
                where = f"{v.text('nfs', 'server')}:{v.text('nfs', 'path')}" if source == "nfs" else name
                ev.append(f"Volume {v.text('name')}: {source} {where}")
        if overdue >= STUCK_TERMINATING:
            f = self.add("POD-STUCK-TERMINATING", fields, ev)
            self.cite(
                f, self.events_with("Killing", "FailedKillPod", "FailedPreStopHook", "ExceededGracePeriod")
            )
        else:
            self.add("POD-TERMINATING", fields, ev)

    def evicted(self) -> None:
        msg = self.pod.text("status", "message")
        res = _EVICT_RESOURCE.search(msg)
        cond = _EVICT_CONDITION.search(msg)
        users = _EVICT_CONTAINER.findall(msg)
        resource = res.group(1) if res else ("ephemeral-storage" if _EPHEMERAL.search(msg) else "")
        over_limit = _EPHEMERAL_LIMIT.findall(msg)
        fields: dict[str, FieldValue] = {
            **self.base(),
            "resource": resource,
            "condition": cond.group(1) if cond else "",
            "node": self.node_name,
            "message": eventlog.clip(msg),
            "containers": tuple(u[0] for u in users),
            "over_containers": tuple(o[0] for o in over_limit),
            "over_limit": bool(over_limit) or bool(_EPHEMERAL_TOTAL.search(msg)),
            "unknown": self.unknown_containers(),
        }
        f = self.add("POD-EVICTED", fields)
        f.evidence.append(f"Status: Failed, Reason: Evicted, Message: {eventlog.clip(msg)}")
        for name, using, request, _ in users:
            c = next((x for x in self.containers if x.name == name), None)
            limit = c.resource("limits", resource) if c and resource else ""
            f.evidence.append(
                Phrase(
                    "EV-POD-EVICTED-USAGE",
                    {"container": name, "using": using, "request": request, "limit": limit},
                )
            )
        for name, limit in over_limit:
            f.evidence.append(Phrase("EV-POD-EPHEMERAL-EXCEEDED", {"container": name, "limit": limit}))
        self.terminated_states(f)
        self.cite(f, self.events_with("Evicted"))
        self.node_story(f)

    def rejected(self, reason: str) -> None:
        msg = self.pod.text("status", "message")
        f = self.add(
            "POD-FAILED",
            {
                **self.base(),
                "reason": reason,
                "message": eventlog.clip(msg),
                "node": self.node_name,
                "unknown": self.unknown_containers(),
            },
        )
        f.evidence.append(f"Status: Failed, Reason: {reason}, Message: {eventlog.clip(msg)}")
        for cond in self.pod.children("status", "conditions"):
            if cond.text("type") == "DisruptionTarget" and cond.text("status") == "True":
                f.evidence.append(condition_line(cond))
        self.terminated_states(f)
        self.cite(
            f,
            [
                g
                for g in self.groups
                if g.warning
                and g.reason
                in (reason, "OutOfcpu", "OutOfmemory", "UnexpectedAdmissionError", "NodeAffinity")
            ],
        )
        if reason in _NODE_REASONS:
            self.node_story(f)

    def unknown_containers(self) -> tuple[str, ...]:
        """Containers whose `exit 137` is the kubelet's ContainerStatusUnknown filler, not a real exit."""
        return tuple(
            c.name for c in self.containers if c.terminated.text("reason") == "ContainerStatusUnknown"
        )

    def terminated_states(self, f: _F) -> None:
        """Each container's final state, for pod-level failures (evicted, node shutdown...)."""
        for c in self.containers:
            if c.terminated:
                f.evidence.append(state_line(c.status.child("state"), self.now, prefix=f"{c.name}: "))

    def node_story(self, f: _F) -> None:
        """What the node said about itself (Rebooted, NodeNotReady, EvictionThresholdMet, SystemOOM):
        one more request, spent only when the node explains the pod."""
        if self.node is None or not self.reads.afford(label("events", "Node", self.node_name)):
            return
        groups = eventlog.group(self.reads.events(kubelet_node_ref(self.node_name)))
        telling = [g for g in groups if g.warning or g.reason in _NODE_EVENT_REASONS]
        for g in telling[-4:]:
            f.evidence.append(f"Node {self.node_name}: {g.line(self.now)}")

    def preempted(self) -> None:
        groups = self.events_with("Preempted")
        by, on = "", ""
        if groups:
            m = _PREEMPTED_BY.search(groups[-1].message)
            if m:
                by, on = m.group(1), m.group(2)
        cond = next(
            (c for c in self.pod.children("status", "conditions") if c.text("type") == "DisruptionTarget"),
            Obj(),
        )
        f = self.add(
            "POD-PREEMPTED",
            {
                **self.base(),
                "by": by,
                "node": on or self.node_name,
                "priority": self.pod.num("spec", "priority"),
                "priority_class": self.pod.text("spec", "priorityClassName"),
            },
        )
        if cond:
            f.evidence.append(condition_line(cond))
        self.cite(f, groups)
        # The event names the preemptor by uid; it is usually in the same namespace (one list).
        if _UID.fullmatch(by) and self.reads.afford(label("list", "Pod", namespace=self.ns)):
            preemptor = next((p for p in self.reads.list("Pod", self.ns) if p.uid == by), None)
            if preemptor is not None:
                f.fields["by"] = preemptor.name
                for who, p in ((preemptor.ref, preemptor), ("", self.pod)):
                    f.evidence.append(
                        Phrase(
                            "EV-POD-PRIORITY",
                            {
                                "preemptor": who,
                                "priority_class": p.text("spec", "priorityClassName") or "<none>",
                                "priority": p.num("spec", "priority"),
                            },
                        )
                    )

    # -- scheduling -------------------------------------------------------------------------
    def unscheduled(self) -> None:
        pod = self.pod
        gates = [g.text("name") for g in pod.children("spec", "schedulingGates")]
        if gates or self.state.status == "SchedulingGated":
            f = self.add("POD-SCHEDULING-GATED", {**self.base(), "gates": tuple(gates)})
            f.evidence.append("schedulingGates: " + (", ".join(gates) or "<none>"))
            return
        groups = self.events_with("FailedScheduling")
        cond = next(
            (c for c in pod.children("status", "conditions") if c.text("type") == "PodScheduled"), Obj()
        )
        message = groups[-1].message if groups else cond.text("message")
        fit = scheduling.parse(message) if message else None
        if not message:
            f = self.add(
                "POD-NOT-SCHEDULED",
                {
                    **self.base(),
                    "scheduler": pod.text("spec", "schedulerName") or "default-scheduler",
                    "age": age(pod.created, self.now),
                },
            )
            f.evidence.append(f"Node: <none>, PodScheduled: {cond.text('status') or '<no condition>'}")
            return
        fields: dict[str, FieldValue] = {
            **self.base(),
            "total": fit.total if fit else 0,
            "available": fit.available if fit else 0,
            "causes": tuple(str(c) for c in fit.causes) if fit else (),
            "message": eventlog.clip(message),
            "nominated": pod.text("status", "nominatedNodeName"),
            "preemption": fit.preemption if fit else "",
        }
        f = self.add("SCHED-FAILED", fields)
        if groups:
            self.cite(f, groups, limit=1)
        else:
            f.evidence.append(condition_line(cond))
        if fit is None:
            return
        for r in fit.reasons:
            f.evidence.append(_reason_line(r))
        if fields["nominated"]:
            f.evidence.append(Phrase("EV-POD-NOMINATED", {"node": fields["nominated"]}))
        self.scheduling_details(fit)

    def scheduling_details(self, fit: scheduling.FitFailure) -> None:
        causes = fit.causes
        C = scheduling.Cause
        nodes: list[Obj] = []
        node_causes = (C.INSUFFICIENT, C.TAINT, C.NODE_AFFINITY, C.UNSCHEDULABLE, C.TOO_MANY_PODS)
        if any(c in causes for c in node_causes) and self.reads.afford(label("list", "Node")):
            nodes = self.reads.list("Node")
        pods_on: dict[str, list[Obj]] | None = None
        if (C.INSUFFICIENT in causes or C.TOO_MANY_PODS in causes) and (
            nodes and self.reads.afford(label("list", "Pod", all_ns=True))
        ):
            pods_on = {}
            for p in self.reads.list("Pod"):
                node = p.text("spec", "nodeName")
                if node and p.text("status", "phase") not in ("Succeeded", "Failed"):
                    pods_on.setdefault(node, []).append(p)
        for resource in dict.fromkeys(r.resource for r in fit.with_cause(C.INSUFFICIENT)):
            self.insufficient(resource, fit, nodes, pods_on)
        for r in fit.with_cause(C.TAINT):
            self.taint(r, nodes)
        if fit.with_cause(C.NODE_AFFINITY):
            self.node_affinity(fit.with_cause(C.NODE_AFFINITY)[0], nodes)
        if fit.with_cause(C.UNBOUND_PVC, C.PVC_NOT_FOUND, C.NO_PV):
            self.claims(fit.with_cause(C.UNBOUND_PVC, C.PVC_NOT_FOUND, C.NO_PV)[0])
        for r in fit.reasons:
            if r.cause in (C.INSUFFICIENT, C.TAINT, C.NODE_AFFINITY, C.UNBOUND_PVC, C.PVC_NOT_FOUND, C.NO_PV):
                continue
            self.sched_reason(r, nodes, pods_on)

    def insufficient(
        self,
        resource: str,
        fit: scheduling.FitFailure,
        nodes: list[Obj],
        pods_on: dict[str, list[Obj]] | None,
    ) -> None:
        """Requests vs allocatable minus what the pods on each node request (when those were read)."""
        wanted = pod_requests(self.pod).get(resource, Decimal(0))
        count = next(
            (r.count for r in fit.with_cause(scheduling.Cause.INSUFFICIENT) if r.resource == resource), 0
        )
        rows: list[tuple[Decimal, str, Text]] = []  # (room, node, evidence line)
        biggest = Decimal(0)
        eligible = [n for n in nodes if not excluded(self.pod, n)] or nodes
        for n in eligible:
            alloc = quantity.parse(n.text("status", "allocatable", resource) or "0") or Decimal(0)
            biggest = max(biggest, alloc)
            if pods_on is None:
                rows.append((alloc, n.name, f"{n.name}: allocatable {quantity.show(resource, alloc)}"))
                continue
            on_node = pods_on.get(n.name, [])
            used = sum((pod_requests(p).get(resource, Decimal(0)) for p in on_node), Decimal(0))
            free = alloc - used
            rows.append(
                (
                    free,
                    n.name,
                    Phrase(
                        "EV-POD-NODE-ROOM",
                        {
                            "node": n.name,
                            "allocatable": quantity.show(resource, alloc),
                            "requested": quantity.show(resource, used),
                            "pods": len(on_node),
                            "free": quantity.show(resource, max(free, Decimal(0))),
                        },
                    ),
                )
            )
        rows.sort(key=lambda x: -x[0])
        f = self.add(
            "SCHED-INSUFFICIENT",
            {
                **self.base(),
                "resource": resource,
                "request": quantity.show(resource, wanted) if wanted else "",
                "nodes": count or 0,
                "total": fit.total,
                "largest_free": quantity.show(resource, max(rows[0][0], Decimal(0)))
                if rows and pods_on is not None
                else "",
                "never_fits": bool(nodes) and wanted > biggest,
                "fits_now": bool(rows) and pods_on is not None and rows[0][0] >= wanted,
                "roomiest": rows[0][1] if rows else "",
                "largest_allocatable": quantity.show(resource, biggest) if nodes else "",
                "usage_known": pods_on is not None,
            },
        )
        per_container = [
            f"{c.name}: requests {c.resource('requests', resource) or '<none>'}"
            for c in self.containers
            if not c.init or c.sidecar
        ]
        f.evidence.append(
            Phrase(
                "EV-POD-REQUESTS",
                {
                    "resource": resource,
                    "total": quantity.show(resource, wanted) if wanted else "<none>",
                    "containers": "; ".join(per_container),
                },
            )
        )
        f.evidence += [row for _, _, row in rows[:MAX_NODES]]

    def taint(self, r: scheduling.Reason, nodes: list[Obj]) -> None:
        tainted = []
        effect = ""
        for n in nodes:
            for t in n.children("spec", "taints"):
                if t.text("key") == r.taint_key and t.text("value") == r.taint_value:
                    tainted.append(n.name)
                    effect = effect or t.text("effect")
        tolerations = [
            f"{t.text('key') or '*'}{'=' + t.text('value') if t.text('value') else ''}"
            f"{':' + t.text('effect') if t.text('effect') else ''} ({t.text('operator') or 'Equal'})"
            for t in self.pod.children("spec", "tolerations")
        ]
        f = self.add(
            "SCHED-TAINT",
            {
                **self.base(),
                "key": r.taint_key,
                "value": r.taint_value,
                "effect": effect or "NoSchedule",
                "count": r.count or 0,
                "tainted": tuple(tainted),
                "first_node": tainted[0] if tainted else "",
            },
        )
        f.evidence.append(f"{r.count} × {r.text}")
        if tainted:
            f.evidence.append(
                Phrase(
                    "EV-POD-TAINTED-NODES",
                    {"taint": f"{r.taint_key}={r.taint_value}:{effect}", "nodes": ", ".join(tainted[:10])},
                )
            )
        f.evidence.append(
            Phrase("EV-POD-TOLERATIONS", {"tolerations": ", ".join(tolerations) if tolerations else "<none>"})
        )

    def node_affinity(self, r: scheduling.Reason, nodes: list[Obj]) -> None:
        selector = self.pod.mapping("spec", "nodeSelector")
        terms = self.pod.children(
            "spec",
            "affinity",
            "nodeAffinity",
            "requiredDuringSchedulingIgnoredDuringExecution",
            "nodeSelectorTerms",
        )
        f = self.add(
            "SCHED-NODE-AFFINITY",
            {
                **self.base(),
                "count": r.count or 0,
                "selector": tuple(f"{k}={v}" for k, v in selector.items()),
                "terms": len(terms),
            },
        )
        f.evidence.append(_reason_line(r))
        if selector:
            f.evidence.append("Node-Selectors: " + ", ".join(f"{k}={v}" for k, v in selector.items()))
        for t in terms:
            exprs = [
                f"{e.text('key')} {e.text('operator')} [{', '.join(e.strings('values'))}]"
                for e in t.children("matchExpressions")
            ]
            f.evidence.append(Phrase("EV-POD-AFFINITY-TERM", {"expressions": tuple(exprs)}))
        if nodes:
            for k, v in selector.items():
                have = sorted({n.labels.get(k, "") for n in nodes if k in n.labels})
                matching = sum(1 for n in nodes if n.labels.get(k) == v)
                f.evidence.append(
                    Phrase(
                        "EV-POD-LABEL-MATCH",
                        {
                            "label": f"{k}={v}",
                            "matching": matching,
                            "total": len(nodes),
                            "seen": ", ".join(f"{k}={x}" for x in have[:5]),
                        },
                    )
                )

    def claims(self, r: scheduling.Reason) -> None:
        names = [
            v.text("persistentVolumeClaim", "claimName")
            for v in self.pod.children("spec", "volumes")
            if v.has("persistentVolumeClaim")
        ]
        names += [
            f"{self.name}-{v.text('name')}"
            for v in self.pod.children("spec", "volumes")
            if v.has("ephemeral")
        ]
        pvcs: dict[str, Obj] = {}
        read = bool(names) and self.reads.afford(label("list", "PersistentVolumeClaim", namespace=self.ns))
        if read:
            pvcs = {p.name: p for p in self.reads.list("PersistentVolumeClaim", self.ns)}
        problem = [n for n in names if n not in pvcs or pvcs[n].text("status", "phase") != "Bound"]
        first = problem[0] if problem else (names[0] if names else "")
        pvc = pvcs.get(first, Obj())
        fields: dict[str, FieldValue] = {
            **self.base(),
            "claims": tuple(problem or names),
            "claim": first,
            "missing": bool(read and first and first not in pvcs),
            "phase": pvc.text("status", "phase"),
            "storage_class": pvc.text("spec", "storageClassName"),
            "reason_text": r.text,
            "pvc_event": "",
            "binding_mode": "",
            "provisioner": "",
            "class_missing": False,
        }
        f = self.add("SCHED-PVC", fields)
        f.evidence.append(_reason_line(r))
        for n in names:
            p = pvcs.get(n)
            if p is None:
                f.evidence.append(
                    Phrase(
                        "EV-POD-NOT-FOUND" if read else "EV-POD-NOT-READ",
                        {"kind": "PersistentVolumeClaim", "ref": f"{self.ns}/{n}"},
                    )
                )
                continue
            f.evidence.append(_pvc_line(p))
        if (
            pvc
            and pvc.text("status", "phase") != "Bound"
            and self.reads.afford(label("events", "PersistentVolumeClaim", pvc.name, pvc.namespace))
        ):
            pvc_groups = eventlog.group(self.reads.events(pvc))
            for g in [
                g
                for g in pvc_groups
                if g.warning
                or g.reason
                in ("WaitForFirstConsumer", "ExternalProvisioning", "Provisioning", "WaitForPodScheduled")
            ][-3:]:
                f.evidence.append(f"PVC {pvc.name}: {g.line(self.now)}")
                fields["pvc_event"] = g.reason
        sc_name = pvc.text("spec", "storageClassName")
        if (
            sc_name
            and pvc.text("status", "phase") != "Bound"
            and self.reads.afford(label("get", "StorageClass", sc_name))
        ):
            sc = self.reads.get("StorageClass", None, sc_name)
            if sc is None:
                fields["class_missing"] = True
                f.evidence.append(Phrase("EV-POD-NOT-FOUND", {"kind": "StorageClass", "ref": sc_name}))
            else:
                fields["binding_mode"] = sc.text("volumeBindingMode") or "Immediate"
                fields["provisioner"] = sc.text("provisioner")
                f.evidence.append(
                    f"StorageClass {sc_name}: provisioner {sc.text('provisioner')}, volumeBindingMode "
                    f"{fields['binding_mode']}, reclaimPolicy {sc.text('reclaimPolicy') or 'Delete'}"
                )

    def sched_reason(
        self, r: scheduling.Reason, nodes: list[Obj], pods_on: dict[str, list[Obj]] | None
    ) -> None:
        C = scheduling.Cause
        f = self.add(
            "SCHED-REASON", {**self.base(), "cause": str(r.cause), "text": r.text, "count": r.count or 0}
        )
        f.evidence.append(_reason_line(r))
        if r.cause is C.UNSCHEDULABLE and nodes:
            cordoned = [n.name for n in nodes if n.flag("spec", "unschedulable")]
            if cordoned:
                f.evidence.append(Phrase("EV-POD-CORDONED", {"nodes": ", ".join(cordoned[:10])}))
        elif r.cause is C.PORTS:
            ports = [
                f"{c.name}: hostPort {p.num('hostPort')}/{p.text('protocol') or 'TCP'}"
                for c in self.containers
                for p in c.spec.children("ports")
                if p.num("hostPort")
            ]
            f.evidence += ports
        elif r.cause in (C.POD_AFFINITY, C.POD_ANTI_AFFINITY):
            key = "podAntiAffinity" if r.cause is C.POD_ANTI_AFFINITY else "podAffinity"
            for term in self.pod.children(
                "spec", "affinity", key, "requiredDuringSchedulingIgnoredDuringExecution"
            ):
                sel = term.mapping("labelSelector", "matchLabels")
                f.evidence.append(
                    Phrase(
                        "EV-POD-AFFINITY-REQUIRED",
                        {
                            "affinity": key,
                            "topology_key": term.text("topologyKey"),
                            "selector": ",".join(f"{k}={v}" for k, v in sel.items()) or "<expressions>",
                        },
                    )
                )
        elif r.cause is C.TOO_MANY_PODS and nodes:
            for n in nodes[:MAX_NODES]:
                cap = n.text("status", "allocatable", "pods")
                itype = n.labels.get("node.kubernetes.io/instance-type") or n.labels.get(
                    "beta.kubernetes.io/instance-type", ""
                )
                used = len(pods_on.get(n.name, [])) if pods_on is not None else None
                f.evidence.append(
                    f"{n.name}{f' ({itype})' if itype else ''}: allocatable pods {cap}"
                    if used is None
                    else Phrase(
                        "EV-POD-NODE-PODS",
                        {"node": n.name, "instance_type": itype, "capacity": cap, "pods": used},
                    )
                )
        elif r.cause is C.TOPOLOGY_SPREAD:
            for t in self.pod.children("spec", "topologySpreadConstraints"):
                f.evidence.append(
                    f"topologySpreadConstraint: topologyKey {t.text('topologyKey')}, "
                    f"maxSkew {t.num('maxSkew')}, whenUnsatisfiable {t.text('whenUnsatisfiable')}"
                )

    # -- sandbox and volumes (scheduled, containers not yet created) ---------------------------
    def sandbox_and_volumes(self) -> None:
        creating = any(
            _is_creating(c) and not c.last_terminated for c in self.containers
        ) or not self.pod.children("status", "containerStatuses")
        mounts = self.events_with("FailedMount")
        attach = self.events_with("FailedAttachVolume", "FailedMapVolume")
        sandbox = self.events_with("FailedCreatePodSandBox")
        net = self.events_with("NetworkNotReady")
        recent_ok = self._started_after(mounts + attach + sandbox + net)
        if not creating or recent_ok:
            return
        for g in _latest_per_volume(mounts):
            self.failed_mount(g)
        if attach:
            self.attach_failed(attach)
        if sandbox:
            g = sandbox[-1]
            kind = (
                "cni"
                if _SANDBOX_CNI.search(g.message)
                else "runtime"
                if _SANDBOX_RUNTIME.search(g.message)
                else "image"
                if _SANDBOX_IMAGE.search(g.message)
                else "other"
            )
            f = self.add(
                "POD-SANDBOX-FAILED",
                {
                    **self.base(),
                    "node": self.node_name,
                    "kind": kind,
                    "runtime_class": self.pod.text("spec", "runtimeClassName"),
                    "message": eventlog.clip(g.message),
                },
            )
            self.cite(f, sandbox, limit=2)
            self.cite(f, self.events_with("SandboxChanged"), limit=1)
        if net and not sandbox:
            f = self.add(
                "POD-NETWORK-NOT-READY",
                {**self.base(), "node": self.node_name, "message": eventlog.clip(net[-1].message)},
            )
            self.cite(f, net, limit=1)

    def attach_failed(self, attach: list[EventGroup]) -> None:
        g = attach[-1]
        pv = _VOLUME_NAME.search(g.message)
        holders = _USED_BY.search(g.message)
        holder_pods = [h.strip() for h in holders.group(1).split(",")] if holders else []
        claims = tuple(
            v.text("persistentVolumeClaim", "claimName")
            for v in self.pod.children("spec", "volumes")
            if v.has("persistentVolumeClaim")
        )
        fields: dict[str, FieldValue] = {
            **self.base(),
            "node": self.node_name,
            "multi_attach": bool(_MULTI_ATTACH.search(g.message)),
            "message": eventlog.clip(g.message),
            "volume": pv.group(1) if pv else "",
            "claims": claims,
            "holders": tuple(holder_pods),
            "holder_node": "",
            "holder_same_owner": False,
        }
        f = self.add("POD-ATTACH-FAILED", fields)
        if claims:
            f.evidence.append(Phrase("EV-POD-CLAIMS", {"claims": ", ".join(claims)}))
        self.cite(f, attach, limit=2)
        # The pod that still holds the volume, and where: one read, when the budget allows.
        if holder_pods and self.reads.afford(label("get", "Pod", holder_pods[0], self.ns)):
            holder = self.reads.get("Pod", self.ns, holder_pods[0])
            if holder is not None:
                fields["holder_node"] = holder.text("spec", "nodeName")
                same = owner_fields(holder)
                fields["holder_same_owner"] = bool(
                    same["owner_name"]
                    and same["owner_name"] == self.owner["owner_name"]
                    and same["owner_kind"] == self.owner["owner_kind"] == "Deployment"
                )
                f.evidence.append(
                    Phrase("EV-POD-HOLDER", {"pod": pod_line(holder, pod_state(holder), self.now)})
                )

    def _started_after(self, groups: Sequence[EventGroup]) -> bool:
        """True if every container started after the last of these events (the problem passed)."""
        if not groups:
            return False
        last = max((g.last for g in groups if g.last), default=None)
        starts = [c.running.time("startedAt") for c in self.containers if not c.init and c.is_running]
        return bool(starts) and last is not None and all(s is not None and s > last for s in starts)

    def failed_mount(self, g: EventGroup) -> None:
        err = configrefs.parse(g.message)
        P = configrefs.ConfigProblem
        volume = err.volume or _volume_in(g.message)
        vol = next((v for v in self.pod.children("spec", "volumes") if v.text("name") == volume), Obj())
        if err.problem in (
            P.MISSING_CONFIGMAP,
            P.MISSING_SECRET,
            P.MISSING_CONFIGMAP_KEY,
            P.MISSING_SECRET_KEY,
        ):
            name = err.name or vol.text("configMap", "name") or vol.text("secret", "secretName")
            self.config_missing(err, None, g, name_override=name)
            return
        source, source_name = _volume_source(vol)
        unmounted = _UNMOUNTED.search(g.message)
        f = self.add(
            "POD-MOUNT-FAILED",
            {
                **self.base(),
                "volume": volume,
                "source": source,
                "source_name": source_name,
                "node": self.node_name,
                "message": eventlog.clip(g.message),
                "unmounted": tuple(unmounted.group(1).split()) if unmounted else (),
            },
        )
        if vol:
            f.evidence.append(f"Volume {volume}: {source} {source_name}".rstrip())
        self.cite(f, [g])

    # -- containers -------------------------------------------------------------------------
    def container(self, c: Container) -> None:
        if not c.status:
            return
        w = c.waiting.text("reason")
        if c.init and not c.sidecar and c.terminated and c.terminated.num("exitCode") == 0:
            return
        if w in _IMAGE_WAITING:
            self.image(c, w)
        elif w == "CreateContainerConfigError":
            self.config_error(c)
        elif w == "CreateContainerError":
            self.create_error(c)
        elif w == "RunContainerError" or (
            w == "CrashLoopBackOff"
            and c.last_terminated.text("reason") in ("StartError", "ContainerCannotRun")
        ):
            self.start_error(
                c, c.last_terminated if c.last_terminated else Obj({"message": c.waiting.text("message")})
            )
        elif w == "PostStartHookError" or (
            w == "CrashLoopBackOff" and self.events_with("FailedPostStartHook", c=c)
        ):
            self.poststart(c)
        elif w == "CrashLoopBackOff":
            self.crash(c, c.last_terminated, current=False)
        elif c.terminated:
            self.terminated(c)
        elif _is_creating(c):
            self.creating(c)
        elif w:
            f = self.add(
                "POD-WAITING",
                {**self.base(c), "reason": w, "message": eventlog.clip(c.waiting.text("message"))},
            )
            self.container_facts(f, c)
            self.cite(f, [g for g in self.groups if g.warning and g.field_path in ("", c.field_path)])
        elif c.is_running:
            self.running(c)

    def image(self, c: Container, reason: str) -> None:
        failed = [
            g
            for g in self.events_with("Failed", c=c)
            if "image" in g.message.lower()
            and g.message.startswith(("Failed to pull", "Failed to apply", "Failed to inspect"))
        ]
        pulls = [g for g in failed if g.message.startswith("Failed to pull")]
        msg = (pulls[-1].message if pulls else "") or c.waiting.text("message")
        base = {**self.base(c), "reason": reason, "message": eventlog.clip(msg)}
        secrets = tuple(s.text("name") for s in self.pod.children("spec", "imagePullSecrets"))
        missing: list[str] = []
        for g in self.events_with("FailedToRetrieveImagePullSecret", "Failed"):
            missing += images.missing_pull_secrets(g.message)
        extra: dict[str, FieldValue] = {
            "registry": images.registry_of(c.image),
            "pull_secrets": secrets,
            "missing_secrets": tuple(dict.fromkeys(missing)),
            "service_account": self.pod.text("spec", "serviceAccountName") or "default",
            "policy": c.spec.text("imagePullPolicy"),
            "node": self.node_name,
        }
        if reason == "InvalidImageName":
            code = "POD-IMAGE-INVALID-NAME"
        elif reason == "ErrImageNeverPull":
            code = "POD-IMAGE-NEVER-PULL"
        elif reason == "ImageInspectError":
            code = "POD-IMAGE-INSPECT-ERROR"
        elif reason == "SignatureValidationFailed":
            code = "POD-IMAGE-SIGNATURE"
        else:
            pf = images.classify(msg, c.image)
            code = {
                images.PullProblem.NOT_FOUND: "POD-IMAGE-NOT-FOUND",
                images.PullProblem.UNAUTHORIZED: "POD-IMAGE-UNAUTHORIZED",
                images.PullProblem.UNREACHABLE: "POD-IMAGE-REGISTRY-UNREACHABLE",
                images.PullProblem.RATE_LIMITED: "POD-IMAGE-RATE-LIMITED",
                images.PullProblem.PLATFORM: "POD-IMAGE-PLATFORM",
                images.PullProblem.UNKNOWN: "POD-IMAGE-PULL-FAILED",
            }[pf.problem]
            extra.update({"matched": pf.matched, "maybe_missing": pf.maybe_missing, "network": pf.network})
            if pf.problem is images.PullProblem.PLATFORM and self.node is not None:
                extra["arch"] = self.node.text("status", "nodeInfo", "architecture")
        f = self.add(
            code, {"matched": "", "maybe_missing": False, "network": "", "arch": "", **base, **extra}
        )
        f.evidence.append(
            f"Image: {c.image}" + (f", imagePullPolicy: {extra['policy']}" if extra["policy"] else "")
        )
        self.container_facts(f, c, image=False)
        if code in ("POD-IMAGE-UNAUTHORIZED", "POD-IMAGE-NOT-FOUND") or secrets:
            f.evidence.append(
                "imagePullSecrets: "
                + (", ".join(secrets) if secrets else "<none>")
                + f" (serviceAccount {extra['service_account']})"
            )
        self.cite(f, failed or self.events_with("Failed", c=c), limit=2)
        self.explain(self.events_with("Failed", c=c))
        self.cite(
            f,
            [g for g in self.events_with("BackOff", c=c) if g.message.startswith("Back-off pulling")],
            limit=1,
        )
        self.cite(
            f,
            self.events_with("FailedToRetrieveImagePullSecret", "ErrImageNeverPull", "InspectFailed"),
            limit=1,
        )

    def config_error(self, c: Container) -> None:
        failed = [g for g in self.events_with("Failed", c=c) if g.message.startswith("Error:")]
        msg = c.waiting.text("message") or (failed[-1].message.removeprefix("Error: ") if failed else "")
        err = configrefs.parse(msg)
        P = configrefs.ConfigProblem
        if err.problem in (
            P.MISSING_CONFIGMAP,
            P.MISSING_SECRET,
            P.MISSING_CONFIGMAP_KEY,
            P.MISSING_SECRET_KEY,
        ):
            self.config_missing(err, c, failed[-1] if failed else None, message=msg)
        elif err.problem is P.RUN_AS_NON_ROOT:
            ctx_user = c.spec.text("securityContext", "runAsUser") or self.pod.text(
                "spec", "securityContext", "runAsUser"
            )
            f = self.add(
                "POD-RUN-AS-NON-ROOT",
                {
                    **self.base(c),
                    "variant": err.variant,
                    "user": err.user,
                    "run_as_user": ctx_user,
                    "message": eventlog.clip(msg),
                },
            )
            f.evidence.append(
                f"State: Waiting, Reason: CreateContainerConfigError, Message: {eventlog.clip(msg)}"
            )
            where = "container" if c.spec.has("securityContext", "runAsNonRoot") else "pod"
            f.evidence.append(
                Phrase("EV-POD-SECURITY-CONTEXT", {"level": where, "run_as_user": ctx_user or "<unset>"})
            )
            self.cite(f, failed, limit=1)
        else:
            f = self.add(
                "POD-CONFIG-ERROR",
                {**self.base(c), "problem": str(err.problem), "message": eventlog.clip(msg)},
            )
            f.evidence.append(
                f"State: Waiting, Reason: CreateContainerConfigError, Message: {eventlog.clip(msg)}"
            )
            self.cite(f, failed, limit=1)

    def config_missing(
        self,
        err: configrefs.ConfigError,
        c: Container | None,
        g: EventGroup | None,
        *,
        message: str = "",
        name_override: str = "",
    ) -> None:
        P = configrefs.ConfigProblem
        code = {
            P.MISSING_CONFIGMAP: "POD-MISSING-CONFIGMAP",
            P.MISSING_SECRET: "POD-MISSING-SECRET",
            P.MISSING_CONFIGMAP_KEY: "POD-MISSING-CONFIGMAP-KEY",
            P.MISSING_SECRET_KEY: "POD-MISSING-SECRET-KEY",
        }[err.problem]
        refs = configrefs.references(self.pod)
        name = err.name or name_override
        err2 = configrefs.ConfigError(err.problem, name, err.key, err.namespace, err.volume)
        hits = configrefs.matching(refs, err2, c.name if c else "")
        if not name and hits:
            name = hits[0].name
        kind = "Secret" if "SECRET" in code else "ConfigMap"
        fields: dict[str, FieldValue] = {
            **self.base(c),
            "container": c.name if c else "",
            "init": c.init if c else False,
            "sidecar": c.sidecar if c else False,
            "name": name,
            "key": err.key,
            "kind": kind,
            "via": "volume" if err.volume else "env",
            "volume": err.volume,
            "refs": tuple(r.text() for r in hits),
            "optional_set": any(r.optional for r in hits),
            "message": eventlog.clip(message or (g.message if g else "")),
            "exists": None,
            "keys": (),
            "close_keys": (),
        }
        f = self.add(code, fields)
        if c is not None:
            f.evidence.append(
                f"State: Waiting, Reason: CreateContainerConfigError, Message: {eventlog.clip(message)}"
            )
        for r in hits:
            f.evidence.append(r.phrase())
        if g is not None:
            self.cite(f, [g], limit=1)
        # A ConfigMap can be checked (names and keys only); a Secret never is.
        if (
            kind == "ConfigMap"
            and name
            and not self.ever_ran
            and self.reads.afford(label("get", "ConfigMap", name, self.ns))
        ):
            cm = self.reads.get("ConfigMap", self.ns, name)
            fields["exists"] = cm is not None
            if cm is not None:
                keys = sorted({*cm.mapping("data"), *cm.mapping("binaryData")})
                fields["keys"] = tuple(keys)
                if err.key:
                    fields["close_keys"] = tuple(_close_keys(err.key, keys))
                f.evidence.append(
                    Phrase(
                        "EV-POD-CONFIGMAP-KEYS",
                        {"ref": f"{self.ns}/{name}", "keys": ", ".join(keys[:20]) or "<none>"},
                    )
                )
            else:
                f.evidence.append(
                    Phrase("EV-POD-NOT-FOUND", {"kind": "ConfigMap", "ref": f"{self.ns}/{name}"})
                )

    def create_error(self, c: Container) -> None:
        failed = [g for g in self.events_with("Failed", c=c) if g.message.startswith("Error:")]
        msg = c.waiting.text("message") or (failed[-1].message if failed else "")
        f = self.add(
            "POD-CREATE-CONTAINER-ERROR",
            {
                **self.base(c),
                "message": eventlog.clip(msg),
                "node": self.node_name,
                "no_command": "no command specified" in msg,
            },
        )
        self.container_facts(f, c)
        self.cite(f, failed, limit=2)

    def start_error(self, c: Container, term: Obj) -> None:
        msg = term.text("message") or c.waiting.text("message")
        failed = [g for g in self.events_with("Failed", c=c) if g.message.startswith("Error:")]
        if not msg and failed:
            msg = failed[-1].message
        command = " ".join(c.spec.strings("command") + c.spec.strings("args"))
        mount = bool(_MOUNT_ERROR.search(msg))
        if mount:
            code = "POD-START-ERROR"
        elif _EXEC_FORMAT.search(msg):
            code = "POD-EXEC-FORMAT"
        elif _PERMISSION.search(msg):
            code = "POD-NOT-EXECUTABLE"
        elif _NOT_FOUND_START.search(msg):
            code = "POD-COMMAND-NOT-FOUND"
        else:
            code = "POD-START-ERROR"
        f = self.add(
            code,
            {
                **self.base(c),
                "command": command,
                "entrypoint": not c.spec.strings("command"),
                "exit_code": term.num("exitCode") if term.has("exitCode") else 128,
                "message": eventlog.clip(msg),
                "arch": self.node.text("status", "nodeInfo", "architecture") if self.node is not None else "",
                "node": self.node_name,
                "mount": mount,
                "legacy": term.text("reason") == "ContainerCannotRun",
            },
        )
        self.container_facts(f, c, command=not mount)
        if msg and not c.last_terminated.text("message") and not c.waiting.text("message"):
            f.evidence.append(f"Message: {eventlog.clip(msg)}")
        if mount:
            for m in c.spec.children("volumeMounts"):
                sub = m.text("subPath") or m.text("subPathExpr")
                f.evidence.append(
                    f"volumeMount {m.text('name')} -> {m.text('mountPath')}"
                    + (f" (subPath {sub})" if sub else "")
                    + (" (readOnly)" if m.flag("readOnly") else "")
                )
        self.cite(f, failed, limit=1)
        self.cite(
            f,
            [g for g in self.events_with("BackOff", c=c) if g.message.startswith("Back-off restarting")],
            limit=1,
        )

    def poststart(self, c: Container) -> None:
        groups = self.events_with("FailedPostStartHook", c=c)
        hook = c.spec.child("lifecycle", "postStart")
        f = self.add(
            "POD-POSTSTART-HOOK-FAILED",
            {
                **self.base(c),
                "hook": probe_action(hook) if hook else "",
                "message": eventlog.clip(groups[-1].message if groups else c.waiting.text("message")),
            },
        )
        self.container_facts(f, c)
        if hook:
            f.evidence.append(f"postStart: {probe_action(hook)}")
        self.cite(f, groups, limit=1)
        self.cite(f, self.back_off(c), limit=1)

    def creating(self, c: Container) -> None:
        """Waiting in ContainerCreating/PodInitializing: pulling, or stuck without a word."""
        if any(
            f.code in ("POD-MOUNT-FAILED", "POD-ATTACH-FAILED", "POD-SANDBOX-FAILED", "POD-NETWORK-NOT-READY")
            or f.fields.get("via") == "volume"
            for f in self.findings
        ):
            return
        if c.waiting.text("reason") == "PodInitializing":
            return  # waiting for the init containers before it: they say why
        since = self.pod.time("status", "startTime") or self.pod.created
        waited = (self.now - since) if since else timedelta(0)
        pulling = self.events_with("Pulling", c=c)
        pulled = self.events_with("Pulled", c=c)
        if pulling and not pulled:
            if waited >= SLOW_CREATING:
                f = self.add(
                    "POD-IMAGE-PULLING",
                    {
                        **self.base(c),
                        "waited": human_duration(waited.total_seconds()),
                        "node": self.node_name,
                    },
                )
                self.cite(f, pulling, limit=1)
            return
        # One finding per pod: for the first container that is still waiting to be created.
        if waited >= SLOW_CREATING and not any(f.code == "POD-CREATING-SLOW" for f in self.findings):
            f = self.add(
                "POD-CREATING-SLOW",
                {**self.base(c), "waited": human_duration(waited.total_seconds()), "node": self.node_name},
            )
            self.container_facts(f, c)
            self.cite(f, [g for g in self.groups if g.warning][-3:])

    def terminated(self, c: Container) -> None:
        t = c.terminated
        reason = t.text("reason")
        code = t.num("exitCode")
        if code == 0 and reason in ("Completed", ""):
            return
        if reason in ("StartError", "ContainerCannotRun"):
            self.start_error(c, t)
            return
        known = reason in (
            "",
            "Error",
            "OOMKilled",
            "Completed",
            "ContainerStatusUnknown",
            "DeadlineExceeded",
        )
        if not known:
            f = self.add(
                "POD-TERMINATED",
                {
                    **self.base(c),
                    "reason": reason,
                    "exit_code": code,
                    "message": eventlog.clip(t.text("message")),
                },
            )
            self.container_facts(f, c)
            return
        self.crash(c, t, current=True)

    def crash(self, c: Container, t: Obj, *, current: bool) -> None:
        """A container that exited (now or last time): OOM, probe kill, or the exit code's class."""
        reason = t.text("reason")
        code = t.num("exitCode")
        ex = _exit_fields(t)
        kills = self.events_with("Killing", c=c)
        probe_kills = [g for g in kills if _KILLING_PROBE.search(g.message)]
        unhealthy = self.events_with("Unhealthy", c=c)
        common: dict[str, FieldValue] = {
            **self.base(c),
            **ex,
            "current": current,
            "ran_for": ran_for(t),
            "finished_ago": age(t.time("finishedAt"), self.now) if t.time("finishedAt") else "",
            "restart_policy": self.restart_policy(c),
            "grace": self.grace(),
            "phase": self.pod.text("status", "phase"),
        }
        sev = self.crash_severity(c, current)
        # A container that keeps dying fails its probes while it is down: part of the same story.
        if not c.ready:
            self.explain([g for g in unhealthy if not g.message.startswith("Liveness")])
        if reason == "OOMKilled":
            self.oom(c, t, common, sev)
            return
        if reason == "ContainerStatusUnknown":
            f = self.add(
                "POD-CONTAINER-UNKNOWN", {**common, "message": eventlog.clip(t.text("message"))}, severity=sev
            )
            self.container_facts(f, c)
            self.cite(f, [g for g in self.groups if g.warning][-2:])
            return
        if (probe_kills and code in (137, 143, 0, 2, 1)) or (probe_kills and not current):
            which = _KILLING_PROBE.search(probe_kills[-1].message)
            kind = which.group(1) if which else "liveness"
            self.probe_kill(c, kind=kind, kills=probe_kills, unhealthy=unhealthy, common=common, sev=sev)
            return
        klass = str(ex["klass"])
        if not t:
            klass = "unknown"  # CrashLoopBackOff whose last termination is no longer recorded
        if code == 127 or klass == "not-found":
            cause_code = "POD-COMMAND-NOT-FOUND"
        elif code == 126 or klass == "not-executable":
            cause_code = "POD-NOT-EXECUTABLE"
        elif klass == "start-error":
            self.start_error(c, t)
            return
        else:
            cause_code = (
                "POD-CRASHLOOP"
                if (c.waiting.text("reason") == "CrashLoopBackOff" or not current or c.restarts > 0)
                else "POD-CONTAINER-FAILED"
            )
        f = self.add(
            cause_code,
            {
                **common,
                "cause": _cause_class(code, ex, kills) if t else "unknown",
                "command": " ".join(c.spec.strings("command") + c.spec.strings("args")),
                "entrypoint": not c.spec.strings("command"),
                "message": eventlog.clip(t.text("message")),
                "arch": "",
                "exit_code": code,
                "node": self.node_name,
                "mount": False,
                "legacy": False,
            },
            severity=sev,
        )
        self.container_facts(f, c, command=True)
        if code == 137:
            f.evidence.append(f"{c.name} resources: {resources_line(c)}")
        if code in (137, 143) and kills:
            self.cite(f, kills, limit=1)
        self.cite(f, self.back_off(c), limit=1)
        self.wish_log(c, f, previous=not current)

    def crash_severity(self, c: Container, current: bool) -> Severity | None:
        """Error while it is down; a warning if it recovered recently; info if long ago."""
        if current or c.waiting or not c.ready:
            if current and self.pod.text("status", "phase") == "Succeeded":
                return Severity.WARNING
            return None
        finished = c.last_terminated.time("finishedAt")
        if finished and self.now - finished > RECENT_RESTART:
            return Severity.INFO
        return Severity.WARNING

    def back_off(self, c: Container) -> list[EventGroup]:
        return [g for g in self.events_with("BackOff", c=c) if g.message.startswith("Back-off restarting")]

    def restart_policy(self, c: Container) -> str:
        if c.sidecar:
            return "Always"
        return self.pod.text("spec", "restartPolicy") or "Always"

    def grace(self) -> int:
        return self.pod.num("spec", "terminationGracePeriodSeconds", default=30)

    def oom(self, c: Container, t: Obj, common: dict[str, FieldValue], sev: Severity | None) -> None:
        limit = c.resource("limits", "memory")
        request = c.resource("requests", "memory")
        pressure = _condition(self.node, "MemoryPressure") == "True" if self.node is not None else False
        f = self.add(
            "POD-OOMKILLED",
            {
                **common,
                "limit": limit,
                "request": request,
                "no_limit": not limit,
                "node": self.node_name,
                "node_pressure": pressure,
                "system_oom": False,
                "oom_events": 0,
                "runtime_setting": "",
            },
            severity=sev,
        )
        self.container_facts(f, c)
        f.evidence.append(f"{c.name} resources: {resources_line(c)}")
        limit_bytes = quantity.parse(limit) if limit else None
        for setting, size in runtime_memory_settings(c.spec):
            over = limit_bytes is not None and size is not None and size >= limit_bytes
            shown = setting + (f" ({quantity.memory(size)})" if size is not None else "")
            f.evidence.append(
                Phrase("EV-POD-RUNTIME-MEMORY-OVER", {"setting": shown, "limit": limit}) if over else shown
            )
            if over:
                f.fields["runtime_setting"] = setting
        if pressure:
            f.evidence.append(f"Node {self.node_name}: MemoryPressure=True")
        self.cite(f, self.back_off(c), limit=1)
        if not limit and self.node is not None and self.reads.afford(label("events", "Node", self.node_name)):
            node_groups = eventlog.group(self.reads.events(kubelet_node_ref(self.node_name)))
            ooms = eventlog.with_reason(node_groups, "SystemOOM", "OOMKilling")
            if ooms:
                f.fields["system_oom"] = True
                f.fields["oom_events"] = eventlog.total(ooms)
                for g in ooms[-2:]:
                    f.evidence.append(f"Node {self.node_name}: {g.line(self.now)}")
            return
        self.wish_log(c, f, previous=not bool(common["current"]))

    def probe_kill(
        self,
        c: Container,
        *,
        kind: str,
        kills: list[EventGroup],
        unhealthy: list[EventGroup],
        common: dict[str, FieldValue],
        sev: Severity | None,
    ) -> None:
        probe = c.probe(kind)
        if probe.has("terminationGracePeriodSeconds"):  # probe-level override (GA in v1.27)
            common = {**common, "grace": probe.num("terminationGracePeriodSeconds")}
        failures = [g for g in unhealthy if g.message.lower().startswith(kind)]
        code = "POD-LIVENESS-FAILED" if kind == "liveness" else "POD-STARTUP-PROBE-FAILED"
        f = self.add(
            code,
            {
                **common,
                "probe": probe_line(probe),
                "action": probe_action(probe) if probe else "",
                "failures": eventlog.total(failures),
                "kills": eventlog.total(kills),
                "budget": probe_budget_seconds(probe) if probe else 0,
                "timeout": probe.num("timeoutSeconds", default=1),
                "delay": probe.num("initialDelaySeconds"),
                "has_startup": bool(c.probe("startup")),
                "last_failure": eventlog.clip(failures[-1].message, 200) if failures else "",
                "url": probe_url(probe, c.spec),
                # A run much longer than the probe's budget was not killed for starting slowly.
                "slow_start": _seconds(c.last_terminated) <= 2 * probe_budget_seconds(probe)
                if probe
                else False,
                # `sh -c` as PID 1 does not pass SIGTERM on, so the app is SIGKILLed after the grace period.
                "shell_pid1": _shell_pid1(c.spec),
            },
            severity=sev,
        )
        if probe:
            f.evidence.append(f"{kind.capitalize()}: {probe_line(probe)}")
        self.container_facts(f, c, command=_shell_pid1(c.spec))
        if int(str(common["exit_code"])) == 137:  # SIGKILL: show the limits, to rule out the OOM killer
            f.evidence.append(f"{c.name} resources: {resources_line(c)}")
        self.cite(f, failures, limit=2)
        self.cite(f, kills, limit=1)
        self.cite(f, self.back_off(c), limit=1)
        self.wish_log(c, f, previous=True)

    def running(self, c: Container) -> None:
        if c.last_terminated and c.restarts > 0:
            self.crash(c, c.last_terminated, current=False)
        if self.pod.has("metadata", "deletionTimestamp"):
            return  # being deleted: not ready is expected, the Terminating finding says why
        unhealthy = self.events_with("Unhealthy", c=c)
        if c.ready:
            live = [g for g in unhealthy if g.message.startswith("Liveness")]
            if live and not c.last_terminated:
                probe = c.probe("liveness")
                f = self.add(
                    "POD-LIVENESS-FAILING",
                    {
                        **self.base(c),
                        "probe": probe_line(probe),
                        "failures": eventlog.total(live),
                        "threshold": probe.num("failureThreshold", default=3),
                    },
                )
                self.cite(f, live, limit=2)
            return
        if c.init and not c.sidecar:
            started = c.running.time("startedAt")
            slow = started is not None and self.now - started >= SLOW_INIT
            f = self.add(
                "POD-INIT-RUNNING",
                {
                    **self.base(c),
                    "running_for": age(started, self.now),
                    "slow": slow,
                    "command": " ".join(c.spec.strings("command") + c.spec.strings("args")),
                },
                severity=None if slow else Severity.INFO,
            )
            self.container_facts(f, c)
            self.wish_log(c, f, previous=False)
            return
        if any(f.fields.get("container") == c.name for f in self.findings):
            return
        started_probe = c.status.flag("started", default=True)
        startup = [g for g in unhealthy if g.message.startswith("Startup")]
        readiness = [g for g in unhealthy if g.message.startswith("Readiness")]
        if not started_probe and c.probe("startup"):
            probe = c.probe("startup")
            f = self.add(
                "POD-STARTUP-PENDING",
                {
                    **self.base(c),
                    "probe": probe_line(probe),
                    "failures": eventlog.total(startup),
                    "budget": probe_budget_seconds(probe),
                    "running_for": age(c.running.time("startedAt"), self.now),
                },
            )
            f.evidence.append(f"Startup: {probe_line(probe)}")
            self.container_facts(f, c)
            self.cite(f, startup, limit=2)
            return
        probe = c.probe("readiness")
        if readiness or probe:
            f = self.add(
                "POD-READINESS-FAILED",
                {
                    **self.base(c),
                    "probe": probe_line(probe),
                    "action": probe_action(probe) if probe else "",
                    "failures": eventlog.total(readiness),
                    "last_failure": eventlog.clip(readiness[-1].message, 200) if readiness else "",
                    "running_for": age(c.running.time("startedAt"), self.now),
                },
            )
            if probe:
                f.evidence.append(f"Readiness: {probe_line(probe)}")
            f.evidence.append(
                state_line(
                    c.status.child("state"),
                    self.now,
                    prefix="Ready: False, ",
                    suffix=f", Restart Count: {c.restarts}",
                )
            )
            self.cite(f, readiness, limit=2)
            self.wish_log(c, f, previous=False)
            return
        f = self.add(
            "POD-NOT-READY", {**self.base(c), "running_for": age(c.running.time("startedAt"), self.now)}
        )
        f.evidence.append(state_line(c.status.child("state"), self.now, prefix="Ready: False, "))
        for cond in self.pod.children("status", "conditions"):
            if cond.text("status") != "True":
                f.evidence.append(
                    f"Condition {cond.text('type')}=False"
                    + (f", Reason: {cond.text('reason')}" if cond.text("reason") else "")
                    + (f", Message: {cond.text('message')}" if cond.text("message") else "")
                )

    # -- node -------------------------------------------------------------------------------
    def node_checks(self) -> None:
        if not self.node_name:
            return
        if self.node is None:
            if label("get", "Node", self.node_name) in self.reads.skipped:
                return
            # Read and not found (an unreadable node records a PARTIAL note instead).
            if not any(n.code.startswith("PARTIAL-") for n in self.reads.view.notes()):
                self.add("NODE-MISSING", {**self.base(), "node": self.node_name})
            return
        ready = _node_ready(self.node)
        cond = next(
            (c for c in self.node.children("status", "conditions") if c.text("type") == "Ready"), Obj()
        )
        if ready != "True":
            f = self.add(
                "NODE-NOT-READY",
                {
                    **self.base(),
                    "node": self.node_name,
                    "ready": ready or "Unknown",
                    "reason": cond.text("reason"),
                    "since": age(cond.time("lastTransitionTime"), self.now),
                },
            )
            f.evidence.append(
                condition_line(cond, prefix=f"Node {self.node_name}: ")
                + f", LastHeartbeatTime: {cond.text('lastHeartbeatTime') or '-'}"
            )
            for t in self.node.children("spec", "taints"):
                f.evidence.append(
                    Phrase("EV-POD-NODE-TAINT", {"taint": f"{t.text('key')}:{t.text('effect')}"})
                )
            self.cite(f, self.events_with("NodeNotReady", "TaintManagerEviction"), limit=2)
            for t in self.pod.children("spec", "tolerations"):
                if t.text("key") in ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"):
                    f.evidence.append(
                        Phrase(
                            "EV-POD-TOLERATION-FOR",
                            {
                                "toleration": f"{t.text('key')}:{t.text('effect') or '*'}",
                                "seconds": t.text("tolerationSeconds"),
                            },
                        )
                    )
        for ctype in ("MemoryPressure", "DiskPressure", "PIDPressure", "NetworkUnavailable"):
            c = next(
                (x for x in self.node.children("status", "conditions") if x.text("type") == ctype), Obj()
            )
            if c.text("status") == "True":
                f = self.add("NODE-PRESSURE", {**self.base(), "node": self.node_name, "condition": ctype})
                f.evidence.append(condition_line(c, prefix=f"Node {self.node_name}: "))

    # -- healthy and leftovers --------------------------------------------------------------
    def healthy(self) -> None:
        phase = self.pod.text("status", "phase")
        f = self.add(
            "POD-HEALTHY",
            {
                **self.base(),
                "status": self.state.status,
                "phase": phase,
                "ready": self.state.ready_column,
                "restarts": self.state.restarts_column(self.now),
                "age": age(self.pod.created, self.now),
                "node": self.node_name,
            },
        )
        f.evidence.append(pod_line(self.pod, self.state, self.now))
        self.leftover_warnings()

    def starting(self) -> None:
        """Not ready yet and nothing wrong found: say where it is, plainly."""
        f = self.add(
            "POD-STARTING",
            {
                **self.base(),
                "status": self.state.status,
                "phase": self.pod.text("status", "phase"),
                "age": age(self.pod.created, self.now),
                "node": self.node_name,
            },
        )
        f.evidence.append(pod_line(self.pod, self.state, self.now))
        for cond in self.pod.children("status", "conditions"):
            if cond.text("status") != "True":
                f.evidence.append(condition_line(cond))
        self.leftover_warnings()

    def leftover_warnings(self) -> None:
        left = [g for g in self.groups if g.warning and (g.reason, g.message) not in self.explained_events]
        if left:
            f = self.add("POD-WARNING-EVENTS", {**self.base(), "count": len(left)})
            self.cite(f, left, limit=5)


# -- pure helpers ------------------------------------------------------------------------------


def owner_fields(pod: Obj) -> dict[str, FieldValue]:
    """The workload a pod belongs to, from its ownerReferences alone (no request): a ReplicaSet
    named `<deployment>-<pod-template-hash>` is a Deployment's (FACTS.md §1)."""
    ref = pod.controller
    kind, name = ref.text("kind"), ref.text("name")
    h = pod.labels.get("pod-template-hash", "")
    if kind == "ReplicaSet" and h and name.endswith(f"-{h}"):
        kind, name = "Deployment", name[: -len(h) - 1]
    short = {
        "Deployment": "deploy",
        "StatefulSet": "sts",
        "DaemonSet": "ds",
        "ReplicaSet": "rs",
        "Job": "job",
        "ReplicationController": "rc",
    }.get(kind, "")
    return {"owner_kind": kind, "owner_short": short, "owner_name": name if short else ""}


def pod_line(pod: Obj, state: PodState, now: datetime) -> str:
    """The pod's `kubectl get pod -o wide` row: READY, STATUS, RESTARTS, AGE, NODE."""
    return (
        f"{pod.name}: READY {state.ready_column}, STATUS {state.status}, "
        f"RESTARTS {state.restarts_column(now)}, AGE {age(pod.created, now)}, "
        f"NODE {pod.text('spec', 'nodeName') or '<none>'}"
    )


def _pvc_line(p: Obj) -> str:
    """`PersistentVolumeClaim ns/x: Status Pending, StorageClass fast, Volume <none>, ...`."""
    return (
        f"PersistentVolumeClaim {p.ref}: Status {p.text('status', 'phase') or '<none>'}, "
        f"StorageClass {p.text('spec', 'storageClassName') or '<none>'}, "
        f"Volume {p.text('spec', 'volumeName') or '<none>'}, "
        f"Access Modes {','.join(p.strings('spec', 'accessModes')) or '<none>'}, "
        f"Requests {p.text('spec', 'resources', 'requests', 'storage') or '<none>'}"
    )


def log_tail(text: str, lines: int = LOG_LINES, width: int = LOG_WIDTH) -> list[str]:
    """The last `lines` non-empty lines, redacted and cut to `width`; if the last error-looking line
    is earlier than that, it is kept first (an exception's message above its stack trace)."""
    all_lines = [ln.rstrip() for ln in text.splitlines() if ln.strip()]
    if not all_lines:
        return []
    tail = all_lines[-lines:]
    head: list[str] = []
    if not any(_ERRORISH.search(ln) for ln in tail):
        earlier = [ln for ln in all_lines[:-lines] if _ERRORISH.search(ln)]
        if earlier:
            head = [earlier[-1], "…"]
            tail = tail[-(lines - 2) :]
    return [_cut(redact(_compact_json(ln)), width) for ln in head + tail]


_JSON_TIME = ("@timestamp", "timestamp", "time", "ts", "t")
_JSON_LEVEL = ("log.level", "level", "severity", "lvl")
_JSON_MSG = ("message", "msg", "log")
_JSON_ERR = ("error", "err", "exception", "error.message")


def _compact_json(line: str) -> str:
    """A structured (JSON) log line as `time level message error=...`; other lines unchanged."""
    text = line.strip()
    if not (text.startswith("{") and text.endswith("}")):
        return line
    try:
        data = json.loads(text)
    except ValueError:
        return line
    if not isinstance(data, dict):
        return line

    def first(keys: tuple[str, ...]) -> str:
        for k in keys:
            v = data.get(k)
            if isinstance(v, str | int | float) and not isinstance(v, bool) and str(v):
                return str(v)
        return ""

    msg = first(_JSON_MSG)
    if not msg:
        return line
    parts = [first(_JSON_TIME), first(_JSON_LEVEL).upper(), msg]
    err = first(_JSON_ERR)
    if err:
        parts.append(f"error={err}")
    return " ".join(p for p in parts if p)


def _cut(line: str, width: int) -> str:
    return line if len(line) <= width else line[: width - 1] + "…"


def command_line(spec: Obj) -> Text:
    """`Command: [/bin/sh, -c, run.sh], Args: [--port=80]`, what is set (kubectl describe style)."""
    parts = [
        f"{label}: [{', '.join(spec.strings(key))}]"
        for key, label in (("command", "Command"), ("args", "Args"))
        if spec.strings(key)
    ]
    return ", ".join(parts) if parts else Phrase("EV-POD-NO-COMMAND")


def _exit_fields(t: Obj) -> dict[str, FieldValue]:
    code = t.num("exitCode")
    m = meaning(code, t.text("reason"), t.num("signal"))
    return {
        "exit_code": code,
        "reason": t.text("reason"),
        "klass": m.klass,
        "signal": m.signal,
        "signal_name": m.signal_name,
    }


def _cause_class(code: int, ex: dict[str, FieldValue], kills: Sequence[EventGroup]) -> str:
    """The cause class named in the answer: app-error, usage, success, segfault, abort, sigterm,
    sigkill, sigkill-stop (killed after the grace period while being stopped), signal."""
    klass = str(ex["klass"])
    sig = int(str(ex["signal"] or 0))
    if klass == "success":
        return "success"
    if klass == "usage":
        return "usage"
    if klass == "signal":
        if sig == 11:
            return "segfault"
        if sig == 6:
            return "abort"
        if sig == 15:
            return "sigterm"
        if sig == 9:
            return "sigkill-stop" if kills else "sigkill"
        return "signal"
    if code == 255:
        return "exit-255"
    return "app-error"


_GO_UNITS = {"B": "", "KiB": "Ki", "MiB": "Mi", "GiB": "Gi", "TiB": "Ti"}
_XMX = re.compile(r"-Xmx(\d+)([kKmMgGtT]?)\b")
_NODE_HEAP = re.compile(r"--max-old-space-size=(\d+)")


def runtime_memory_settings(spec: Obj) -> list[tuple[str, Decimal | None]]:
    """Memory ceilings a language runtime reads from the container's env or args (`GOMEMLIMIT=1800MiB`,
    `-Xmx4g`, `--max-old-space-size=4096`), with their size in bytes when it can be read. A ceiling at
    or above the container's limit lets the heap grow into the OOM killer."""
    out: list[tuple[str, Decimal | None]] = []
    texts: list[tuple[str, str]] = [
        (e.text("name"), e.text("value")) for e in spec.children("env") if e.has("value")
    ]
    texts += [("args", a) for a in spec.strings("command") + spec.strings("args")]
    for name, value in texts:
        if name == "GOMEMLIMIT" and value:
            m = re.fullmatch(r"(\d+(?:\.\d+)?)(B|KiB|MiB|GiB|TiB)?", value.strip())
            size = quantity.parse(m.group(1) + _GO_UNITS[m.group(2) or "B"]) if m else None
            out.append((f"env GOMEMLIMIT={value}", size))
            continue
        for x in _XMX.finditer(value):
            unit = {"": "", "k": "Ki", "m": "Mi", "g": "Gi", "t": "Ti"}[x.group(2).lower()]
            label = f"env {name}" if name != "args" else "args"
            out.append((f"{label}: {x.group(0)}", quantity.parse(x.group(1) + unit)))
        for x in _NODE_HEAP.finditer(value):
            label = f"env {name}" if name != "args" else "args"
            out.append((f"{label}: {x.group(0)}", quantity.parse(x.group(1) + "Mi")))
    return out


def _close_keys(key: str, keys: Sequence[str]) -> list[str]:
    """Keys that are probably the one meant: the same but for case and separators (`db-host` for
    `DB_HOST`), or a character or two off. Looser similarity misleads: DATABASE_URL is not
    DATABASE_PORT."""

    def norm(k: str) -> str:
        return re.sub(r"[-_.]", "", k.lower())

    same = [k for k in keys if norm(k) == norm(key) and k != key]
    near = difflib.get_close_matches(key, keys, n=3, cutoff=0.9)
    return list(dict.fromkeys(same + near))[:3]


def kubelet_node_ref(node: str) -> Obj:
    """The Node as the kubelet names it in its events: involvedObject.uid is the node's NAME, not its
    uid (`kl.nodeRef` in pkg/kubelet/kubelet.go), so Rebooted, SystemOOM, EvictionThresholdMet ...
    are found by that."""
    return Obj({"kind": "Node", "metadata": {"name": node, "uid": node}})


def probe_url(probe: Obj, spec: Obj) -> str:
    """An httpGet probe's URL as seen from inside the container, the named port resolved from the
    container's ports (`http://localhost:8081/healthz` for port `health`); "" for other probes."""
    if not probe.has("httpGet"):
        return ""
    h = probe.child("httpGet")
    port = h.text("port")
    if not port.isdigit():
        port = next((p.text("containerPort") for p in spec.children("ports") if p.text("name") == port), port)
    return f"{(h.text('scheme') or 'HTTP').lower()}://localhost:{port}{h.text('path')}"


def _seconds(t: Obj) -> int:
    started, finished = t.time("startedAt"), t.time("finishedAt")
    if started is None or finished is None:
        return 0
    return int((finished - started).total_seconds())


def _shell_pid1(spec: Obj) -> bool:
    cmd = spec.strings("command") or spec.strings("args")
    return (
        len(cmd) >= 2
        and cmd[0].rsplit("/", 1)[-1] in ("sh", "bash", "ash", "dash")
        and cmd[1].startswith("-")
    )


def _reason_line(r: scheduling.Reason) -> str:
    """`2 × Insufficient memory`, or the PreFilter text alone (it has no node count)."""
    return f"{r.count} × {r.text}" if r.count is not None else r.text


def _is_creating(c: Container) -> bool:
    """Waiting to be created (ContainerCreating / PodInitializing, or waiting without a reason)."""
    return c.status.has("state", "waiting") and c.waiting.text("reason") in _CREATING


def tolerates(pod: Obj, taint: Obj) -> bool:
    """Whether the pod tolerates a taint (`v1helper.TolerationsTolerateTaint`): an empty key with
    operator Exists matches everything; an empty effect matches every effect."""
    for t in pod.children("spec", "tolerations"):
        if t.text("effect") and t.text("effect") != taint.text("effect"):
            continue
        op = t.text("operator") or "Equal"
        if not t.text("key"):
            if op == "Exists":
                return True
            continue
        if t.text("key") != taint.text("key"):
            continue
        if op == "Exists" or t.text("value") == taint.text("value"):
            return True
    return False


def excluded(pod: Obj, node: Obj) -> bool:
    """A node the scheduler would rule out for other reasons than resources: cordoned, or tainted
    NoSchedule/NoExecute without a toleration (so it is left out of "most free" figures)."""
    if node.flag("spec", "unschedulable"):
        return True
    return any(
        t.text("effect") in ("NoSchedule", "NoExecute") and not tolerates(pod, t)
        for t in node.children("spec", "taints")
    )


def _condition(obj: Obj | None, ctype: str) -> str:
    if obj is None:
        return ""
    for c in obj.children("status", "conditions"):
        if c.text("type") == ctype:
            return c.text("status")
    return ""


def _node_ready(node: Obj | None) -> str:
    return _condition(node, "Ready")


def _volume_in(message: str) -> str:
    m = re.search(r'for volume "([^"]+)"', message)
    return m.group(1) if m else ""


def _volume_source(vol: Obj) -> tuple[str, str]:
    """(`configMap`, `app-config`), (`persistentVolumeClaim`, `data`), (`csi`, driver) ..."""
    if not vol:
        return "", ""
    for key, name_field in (
        ("configMap", "name"),
        ("secret", "secretName"),
        ("persistentVolumeClaim", "claimName"),
        ("csi", "driver"),
        ("nfs", "server"),
        ("hostPath", "path"),
        ("emptyDir", ""),
        ("projected", ""),
        ("downwardAPI", ""),
        ("ephemeral", ""),
    ):
        if vol.has(key):
            return key, vol.text(key, name_field) if name_field else ""
    other = next((k for k in vol if k != "name"), "")
    return other, ""


def _latest_per_volume(groups: Sequence[EventGroup]) -> list[EventGroup]:
    """One FailedMount group per volume (the latest), plus the generic timeout message if alone."""
    by_volume: dict[str, EventGroup] = {}
    generic: list[EventGroup] = []
    for g in groups:
        vol = _volume_in(g.message)
        if vol:
            by_volume[vol] = g
        else:
            generic.append(g)
    out = list(by_volume.values())
    if not out and generic:
        out.append(generic[-1])
    return out

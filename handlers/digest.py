"""`digest [-n NS,...]`: the health of a scope in one picture: headline counts and the current
problems, grouped by owner workload and reason, each with a stable identity key and the question
to ask next.

Reads, one list per kind for the whole scope and nothing per pod: all namespaces -> one
cluster-wide list per kind; `-n a,b` -> one list per named namespace (what a bot with namespaced
RBAC may do, and far less data than the whole cluster). Kinds: Namespace, Node, Pod, Deployment,
StatefulSet, DaemonSet, Job, Service, EndpointSlice (+ Endpoints only if no EndpointSlice exists at
all, as before v1.21). No events and no logs: a pod's own status is enough for a digest (waiting
reason and message, last termination, the PodScheduled condition, whose message is the scheduler's
FailedScheduling text), and each problem ends with the `why` question that reads the rest.

Identity: `<family>:<namespace>:<OwnerKind>/<owner>[:<discriminator>]`, e.g.
`crashloop:shop:Deployment/web:exit=1`, `node-not-ready:ip-10-0-1-7`. Thirty pods of one Deployment
failing for one reason are one problem; the key stays the same from one digest to the next while the
problem lasts (pod names may change, the key does not), which is what `bot/digest.py` compares to
say what is new, still ongoing and resolved. The same problem is therefore never "new" twice.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Final

from handlers import scheduling
from handlers.containers import Container, condition_line, containers
from handlers.errors import ClusterError, NotFound, UsageError
from handlers.exit_code import meaning
from handlers.images import classify
from handlers.model import FieldValue, Finding, Note, Phrase, Request, Result, Severity, Target, Text
from handlers.objects import Obj, human_duration
from handlers.pod_diagnosis import owner_fields, pod_line
from handlers.podstatus import PodState, pod_state
from handlers.rollout import SHORT
from handlers.selectors import matches, selector_text
from handlers.view import ClusterView

#: A pod Pending (unscheduled, or scheduled but still creating its containers) for longer than this is
#: a problem. Scheduling normally takes milliseconds, and a cluster-autoscaler scale-up (a new node
#: booting and joining) finishes in 2-4 minutes on the big clouds: past 5 minutes nothing is coming.
PENDING_AFTER: Final = timedelta(minutes=5)
#: A running pod that has not been Ready for this long is a problem (same reasoning: start-up and
#: readiness probes of healthy apps settle within a few minutes).
NOT_READY_AFTER: Final = timedelta(minutes=5)
#: An OOM kill that finished this recently is reported even if the container runs again now.
RECENT_OOM: Final = timedelta(hours=1)
#: Top restarters: pods with at least this many restarts, the last within RECENT_RESTART. A few
#: restarts over a pod's life are normal (node reboots, a dependency's blip); five with one in the
#: last day is a pattern someone should look at.
RESTARTS_MIN: Final = 5
RECENT_RESTART: Final = timedelta(hours=24)
#: Owners listed as top restarters, most restarts first.
TOP_RESTARTERS: Final = 5
#: Pods quoted in one problem's evidence (the rest are counted).
MAX_PODS_QUOTED: Final = 3
#: Waiting reasons that mean the image could not be pulled (FACTS.md §4).
IMAGE_REASONS: Final = frozenset(
    {
        "ErrImagePull",
        "ImagePullBackOff",
        "InvalidImageName",
        "ErrImageNeverPull",
        "ImageInspectError",
        "RegistryUnavailable",
        "SignatureValidationFailed",
    }
)
#: Waiting reasons of a container that is on its way up, not broken (yet).
_STARTING: Final = frozenset({"ContainerCreating", "PodInitializing", ""})
_STARTING_STATUS: Final = frozenset({"ContainerCreating", "PodInitializing"})
#: kubectl's `Init:<i>/<n>`: init container i of n is running (a failing one shows `Init:<reason>`).
_INIT_PROGRESS: Final = re.compile(r"^Init:\d+/\d+$")
#: Node conditions that mean pressure when True (kubelet eviction signals).
PRESSURE: Final = ("MemoryPressure", "DiskPressure", "PIDPressure")
SERVICE_NAME_LABEL: Final = "kubernetes.io/service-name"

#: Order of families in the digest, after severity: what stops service first.
FAMILIES: Final = (
    "node-not-ready",
    "crashloop",
    "oomkilled",
    "image-pull",
    "pod-status",
    "pending",
    "rollout-stuck",
    "job-failed",
    "no-endpoints",
    "degraded",
    "not-ready",
    "evicted",
    "node-pressure",
    "restarts",
)
CODES: Final = {
    "node-not-ready": "DIGEST-NODE-NOT-READY",
    "crashloop": "DIGEST-CRASHLOOP",
    "oomkilled": "DIGEST-OOMKILLED",
    "image-pull": "DIGEST-IMAGE-PULL",
    "pod-status": "DIGEST-POD-STATUS",
    "pending": "DIGEST-PENDING",
    "rollout-stuck": "DIGEST-ROLLOUT-STUCK",
    "job-failed": "DIGEST-JOB-FAILED",
    "no-endpoints": "DIGEST-SVC-NO-ENDPOINTS",
    "degraded": "DIGEST-WORKLOAD-DEGRADED",
    "not-ready": "DIGEST-NOT-READY",
    "evicted": "DIGEST-EVICTED",
    "node-pressure": "DIGEST-NODE-PRESSURE",
    "restarts": "DIGEST-RESTARTS",
}
#: The kinds whose lists a family is computed from: a problem is only "resolved" when they were read.
SOURCES: Final = {
    "node-not-ready": ("Node",),
    "node-pressure": ("Node",),
    "job-failed": ("Job",),
    "rollout-stuck": ("Deployment",),
    "degraded": ("Deployment", "StatefulSet", "DaemonSet", "Pod"),
    "no-endpoints": ("Service", "EndpointSlice", "Endpoints", "Pod"),
}
_SEVERITY_RANK: Final = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}
_SCOPED_KINDS: Final = ("Pod", "Deployment", "StatefulSet", "DaemonSet", "Job", "Service")


# -- reading the scope ----------------------------------------------------------------------------


class _Scope:
    """One list per kind over the scope; remembers which kinds could not be read."""

    def __init__(self, view: ClusterView, namespaces: tuple[str, ...]) -> None:
        self.view = view
        self.namespaces = namespaces
        self.unread: list[str] = []
        self.notes: list[Note] = []

    def list(self, kind: str, *, namespaced: bool = True, required: bool = False) -> list[Obj] | None:
        """Every object of `kind` in the scope, or None if it could not be read (a PARTIAL note).
        `required`: the digest means nothing without it (pods): the error goes to the user."""
        try:
            if namespaced and self.namespaces:
                return [o for ns in self.namespaces for o in self.view.list(kind, ns)]
            return list(self.view.list(kind, None))
        except ClusterError as err:
            if required:
                raise
            self.unread.append(kind)
            where = ", ".join(self.namespaces) if namespaced and self.namespaces else ""  # "": all
            self.notes.append(Note("PARTIAL-UNREADABLE", {"kind": kind, "ref": where, "detail": err.detail}))
            return None


def scope_of(req: Request) -> tuple[str, ...]:
    """`-n shop,payments` -> ("payments", "shop"); no -n -> () = all namespaces."""
    if req.args:
        raise UsageError("extra_args", "digest", value=" ".join(req.args))
    return tuple(sorted({ns.strip() for ns in (req.namespace or "").split(",") if ns.strip()}))


# -- problems -------------------------------------------------------------------------------------


@dataclass
class _Group:
    """Pods of one owner with one problem (or one non-pod problem), being collected."""

    family: str
    ns: str
    owner_kind: str
    owner_name: str
    discriminator: str = ""
    fields: dict[str, FieldValue] = field(default_factory=dict)
    pods: list[tuple[Obj, PodState]] = field(default_factory=list)
    containers: list[str] = field(default_factory=list)
    messages: list[Text] = field(default_factory=list)
    since: datetime | None = None
    severity: Severity = Severity.ERROR
    evidence: list[Text] = field(default_factory=list)
    #: The question to ask next, when it is not `why` about the pods or their owner.
    ask: str | None = None

    @property
    def key(self) -> str:
        where = f"{self.ns}:" if self.ns else ""
        owner = f"{self.owner_kind}/{self.owner_name}" if self.owner_kind else self.owner_name
        tail = f":{self.discriminator}" if self.discriminator else ""
        return f"{self.family}:{where}{owner}{tail}"

    def earliest(self, t: datetime | None) -> None:
        if t is not None and (self.since is None or t < self.since):
            self.since = t


def _condition(obj: Obj, ctype: str) -> Obj:
    for c in obj.children("status", "conditions"):
        if c.text("type") == ctype:
            return c
    return Obj()


def _exit_fields(term: Obj) -> dict[str, FieldValue]:
    """What a last termination was, as the EXIT- rules read it (handlers/exit_code.meaning)."""
    if not term:
        return {"exit_code": None, "exit_class": "unknown", "signal_name": "", "exit_reason": ""}
    m = meaning(term.num("exitCode"), term.text("reason"), term.num("signal"))
    return {
        "exit_code": m.code,
        "exit_class": m.klass,
        "signal_name": m.signal_name if m.is_signal else "",
        "exit_reason": term.text("reason"),
    }


@dataclass(frozen=True, slots=True)
class _PodIssue:
    family: str
    discriminator: str
    container: str
    fields: dict[str, FieldValue]
    message: Text
    since: datetime | None
    severity: Severity = Severity.ERROR


def _container_issue(pod: Obj, c: Container, now: datetime) -> _PodIssue | None:
    waiting = c.waiting
    reason = waiting.text("reason")
    last = c.last_terminated
    if reason == "CrashLoopBackOff":
        if last.text("reason") == "OOMKilled":
            return _PodIssue(
                "oomkilled",
                "",
                c.name,
                {"limit": c.resource("limits", "memory"), "running": False},
                f"{c.name}: Last State: Terminated, Reason: OOMKilled, Exit Code: {last.num('exitCode')}",
                None,
            )
        ex = _exit_fields(last)
        code = ex["exit_code"]
        disc = f"exit={code}" if code is not None else "exit=unknown"
        msg = f"{c.name}: {waiting.text('message')}".strip()
        if last:
            msg = (
                f"{c.name}: Last State: Terminated, Reason: {last.text('reason') or '<none>'}, "
                f"Exit Code: {last.num('exitCode')}"
            )
        return _PodIssue("crashloop", disc, c.name, ex, msg, None)
    if reason in IMAGE_REASONS:
        message = waiting.text("message")
        pull = classify(message, c.image)
        return _PodIssue(
            "image-pull",
            "",
            c.name,
            {"image": c.image, "pull_problem": pull.problem.value, "waiting": reason},
            f"{c.name}: {reason}: {message}" if message else f"{c.name}: {reason}",
            None,
        )
    if reason not in _STARTING:
        message = waiting.text("message")
        return _PodIssue(
            "pod-status",
            reason,
            c.name,
            {"status": reason},
            f"{c.name}: {reason}: {message}" if message else f"{c.name}: {reason}",
            None,
        )
    term = c.terminated
    if term.text("reason") == "OOMKilled":
        return _PodIssue(
            "oomkilled",
            "",
            c.name,
            {"limit": c.resource("limits", "memory"), "running": False},
            f"{c.name}: State: Terminated, Reason: OOMKilled, Exit Code: {term.num('exitCode')}",
            term.time("finishedAt"),
        )
    finished = last.time("finishedAt")
    if (
        c.is_running
        and last.text("reason") == "OOMKilled"
        and finished is not None
        and now - finished <= RECENT_OOM
    ):
        return _PodIssue(
            "oomkilled",
            "",
            c.name,
            {"limit": c.resource("limits", "memory"), "running": True},
            Phrase(
                "EV-DIGEST-OOM-RECENT",
                {
                    "container": c.name,
                    "exit_code": last.num("exitCode"),
                    "ago": human_duration((now - finished).total_seconds()),
                },
            ),
            finished,
            Severity.WARNING,
        )
    return None


def _pod_issue(pod: Obj, state: PodState, now: datetime, in_job: bool) -> _PodIssue | None:
    """The one problem a pod counts under (the first that applies), or None if it is fine."""
    if state.status == "Running" and state.total and state.ready == state.total and not state.restarts:
        return None  # most pods: running, ready, never restarted (so no OOM kill to report either)
    phase = pod.text("status", "phase")
    created = pod.created
    if phase == "Succeeded" or pod.has("metadata", "deletionTimestamp"):
        return None
    if pod.text("status", "reason") == "Evicted":
        disruption = _condition(pod, "DisruptionTarget")
        return _PodIssue(
            "evicted",
            "",
            "",
            {},
            f"{pod.name}: {pod.text('status', 'message')}".strip(),
            disruption.time("lastTransitionTime"),
            Severity.WARNING,
        )
    if phase == "Failed":
        if in_job:
            return None  # the Job's own status says whether the Job failed
        return _PodIssue(
            "pod-status",
            state.status,
            "",
            {"status": state.status},
            f"{pod.name}: {pod.text('status', 'message') or state.status}",
            created,
        )
    old = created is not None and now - created >= PENDING_AFTER
    scheduled = _condition(pod, "PodScheduled")
    if phase == "Pending" and scheduled.text("status") == "False":
        if not old:
            return None
        message = scheduled.text("message")
        fit = scheduling.parse(message)
        gated = scheduled.text("reason") == "SchedulingGated"
        reasons: tuple[str, ...] = ()
        cause = "gated" if gated else ""
        if fit is not None:
            ordered = sorted(fit.reasons, key=lambda r: -(r.count or 0))
            reasons = tuple(f"{r.count} {r.text}" if r.count is not None else r.text for r in ordered)
            cause = ordered[0].cause.value if ordered else ""
        return _PodIssue(
            "pending",
            "",
            "",
            {
                "reasons": reasons,
                "cause": cause,
                "nodes_total": fit.total if fit else 0,
                "scheduler_message": message,
            },
            condition_line(scheduled, f"{pod.name}: "),
            created,
        )
    for c in containers(pod):
        if not c.status:
            continue
        issue = _container_issue(pod, c, now)
        if issue is not None:
            return issue
    if old and (state.status in _STARTING_STATUS or _INIT_PROGRESS.match(state.status)):
        # Init:1/3 becomes Init:2/3 as it goes: one discriminator for "still initialising".
        disc = "ContainerCreating" if state.status == "ContainerCreating" else "PodInitializing"
        return _PodIssue(
            "pod-status", disc, "", {"status": state.status}, f"{pod.name}: {state.status}", created
        )
    if phase == "Running" and state.total and state.ready < state.total:
        ready = _condition(pod, "Ready")
        since = ready.time("lastTransitionTime") or pod.time("status", "startTime") or created
        if since is None or now - since < NOT_READY_AFTER:
            return None
        not_ready = [c.name for c in containers(pod) if c.status and not c.ready and not c.init]
        return _PodIssue(
            "not-ready",
            "",
            not_ready[0] if not_ready else "",
            {"status": state.status},
            condition_line(ready, f"{pod.name}: "),
            since,
            Severity.WARNING,
        )
    return None


# -- the verb -------------------------------------------------------------------------------------


def summarise(req: Request, view: ClusterView) -> Result:
    """`digest [-n NS,...]`: headline counts and the current problems of the scope."""
    namespaces = scope_of(req)
    now = req.now
    s = _Scope(view, namespaces)

    ns_objs = s.list("Namespace", namespaced=False)
    if namespaces and ns_objs:  # a snapshot may hold no Namespace objects: nothing to check against
        known = {o.name for o in ns_objs}
        for ns in namespaces:
            if ns not in known:
                raise NotFound(
                    "namespace", ns, [view.name], difflib.get_close_matches(ns, sorted(known), n=3)
                )
    pods = s.list("Pod", required=True) or []
    nodes = s.list("Node", namespaced=False)
    lists = {kind: s.list(kind) for kind in _SCOPED_KINDS if kind != "Pod"}
    jobs = lists["Job"] or []
    services = lists["Service"] or []
    selector_services = [
        svc
        for svc in services
        if svc.text("spec", "type") != "ExternalName" and svc.mapping("spec", "selector")
    ]
    slices = s.list("EndpointSlice") if selector_services else []
    legacy: list[Obj] | None = None
    if selector_services and slices is not None and not slices:
        legacy = s.list("Endpoints")  # no EndpointSlice at all: a cluster before v1.21

    # Jobs made by a CronJob answer as the CronJob: each run is a new Job, the problem is the same.
    cron_of: dict[tuple[str, str], str] = {}
    for job in jobs:
        ref = job.controller
        if ref.text("kind") == "CronJob":
            cron_of[(job.namespace, job.name)] = ref.text("name")

    def owner(pod: Obj) -> tuple[str, str]:
        f = owner_fields(pod)
        kind, name = str(f["owner_kind"]), str(f["owner_name"])
        if kind == "Job" and (pod.namespace, name) in cron_of:
            return "CronJob", cron_of[(pod.namespace, name)]
        if not kind or not name:
            return "Pod", pod.name
        return kind, name

    groups: dict[tuple[str, str, str, str, str], _Group] = {}
    owner_pods: Counter[tuple[str, str, str]] = Counter()
    restarters: dict[tuple[str, str, str], list[tuple[Obj, PodState]]] = defaultdict(list)
    counts: Counter[str] = Counter()
    for pod in pods:
        state = pod_state(pod)
        phase = pod.text("status", "phase")
        counts[phase or "Unknown"] += 1
        if state.status == "Running":  # as kubectl shows it: a crash-looping pod is not "running"
            counts["running"] += 1
            if state.total and state.ready == state.total:
                counts["ready"] += 1
        kind, name = owner(pod)
        owner_pods[(pod.namespace, kind, name)] += 1
        issue = _pod_issue(pod, state, now, kind in ("Job", "CronJob"))
        if issue is None:
            if (
                state.restarts >= RESTARTS_MIN
                and state.last_restart is not None
                and now - state.last_restart <= RECENT_RESTART
            ):
                restarters[(pod.namespace, kind, name)].append((pod, state))
            continue
        gkey = (issue.family, pod.namespace, kind, name, issue.discriminator)
        g = groups.get(gkey)
        if g is None:
            g = groups[gkey] = _Group(
                issue.family,
                pod.namespace,
                kind,
                name,
                issue.discriminator,
                dict(issue.fields),
                severity=issue.severity,
            )
        elif issue.severity is Severity.ERROR:
            g.severity = Severity.ERROR
        g.pods.append((pod, state))
        if issue.container and issue.container not in g.containers:
            g.containers.append(issue.container)
        if issue.message and issue.message not in g.messages:
            g.messages.append(issue.message)
        g.earliest(issue.since)

    problems: list[_Group] = list(groups.values())
    troubled = {(g.ns, g.owner_kind, g.owner_name) for g in problems}

    problems += _restarters(restarters, owner_pods)
    problems += _workloads(lists, troubled)
    problems += _failed_jobs(jobs)
    problems += _services(selector_services, slices, legacy, pods)
    problems += _nodes(nodes or [])

    findings = [_finding(g, owner_pods, now) for g in problems]
    findings.sort(key=_order)
    errors = sum(1 for f in findings if f.severity is Severity.ERROR)
    node_list = nodes or []
    if namespaces:
        ns_count = len(namespaces)
    elif ns_objs:
        ns_count = len(ns_objs)
    else:
        ns_count = len({p.namespace for p in pods})
    summary: dict[str, FieldValue] = {
        "cluster": view.name,
        "scope": namespaces,
        "all_namespaces": not namespaces,
        "namespaces": ns_count,
        "pods_total": len(pods),
        "pods_running": counts["running"],
        "pods_ready": counts["ready"],
        "pods_pending": counts["Pending"],
        "pods_failed": counts["Failed"],
        "pods_succeeded": counts["Succeeded"],
        "nodes_known": nodes is not None,
        "nodes_total": len(node_list),
        "nodes_ready": sum(1 for n in node_list if _condition(n, "Ready").text("status") == "True"),
        "problems": len(findings),
        "errors": errors,
        "warnings": len(findings) - errors,
        "unread": tuple(s.unread),
        "now": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    return Result.answer(
        req,
        target=Target("Cluster", None, view.name),
        findings=[Finding("DIGEST-SUMMARY", summary), *findings],
        searched=namespaces or (Phrase("ALL-NAMESPACES"),),
        notes=s.notes,
    )


def _order(f: Finding) -> tuple[int, int, int, str]:
    family = str(f.fields.get("family", ""))
    count = f.fields.get("count", 0)
    return (
        _SEVERITY_RANK[f.severity or Severity.ERROR],
        FAMILIES.index(family) if family in FAMILIES else len(FAMILIES),
        -(count if isinstance(count, int) else 0),
        str(f.fields.get("key", "")),
    )


def _ask(g: _Group) -> str:
    """The question to ask next: about the one pod when one pod fails, else about its owner."""
    if g.ask is not None:
        return g.ask
    if len(g.pods) == 1:
        return f"why {g.pods[0][0].name} -n {g.ns}"
    if g.owner_kind == "Pod":
        return f"why {g.owner_name} -n {g.ns}"
    short = SHORT.get(g.owner_kind)
    target = f"{short}/{g.owner_name}" if short else g.owner_name
    return f"why {target} -n {g.ns}"


def _finding(g: _Group, owner_pods: Counter[tuple[str, str, str]], now: datetime) -> Finding:
    pods = sorted(g.pods, key=lambda ps: ps[0].name)
    fields: dict[str, FieldValue] = {
        "key": g.key,
        "family": g.family,
        "ns": g.ns,
        "owner_kind": g.owner_kind,
        "owner_short": SHORT.get(g.owner_kind, g.owner_kind.lower()),
        "name": g.owner_name,
        "count": len(pods),
        "pods": owner_pods.get((g.ns, g.owner_kind, g.owner_name), 0),
        "pod_names": tuple(p.name for p, _ in pods[:MAX_PODS_QUOTED]),
        "containers": tuple(g.containers),
        "restarts": sum(st.restarts for _, st in pods),
        "since": g.since.strftime("%Y-%m-%dT%H:%M:%SZ") if g.since else "",
        "duration": human_duration((now - g.since).total_seconds()) if g.since else "",
        "ask": _ask(g),
        "source": SOURCES.get(g.family, ("Pod",)),
        **g.fields,
    }
    evidence = list(g.evidence)
    for pod, state in pods[:MAX_PODS_QUOTED]:
        evidence.append(pod_line(pod, state, now))
    if len(pods) > MAX_PODS_QUOTED:
        evidence.append(Phrase("EV-WORKLOAD-MORE-PODS", {"count": len(pods) - MAX_PODS_QUOTED}))
    evidence.extend(g.messages[:2])
    return Finding(CODES[g.family], fields, tuple(evidence), severity=g.severity)


def _restarters(
    restarters: dict[tuple[str, str, str], list[tuple[Obj, PodState]]],
    owner_pods: Counter[tuple[str, str, str]],
) -> list[_Group]:
    ranked = sorted(restarters.items(), key=lambda kv: (-sum(st.restarts for _, st in kv[1]), kv[0]))[
        :TOP_RESTARTERS
    ]
    out = []
    for (ns, kind, name), pods in ranked:
        # The container that restarted most, and how its last run ended.
        best: tuple[int, Container] | None = None
        for pod, _ in pods:
            for c in containers(pod):
                if c.status and (best is None or c.restarts > best[0]):
                    best = (c.restarts, c)
        g = _Group("restarts", ns, kind, name, severity=Severity.WARNING, pods=list(pods))
        if best is not None:
            g.containers.append(best[1].name)
            g.fields.update(_exit_fields(best[1].last_terminated))
        out.append(g)
    return out


def _workloads(lists: dict[str, list[Obj] | None], troubled: set[tuple[str, str, str]]) -> list[_Group]:
    """Stuck rollouts, and workloads below their desired replicas that no pod problem explains
    (pods that were never created: quota, admission; a DaemonSet that cannot place its pods)."""
    out: list[_Group] = []

    def degraded(w: Obj, line: str, counts: tuple[int, int, int, int]) -> _Group:
        """`counts`: desired, ready, available, updated replicas."""
        desired, ready, available, updated = counts
        g = _Group(
            "degraded",
            w.namespace,
            w.kind,
            w.name,
            fields={"desired": desired, "ready": ready, "available": available, "updated": updated},
            evidence=[line, *(condition_line(c) for c in w.children("status", "conditions"))],
            severity=Severity.ERROR if ready == 0 else Severity.WARNING,
        )
        out.append(g)
        return g

    for w in lists["Deployment"] or []:
        desired = w.num("spec", "replicas", default=1)
        progressing = _condition(w, "Progressing")
        st = w.child("status")
        line = (
            f"Replicas: {desired} desired | {st.num('updatedReplicas')} updated | {st.num('replicas')} total "
            f"| {st.num('availableReplicas')} available | {st.num('unavailableReplicas')} unavailable"
        )
        counts = (desired, st.num("readyReplicas"), st.num("availableReplicas"), st.num("updatedReplicas"))
        if progressing.text("status") == "False" and progressing.text("reason") == "ProgressDeadlineExceeded":
            g = degraded(w, line, counts)
            g.family = "rollout-stuck"
            g.fields["message"] = progressing.text("message")
            # The old ReplicaSet may still serve every replica: then users see nothing yet.
            g.severity = Severity.WARNING if st.num("availableReplicas") >= desired else Severity.ERROR
            g.earliest(progressing.time("lastTransitionTime"))
            continue
        if not desired or st.num("availableReplicas") >= desired or (w.namespace, w.kind, w.name) in troubled:
            continue
        if progressing.text("reason") == "ReplicaSetUpdated":
            continue  # a rollout in progress, within its progressDeadlineSeconds
        g = degraded(w, line, counts)
        available = _condition(w, "Available")
        if available.text("status") == "False":
            g.earliest(available.time("lastTransitionTime"))
    for w in lists["StatefulSet"] or []:
        desired = w.num("spec", "replicas", default=1)
        st = w.child("status")
        if not desired or st.num("readyReplicas") >= desired or (w.namespace, w.kind, w.name) in troubled:
            continue
        line = (
            f"Replicas: {desired} desired | {st.num('replicas')} total | {st.num('readyReplicas')} ready "
            f"| {st.num('currentReplicas')} current | {st.num('updatedReplicas')} updated"
        )
        degraded(
            w,
            line,
            (desired, st.num("readyReplicas"), st.num("availableReplicas"), st.num("updatedReplicas")),
        )
    for w in lists["DaemonSet"] or []:
        st = w.child("status")
        desired = st.num("desiredNumberScheduled")
        if not desired or st.num("numberReady") >= desired or (w.namespace, w.kind, w.name) in troubled:
            continue
        line = (
            f"Desired Number of Nodes Scheduled: {desired}, Current: {st.num('currentNumberScheduled')}, "
            f"Ready: {st.num('numberReady')}, Up-to-date: {st.num('updatedNumberScheduled')}, "
            f"Available: {st.num('numberAvailable')}"
        )
        ready = st.num("numberReady")
        degraded(w, line, (desired, ready, st.num("numberAvailable"), st.num("updatedNumberScheduled")))
    return out


def _failed_jobs(jobs: Sequence[Obj]) -> list[_Group]:
    """Failed Jobs; for a CronJob only its newest Job counts (an old failure a later run fixed is history)."""
    newest: dict[tuple[str, str], Obj] = {}
    standalone: list[Obj] = []
    for job in jobs:
        ref = job.controller
        if ref.text("kind") == "CronJob":
            k = (job.namespace, ref.text("name"))
            seen = newest.get(k)
            if seen is None or (job.text("metadata", "creationTimestamp"), job.name) > (
                seen.text("metadata", "creationTimestamp"),
                seen.name,
            ):
                newest[k] = job
        else:
            standalone.append(job)
    out = []
    for (_ns, cron), job in sorted(newest.items()):
        g = _job_failure(job, "CronJob", cron)
        if g is not None:
            out.append(g)
    for job in standalone:
        g = _job_failure(job, "Job", job.name)
        if g is not None:
            out.append(g)
    return out


def _job_failure(job: Obj, kind: str, name: str) -> _Group | None:
    failed = _condition(job, "Failed")
    if failed.text("status") != "True":
        return None
    st = job.child("status")
    g = _Group(
        "job-failed",
        job.namespace,
        kind,
        name,
        fields={
            "job": job.name,
            "reason": failed.text("reason"),
            "message": failed.text("message"),
            "failed": st.num("failed"),
            "backoff_limit": job.num("spec", "backoffLimit", default=6),
        },
        ask=f"why {SHORT[kind]}/{name} -n {job.namespace}",
        evidence=[
            Phrase(
                "EV-DIGEST-JOB-PODS",
                {
                    "job": job.name,
                    "active": st.num("active"),
                    "succeeded": st.num("succeeded"),
                    "failed": st.num("failed"),
                },
            ),
            condition_line(failed),
        ],
    )
    g.earliest(failed.time("lastTransitionTime"))
    return g


def _ready_addresses(endpoint_objs: Sequence[Obj]) -> tuple[int, int]:
    """(ready, all) addresses in EndpointSlices (or v1 Endpoints), by the API's semantics: a nil
    `ready` condition counts as ready (discovery/v1 EndpointConditions, see handlers/endpoints.py)."""
    ready: set[str] = set()
    every: set[str] = set()
    for o in endpoint_objs:
        if o.kind == "Endpoints" or o.has("subsets"):
            for subset in o.children("subsets"):
                for a in subset.children("addresses"):
                    ready.add(a.text("ip"))
                    every.add(a.text("ip"))
                for a in subset.children("notReadyAddresses"):
                    every.add(a.text("ip"))
            continue
        for ep in o.children("endpoints"):
            is_ready = ep.child("conditions").flag("ready", default=True)
            for address in ep.strings("addresses"):
                every.add(address)
                if is_ready:
                    ready.add(address)
    return len(ready), len(every)


def _services(
    services: Sequence[Obj], slices: list[Obj] | None, legacy: list[Obj] | None, pods: Sequence[Obj]
) -> list[_Group]:
    if slices is None and legacy is None:
        return []  # could not read where endpoints live: say nothing rather than something false
    by_service: dict[tuple[str, str], list[Obj]] = defaultdict(list)
    for sl in slices or []:
        svc_name = sl.labels.get(SERVICE_NAME_LABEL, "")
        if svc_name:
            by_service[(sl.namespace, svc_name)].append(sl)
    for ep in legacy or []:
        by_service[(ep.namespace, ep.name)].append(ep)
    pods_by_ns: dict[str, list[Obj]] | None = None  # built only if some Service has no endpoint
    out = []
    for svc in services:
        objs = by_service.get((svc.namespace, svc.name), [])
        ready, total = _ready_addresses(objs)
        if ready:
            continue
        selector = svc.mapping("spec", "selector")
        if pods_by_ns is None:
            pods_by_ns = defaultdict(list)
            for p in pods:
                if p.text("status", "phase") not in ("Succeeded", "Failed"):
                    pods_by_ns[p.namespace].append(p)
        selected = [p for p in pods_by_ns.get(svc.namespace, []) if matches(selector, p.labels)]
        selected_ready = [p for p in selected if _condition(p, "Ready").text("status") == "True"]
        evidence: list[Text] = [f"Selector: {selector_text(selector)}"]
        evidence += [
            Phrase("EV-DIGEST-SLICE-NONE-READY", {"name": o.name, "endpoints": len(o.children("endpoints"))})
            for o in objs
            if o.kind != "Endpoints"
        ]
        if not objs:
            evidence.append(Phrase("EV-DIGEST-NO-ENDPOINT-OBJECTS"))
        g = _Group(
            "no-endpoints",
            svc.namespace,
            "Service",
            svc.name,
            fields={
                "selector": selector_text(selector),
                "selected": len(selected),
                "selected_ready": len(selected_ready),
                "addresses": total,
            },
            ask=f"endpoints {svc.name} -n {svc.namespace}",
            evidence=evidence,
            severity=Severity.ERROR if selected else Severity.WARNING,
        )
        out.append(g)
    return out


def _nodes(nodes: Sequence[Obj]) -> list[_Group]:
    out = []
    for node in sorted(nodes, key=lambda n: n.name):
        ready = _condition(node, "Ready")
        if ready.text("status") != "True":
            g = _Group(
                "node-not-ready",
                "",
                "Node",
                node.name,
                fields={
                    "status": ready.text("status") or "Unknown",
                    "reason": ready.text("reason"),
                    "message": ready.text("message"),
                    "unschedulable": node.flag("spec", "unschedulable"),
                },
                ask="",
                evidence=[
                    condition_line(ready),
                ],
            )
            g.earliest(ready.time("lastTransitionTime"))
            out.append(g)
        for ctype in PRESSURE:
            cond = _condition(node, ctype)
            if cond.text("status") != "True":
                continue
            g = _Group(
                "node-pressure",
                "",
                "Node",
                node.name,
                ctype,
                fields={
                    "condition": ctype,
                    "reason": cond.text("reason"),
                    "message": cond.text("message"),
                },
                ask="",
                evidence=[
                    condition_line(cond),
                ],
                severity=Severity.WARNING,
            )
            g.earliest(cond.time("lastTransitionTime"))
            out.append(g)
    return out

"""`why deploy/x | sts/x | ds/x | job/x | cronjob/x | rs/x`: the workload's pods, the worst few
diagnosed, and the rollout state summarised.

Reads: the workload (lookup), its ReplicaSets / ControllerRevisions / Jobs (one list), its pods (one
list by the selector's matchLabels, then filtered by ownerReferences), then per diagnosed pod its
events, node and one log (shared between pods: a node is read once).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from handlers import rollout
from handlers.containers import condition_line, containers
from handlers.model import FieldValue, Finding, Phrase, Request, Severity, Text
from handlers.objects import Obj, age
from handlers.pod_diagnosis import PodDiagnosis, diagnose_pod
from handlers.podstatus import pod_state
from handlers.reads import Reads
from handlers.view import ClusterView

#: Pods diagnosed in full (events, node, log each); the rest are counted by status.
MAX_DIAGNOSED = 3
#: Pods listed by name in the summary evidence.
MAX_LISTED = 8


@dataclass(frozen=True, slots=True)
class WorkloadAnswer:
    status: str
    findings: tuple[Finding, ...]
    diagnosed: tuple[PodDiagnosis, ...]


def quick_badness(pod: Obj) -> tuple[int, int, str]:
    """Rank pods without reading anything more: broken (2), restarted or not ready (1), fine (0);
    then by restarts (more first), then name."""
    st = pod_state(pod)
    phase = pod.text("status", "phase")
    if phase == "Succeeded" or st.status == "Completed":
        bad = 0
    elif st.status == "Running" and st.ready == st.total:
        bad = 1 if st.restarts else 0
    else:
        bad = 2
    return (-bad, -st.restarts, pod.name)


def _pods_of(reads: Reads, workload: Obj, owners: list[Obj]) -> list[Obj]:
    labels = workload.mapping("spec", "selector", "matchLabels")
    if workload.kind == "ReplicationController":
        labels = workload.mapping("spec", "selector")
    pods = reads.list("Pod", workload.namespace, labels or None)
    uids = {o.uid for o in owners if o.uid}
    names = {(o.kind, o.name) for o in owners}
    return [
        p
        for p in pods
        if (p.controller.text("uid") in uids)
        or (not p.controller.text("uid") and (p.controller.text("kind"), p.controller.text("name")) in names)
    ]


def answer(view: ClusterView, workload: Obj, req: Request) -> WorkloadAnswer:
    reads = Reads(view)
    kind = workload.kind
    findings: list[Finding] = []
    owners: list[Obj] = [workload]
    revisions: list[rollout.Revision] = []
    extra_pods_note: list[Finding] = []
    target = workload
    if kind == "Deployment":
        rss = reads.list("ReplicaSet", workload.namespace)
        revisions = rollout.deployment_revisions(rss, workload.uid, workload.name)
        owners = [r.obj for r in revisions]
    elif kind in ("StatefulSet", "DaemonSet"):
        revisions = rollout.controller_revisions(
            reads.list("ControllerRevision", workload.namespace), workload.uid, workload.name
        )
    elif kind == "CronJob":
        jobs = [j for j in reads.list("Job", workload.namespace) if rollout.owned_by(j, workload)]
        jobs.sort(key=lambda j: (j.text("metadata", "creationTimestamp"), j.name))
        findings.append(_cronjob(workload, jobs, req))
        if not jobs:
            return WorkloadAnswer("", tuple(findings), ())
        target = jobs[-1]
        owners = [target]
        findings.append(rollout.job_status(target, req))
    pods = _pods_of(reads, target, owners)
    if kind == "Deployment":
        findings.insert(0, _deployment(workload, revisions, pods, req))
    elif kind == "StatefulSet":
        findings.insert(0, _statefulset(workload, revisions, pods, req))
    elif kind == "DaemonSet":
        findings.insert(0, _daemonset(workload, pods, req))
    elif kind == "Job":
        findings.insert(0, rollout.job_status(workload, req))
    elif kind in ("ReplicaSet", "ReplicationController"):
        findings.insert(0, _replicaset(workload, pods, req))
    ranked = sorted(pods, key=quick_badness)
    worst = [p for p in ranked if quick_badness(p)[0] < 0][:MAX_DIAGNOSED]
    diagnosed: list[PodDiagnosis] = []
    for i, p in enumerate(worst):
        d = diagnose_pod(view, p, req, reads=reads, owner=False, logs=i == 0)
        diagnosed.append(d)
    if not pods:
        findings.append(
            Finding(
                "WORKLOAD-NO-PODS",
                {
                    "ns": workload.namespace,
                    "kind": target.kind,
                    "short": rollout.SHORT.get(target.kind, target.kind.lower()),
                    "name": target.name,
                    "selector": ",".join(
                        f"{k}={v}" for k, v in target.mapping("spec", "selector", "matchLabels").items()
                    ),
                    "desired": _desired(target),
                },
            )
        )
    # The rollout change, when the newest revision has trouble.
    if len(revisions) >= 2 and (diagnosed or _rollout_incomplete(workload)):
        change = rollout.change_finding(
            kind, workload.name, workload.namespace, previous=revisions[-2], newest=revisions[-1], req=req
        )
        if change is not None:
            findings.append(change)
    for d in diagnosed:
        findings += [f for f in d.findings if f.code != "WORKLOAD-ROLLOUT-CHANGE"]
    if pods:
        findings.append(_pods_summary(target, pods, diagnosed, req))
    findings += extra_pods_note
    status = _status_word(workload, pods, diagnosed)
    return WorkloadAnswer(status, tuple(findings), tuple(diagnosed))


def _desired(w: Obj) -> int:
    if w.kind == "DaemonSet":
        return w.num("status", "desiredNumberScheduled")
    if w.kind == "Job":
        return w.num("spec", "completions", default=1)
    return w.num("spec", "replicas", default=1)


def _rollout_incomplete(w: Obj) -> bool:
    if w.kind == "Deployment":
        st = w.child("status")
        return (
            st.num("updatedReplicas") < w.num("spec", "replicas", default=1)
            or st.num("unavailableReplicas") > 0
        )
    if w.kind == "StatefulSet":
        st = w.child("status")
        return bool(st.text("updateRevision")) and st.text("currentRevision") != st.text("updateRevision")
    if w.kind == "DaemonSet":
        st = w.child("status")
        return (
            st.num("updatedNumberScheduled") < st.num("desiredNumberScheduled")
            or st.num("numberUnavailable") > 0
        )
    return False


def _status_word(w: Obj, pods: list[Obj], diagnosed: list[PodDiagnosis]) -> str:
    """A kubectl-like one-word summary: READY count for Deployments/StatefulSets, etc."""
    if w.kind == "Deployment":
        return f"{w.num('status', 'readyReplicas')}/{w.num('spec', 'replicas', default=1)} ready"
    if w.kind == "StatefulSet":
        return f"{w.num('status', 'readyReplicas')}/{w.num('spec', 'replicas', default=1)} ready"
    if w.kind == "DaemonSet":
        return f"{w.num('status', 'numberReady')}/{w.num('status', 'desiredNumberScheduled')} ready"
    if w.kind == "Job":
        return f"{w.num('status', 'succeeded')}/{w.num('spec', 'completions', default=1)} complete"
    if w.kind == "CronJob":
        return (
            "Suspended"
            if w.flag("spec", "suspend")
            else "Active"
            if w.children("status", "active")
            else "Idle"
        )
    return f"{w.num('status', 'readyReplicas')}/{w.num('spec', 'replicas', default=1)} ready"


def _condition(w: Obj, ctype: str) -> Obj:
    return next((c for c in w.children("status", "conditions") if c.text("type") == ctype), Obj())


def _deployment(w: Obj, revisions: list[rollout.Revision], pods: list[Obj], req: Request) -> Finding:
    st = w.child("status")
    desired = w.num("spec", "replicas", default=1)
    progressing = _condition(w, "Progressing")
    available = _condition(w, "Available")
    unavailable = st.num("unavailableReplicas")
    stuck = progressing.text("reason") == "ProgressDeadlineExceeded"
    newest = revisions[-1] if revisions else None
    complete = (
        st.num("updatedReplicas") == desired
        and st.num("availableReplicas") == desired
        and st.num("replicas") == desired
        and not unavailable
    )
    fields: dict[str, FieldValue] = {
        "ns": w.namespace,
        "name": w.name,
        "desired": desired,
        "updated": st.num("updatedReplicas"),
        "total": st.num("replicas"),
        "ready": st.num("readyReplicas"),
        "available": st.num("availableReplicas"),
        "unavailable": unavailable,
        "paused": w.flag("spec", "paused"),
        "stuck": stuck,
        "complete": complete,
        "new_rs": newest.name if newest else "",
        "new_revision": newest.number if newest else 0,
        "previous_revision": revisions[-2].number if len(revisions) >= 2 else 0,
        "strategy": w.text("spec", "strategy", "type") or "RollingUpdate",
    }
    evidence: list[Text] = [
        f"Replicas: {desired} desired | {st.num('updatedReplicas')} updated | {st.num('replicas')} total | "
        f"{st.num('availableReplicas')} available | {unavailable} unavailable",
    ]
    for cond in (available, progressing):
        if cond:
            evidence.append(condition_line(cond))
    by_rs: Counter[str] = Counter(p.controller.text("name") for p in pods)
    ready_by_rs: Counter[str] = Counter(
        p.controller.text("name")
        for p in pods
        if pod_state(p).ready == pod_state(p).total and pod_state(p).total
    )
    for rev in reversed(revisions):
        if rev.obj.num("spec", "replicas") == 0 and rev is not newest and by_rs[rev.name] == 0:
            continue
        images = ", ".join(c.text("image") for c in rev.template.children("spec", "containers"))
        evidence.append(
            Phrase(
                "EV-WORKLOAD-REPLICASET",
                {
                    "name": rev.name,
                    "revision": rev.number,
                    "new": rev is newest,
                    "ago": age(rev.obj.created, req.now),
                    "images": images,
                    "desired": rev.obj.num("spec", "replicas"),
                    "pods": by_rs[rev.name],
                    "ready": ready_by_rs[rev.name],
                },
            )
        )
    if complete and not stuck:
        sev = Severity.INFO
    elif stuck or (unavailable and st.num("availableReplicas") == 0):
        sev = Severity.ERROR
    else:
        sev = Severity.WARNING
    return Finding("DEPLOY-STATUS", fields, tuple(evidence), severity=sev)


def _statefulset(w: Obj, revisions: list[rollout.Revision], pods: list[Obj], req: Request) -> Finding:
    st = w.child("status")
    desired = w.num("spec", "replicas", default=1)
    current, update = st.text("currentRevision"), st.text("updateRevision")
    rolling = bool(update) and current != update
    by_rev: Counter[str] = Counter(p.labels.get("controller-revision-hash", "") for p in pods)
    not_ready = sorted(
        (
            p
            for p in pods
            if not (pod_state(p).status == "Running" and pod_state(p).ready == pod_state(p).total)
        ),
        key=lambda p: p.name,
    )
    fields: dict[str, FieldValue] = {
        "ns": w.namespace,
        "name": w.name,
        "desired": desired,
        "ready": st.num("readyReplicas"),
        "current": st.num("currentReplicas"),
        "updated": st.num("updatedReplicas"),
        "current_revision": current,
        "update_revision": update,
        "rolling": rolling,
        "policy": w.text("spec", "podManagementPolicy") or "OrderedReady",
        "strategy": w.text("spec", "updateStrategy", "type") or "RollingUpdate",
        "partition": w.num("spec", "updateStrategy", "rollingUpdate", "partition"),
        "not_ready": tuple(p.name for p in not_ready),
        "service": w.text("spec", "serviceName"),
        "complete": st.num("readyReplicas") == desired and not rolling,
    }
    evidence: list[Text] = [
        f"Replicas: {desired} desired | {st.num('replicas')} total | {st.num('readyReplicas')} ready | "
        f"{st.num('currentReplicas')} current | {st.num('updatedReplicas')} updated",
        f"currentRevision: {current or '<none>'}, updateRevision: {update or '<none>'}",
    ]
    for rev in reversed(revisions[-3:]):
        images = ", ".join(c.text("image") for c in rev.template.children("spec", "containers"))
        evidence.append(
            Phrase(
                "EV-WORKLOAD-CONTROLLER-REVISION",
                {
                    "name": rev.name,
                    "revision": rev.number,
                    "ago": age(rev.obj.created, req.now),
                    "images": images,
                    "pods": by_rev[rev.name],
                },
            )
        )
    if not_ready:
        listed = tuple(f"{p.name} ({pod_state(p).status})" for p in not_ready[:MAX_LISTED])
        evidence.append(Phrase("EV-WORKLOAD-NOT-READY", {"pods": listed}))
    sev = (
        Severity.INFO
        if fields["complete"]
        else Severity.ERROR
        if st.num("readyReplicas") == 0
        else Severity.WARNING
    )
    return Finding("STS-STATUS", fields, tuple(evidence), severity=sev)


def _daemonset(w: Obj, pods: list[Obj], req: Request) -> Finding:
    st = w.child("status")
    fields: dict[str, FieldValue] = {
        "ns": w.namespace,
        "name": w.name,
        "desired": st.num("desiredNumberScheduled"),
        "current": st.num("currentNumberScheduled"),
        "ready": st.num("numberReady"),
        "updated": st.num("updatedNumberScheduled"),
        "available": st.num("numberAvailable"),
        "unavailable": st.num("numberUnavailable"),
        "misscheduled": st.num("numberMisscheduled"),
        "selector": ",".join(f"{k}={v}" for k, v in w.mapping("spec", "selector", "matchLabels").items()),
        "complete": st.num("numberReady") == st.num("desiredNumberScheduled")
        and st.num("updatedNumberScheduled") == st.num("desiredNumberScheduled"),
    }
    evidence = [
        f"Desired Number of Nodes Scheduled: {fields['desired']}, Current: {fields['current']}, Ready: "
        f"{fields['ready']}, Up-to-date: {fields['updated']}, Available: {fields['available']}, "
        f"Misscheduled: {fields['misscheduled']}"
    ]
    sev = Severity.INFO if fields["complete"] else Severity.WARNING
    return Finding("DS-STATUS", fields, tuple(evidence), severity=sev)


def _cronjob(w: Obj, jobs: list[Obj], req: Request) -> Finding:
    last = jobs[-1] if jobs else Obj()
    fields: dict[str, FieldValue] = {
        "ns": w.namespace,
        "name": w.name,
        "schedule": w.text("spec", "schedule"),
        "suspend": w.flag("spec", "suspend"),
        "last_schedule": w.text("status", "lastScheduleTime"),
        "last_success": w.text("status", "lastSuccessfulTime"),
        "active": len(w.children("status", "active")),
        "jobs": len(jobs),
        "last_job": last.name,
        "concurrency": w.text("spec", "concurrencyPolicy") or "Allow",
    }
    evidence: list[Text] = [
        f"Schedule: {fields['schedule']}, Suspend: {str(fields['suspend']).lower()}, "
        f"Concurrency Policy: {fields['concurrency']}",
        f"Last Schedule Time: {fields['last_schedule'] or '<none>'}, "
        f"Last Successful Time: {fields['last_success'] or '<none>'}",
    ]
    for j in jobs[-5:]:
        evidence.append(
            Phrase(
                "EV-WORKLOAD-CRONJOB-JOB",
                {
                    "job": j.name,
                    "succeeded": j.num("status", "succeeded"),
                    "failed": j.num("status", "failed"),
                    "active": j.num("status", "active"),
                    "ago": age(j.created, req.now),
                },
            )
        )
    sev = Severity.WARNING if fields["suspend"] else Severity.INFO
    return Finding("CRONJOB-STATUS", fields, tuple(evidence), severity=sev)


def _replicaset(w: Obj, pods: list[Obj], req: Request) -> Finding:
    st = w.child("status")
    fields: dict[str, FieldValue] = {
        "ns": w.namespace,
        "kind": w.kind,
        "short": rollout.SHORT.get(w.kind, w.kind.lower()),
        "name": w.name,
        "desired": w.num("spec", "replicas", default=1),
        "ready": st.num("readyReplicas"),
        "available": st.num("availableReplicas"),
        "owner": w.controller.text("name"),
        "owner_kind": w.controller.text("kind"),
    }
    evidence = [
        f"Replicas: {st.num('replicas')} current / {fields['desired']} desired, {fields['ready']} ready"
    ]
    for cond in w.children("status", "conditions"):
        evidence.append(condition_line(cond))
    sev = Severity.INFO if fields["ready"] == fields["desired"] else Severity.WARNING
    return Finding("RS-STATUS", fields, tuple(evidence), severity=sev)


def _pods_summary(w: Obj, pods: list[Obj], diagnosed: list[PodDiagnosis], req: Request) -> Finding:
    statuses: Counter[str] = Counter(pod_state(p).status for p in pods)
    done = {d.pod.name for d in diagnosed}
    rest = [p for p in sorted(pods, key=quick_badness) if p.name not in done]
    evidence: list[Text] = []
    for p in rest[:MAX_LISTED]:
        st = pod_state(p)
        evidence.append(
            f"{p.name}: READY {st.ready_column}, STATUS {st.status}, RESTARTS {st.restarts_column(req.now)}, "
            f"AGE {age(p.created, req.now)}, NODE {p.text('spec', 'nodeName') or '<none>'}"
        )
    if len(rest) > MAX_LISTED:
        evidence.append(Phrase("EV-WORKLOAD-MORE-PODS", {"count": len(rest) - MAX_LISTED}))
    first_bad = next((d.pod.name for d in diagnosed), "")
    fields: dict[str, FieldValue] = {
        "ns": w.namespace,
        "kind": w.kind,
        "name": w.name,
        "count": len(pods),
        "statuses": tuple(f"{n} {s}" for s, n in statuses.most_common()),
        "diagnosed": tuple(sorted(done)),
        "healthy": sum(1 for p in pods if quick_badness(p)[0] == 0),
        "first_bad": first_bad,
        "containers": tuple(c.name for c in containers(pods[0]) if not c.init) if pods else (),
    }
    return Finding("WORKLOAD-PODS", fields, tuple(evidence))

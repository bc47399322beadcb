"""Owners and rollouts: which revision a pod runs, what changed from the one before, and the rollout
state of a workload (ReplicaSets old/new, StatefulSet currentRevision/updateRevision, ...).

For a pod question one request finds the owner chain and its history: the namespace's ReplicaSets
(the pod's ReplicaSet, its Deployment's name from ownerReferences, and the sibling ReplicaSets with
their `deployment.kubernetes.io/revision`), or the ControllerRevisions of a StatefulSet/DaemonSet
(`revision` and `data.spec.template`). The Deployment object itself is not needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from handlers import templatediff
from handlers.containers import condition_line
from handlers.model import FieldValue, Finding, Phrase, Request, Severity, Text
from handlers.objects import Obj, age
from handlers.reads import Reads

REVISION = "deployment.kubernetes.io/revision"
#: A pod created this soon after its revision was created came from the rollout itself.
ROLLOUT_WINDOW = timedelta(hours=1)
#: Diff lines quoted (a big refactor changes dozens of fields; the first ones name the change).
MAX_DIFF = 12

SHORT = {
    "Deployment": "deploy",
    "StatefulSet": "sts",
    "DaemonSet": "ds",
    "ReplicaSet": "rs",
    "Job": "job",
    "CronJob": "cronjob",
    "ReplicationController": "rc",
}


@dataclass(frozen=True, slots=True)
class Revision:
    """One revision of a workload's pod template."""

    name: str  # ReplicaSet or ControllerRevision name
    number: int
    template: Obj
    obj: Obj

    @property
    def created(self) -> object:
        return self.obj.created


def rs_revision(rs: Obj) -> int:
    try:
        return int(rs.annotations.get(REVISION, "0"))
    except ValueError:
        return 0


def owned_by(obj: Obj, owner: Obj) -> bool:
    ref = obj.controller
    if not ref:
        return False
    if ref.text("uid") and owner.uid:
        return ref.text("uid") == owner.uid
    return ref.text("kind") == owner.kind and ref.text("name") == owner.name


def deployment_revisions(rss: list[Obj], deployment_uid: str, deployment_name: str) -> list[Revision]:
    """The Deployment's ReplicaSets as revisions, oldest first."""
    out = []
    for rs in rss:
        ref = rs.controller
        if ref.text("kind") != "Deployment":
            continue
        if (ref.text("uid") and deployment_uid and ref.text("uid") == deployment_uid) or (
            not deployment_uid and ref.text("name") == deployment_name
        ):
            out.append(Revision(rs.name, rs_revision(rs), rs.child("spec", "template"), rs))
    return sorted(out, key=lambda r: (r.number, r.name))


def controller_revisions(crs: list[Obj], owner_uid: str, owner_name: str) -> list[Revision]:
    out = []
    for cr in crs:
        ref = cr.controller
        if (ref.text("uid") and owner_uid and ref.text("uid") == owner_uid) or (
            not owner_uid and ref.text("name") == owner_name
        ):
            out.append(Revision(cr.name, cr.num("revision"), cr.child("data", "spec", "template"), cr))
    return sorted(out, key=lambda r: (r.number, r.name))


def pod_revision(pod: Obj, revisions: list[Revision]) -> Revision | None:
    """The revision a StatefulSet/DaemonSet pod runs, from its `controller-revision-hash` label."""
    h = pod.labels.get("controller-revision-hash", "")
    if not h:
        return None
    for r in revisions:
        if r.name == h or r.name.endswith(f"-{h}") or r.obj.labels.get("controller-revision-hash") == h:
            return r
    return None


@dataclass(frozen=True, slots=True)
class PodOwner:
    """The pod's controller and the workload on top, with the revisions read for them."""

    kind: str  # the top workload kind: Deployment, StatefulSet, DaemonSet, Job, ReplicaSet, ...
    name: str
    revisions: tuple[Revision, ...]
    current: Revision | None  # the revision this pod runs


def pod_owner(reads: Reads, pod: Obj) -> PodOwner | None:
    """Resolve the owner chain with one request (see module docstring); None if bare or unaffordable."""
    ref = pod.controller
    kind, name, ns = ref.text("kind"), ref.text("name"), pod.namespace
    if kind == "ReplicaSet":
        if not reads.afford(f"ReplicaSet list {ns}"):
            return None
        rss = reads.list("ReplicaSet", ns)
        rs = next(
            (x for x in rss if x.uid == ref.text("uid") or (not ref.text("uid") and x.name == name)), None
        )
        if rs is None:
            return PodOwner("ReplicaSet", name, (), None)
        dep = rs.controller
        if dep.text("kind") != "Deployment":
            return PodOwner("ReplicaSet", name, (), None)
        revs = deployment_revisions(rss, dep.text("uid"), dep.text("name"))
        cur = next((r for r in revs if r.name == rs.name), None)
        return PodOwner("Deployment", dep.text("name"), tuple(revs), cur)
    if kind in ("StatefulSet", "DaemonSet"):
        if not reads.afford(f"ControllerRevision list {ns}"):
            return None
        revs = controller_revisions(reads.list("ControllerRevision", ns), ref.text("uid"), name)
        return PodOwner(kind, name, tuple(revs), pod_revision(pod, revs))
    if kind:
        return PodOwner(kind, name, (), None)
    return None


def change_for_pod(reads: Reads, pod: Obj, req: Request) -> Finding | None:
    """WORKLOAD-ROLLOUT-CHANGE when the failing pod runs the newest revision and it differs from
    the one before: what changed, when, and how to go back."""
    owner = pod_owner(reads, pod)
    if owner is None or owner.current is None or len(owner.revisions) < 2:
        return None
    newest = owner.revisions[-1]
    if owner.current.name != newest.name:
        return None
    previous = owner.revisions[-2]
    return change_finding(
        owner.kind, owner.name, pod.namespace, previous=previous, newest=newest, req=req, pod=pod
    )


def change_finding(
    kind: str,
    name: str,
    ns: str,
    *,
    previous: Revision,
    newest: Revision,
    req: Request,
    pod: Obj | None = None,
) -> Finding | None:
    lines = templatediff.diff(previous.template, newest.template)
    if not lines:
        return None
    created = newest.obj.created
    old_ready = previous.obj.num("status", "readyReplicas") if kind == "Deployment" else 0
    new_ready = newest.obj.num("status", "readyReplicas") if kind == "Deployment" else 0
    from_rollout = bool(
        pod is not None and created and pod.created and pod.created - created <= ROLLOUT_WINDOW
    )
    strong = old_ready > 0 or from_rollout or pod is None
    fields: dict[str, FieldValue] = {
        "ns": ns,
        "kind": kind,
        "short": SHORT.get(kind, kind.lower()),
        "name": name,
        "new": newest.name,
        "new_revision": newest.number,
        "old": previous.name,
        "old_revision": previous.number,
        "changed_at": newest.obj.text("metadata", "creationTimestamp"),
        "changed_ago": age(created, req.now),
        "old_ready": old_ready,
        "new_ready": new_ready,
        "changes": len(lines),
        "image_changed": any(isinstance(ln, str) and ": image " in ln for ln in lines),
        "pod": pod.name if pod is not None else "",
    }
    evidence: list[Text] = []
    # A workload answer lists the revisions in its status finding already; a pod answer needs them here.
    for rev in (newest, previous) if pod is not None else ():
        st = rev.obj.child("status")
        deployment = kind == "Deployment"
        evidence.append(
            Phrase(
                "EV-ROLLOUT-REVISION",
                {
                    "kind": _kind_word(kind),
                    "name": rev.name,
                    "revision": rev.number,
                    "new": rev is newest,
                    "ago": age(rev.obj.created, req.now),
                    "images": ", ".join(c.text("image") for c in rev.template.children("spec", "containers")),
                    "pods": st.num("replicas") if deployment else None,
                    "ready": st.num("readyReplicas") if deployment else None,
                },
            )
        )
    evidence += lines[:MAX_DIFF]
    if len(lines) > MAX_DIFF:
        evidence.append(Phrase("EV-ROLLOUT-MORE-CHANGES", {"count": len(lines) - MAX_DIFF}))
    return Finding(
        "WORKLOAD-ROLLOUT-CHANGE",
        fields,
        tuple(evidence),
        severity=Severity.WARNING if strong else Severity.INFO,
    )


def _kind_word(kind: str) -> str:
    return "ReplicaSet" if kind == "Deployment" else "ControllerRevision"


def _condition(w: Obj, ctype: str) -> Obj:
    return next((c for c in w.children("status", "conditions") if c.text("type") == ctype), Obj())


def job_status(w: Obj, req: Request) -> Finding:
    """JOB-STATUS: completions, failures against backoffLimit, the Failed/Complete condition."""
    st = w.child("status")
    failed_cond = _condition(w, "Failed")
    complete_cond = _condition(w, "Complete")
    fields: dict[str, FieldValue] = {
        "ns": w.namespace,
        "name": w.name,
        "completions": w.num("spec", "completions", default=1),
        "parallelism": w.num("spec", "parallelism", default=1),
        "succeeded": st.num("succeeded"),
        "failed": st.num("failed"),
        "active": st.num("active"),
        "backoff_limit": w.num("spec", "backoffLimit", default=6),
        "deadline": w.num("spec", "activeDeadlineSeconds"),
        "failed_reason": failed_cond.text("reason") if failed_cond.text("status") == "True" else "",
        "failed_message": failed_cond.text("message") if failed_cond.text("status") == "True" else "",
        "complete": complete_cond.text("status") == "True",
        "age": age(w.created, req.now),
    }
    evidence = [
        f"Pods Statuses: {fields['active']} Active / {fields['succeeded']} Succeeded / "
        f"{fields['failed']} Failed; Completions: {fields['completions']}, "
        f"Parallelism: {fields['parallelism']}, Backoff Limit: {fields['backoff_limit']}"
    ]
    for cond in (failed_cond, complete_cond):
        if cond.text("status") == "True":
            evidence.append(condition_line(cond))
    sev = (
        Severity.ERROR
        if fields["failed_reason"]
        else Severity.INFO
        if fields["complete"]
        else Severity.WARNING
        if fields["failed"]
        else Severity.INFO
    )
    return Finding("JOB-STATUS", fields, tuple(evidence), severity=sev)

"""`why <pod>` / `why NS/<pod>` / `why deploy/x|sts/x|ds/x|job/x|rs/x|cronjob/x`: what is wrong,
why, and what to run next.

A pod answer costs at most five API requests: the pod, its events, its owner's history, its node and
one log (`handlers/reads.py`). A bare name without -n is looked up in the bound namespace, then
`default`, then across all namespaces (one more list). A name that is no pod but the prefix of a
workload's pods (`why cart` for Deployment shop/cart) is answered for that workload.
"""

from __future__ import annotations

from handlers import workload
from handlers.errors import Ambiguous, NotFound, UsageError
from handlers.kinds import WORKLOADS
from handlers.lookup import Ref, find, lookup_order, parse_ref
from handlers.model import Note, Request, Result, Target
from handlers.objects import Obj
from handlers.pod_diagnosis import diagnose_pod
from handlers.view import ClusterView

#: `why x` where x is not a pod: the kinds a pod name prefix can stand for, most common first.
_PREFIX_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "CronJob", "Job", "ReplicaSet")


def why(req: Request, view: ClusterView) -> Result:
    """Diagnose a pod or a workload."""
    if not req.args:
        raise UsageError("missing_arg", "why", reason="pod_or_workload")
    if len(req.args) > 1:
        raise UsageError("extra_args", "why", value=" ".join(req.args[1:]))
    ref = parse_ref(req.args[0], req.namespace)
    kind = ref.kind or "Pod"
    if kind == "Pod":
        try:
            pod = find(view, "Pod", ref, req)
        except NotFound:
            if ref.kind == "Pod":
                raise
            owner = _workload_by_prefix(view, ref, req)
            if owner is None:
                raise
            return _workload(req, view, owner)
        return _pod(req, view, pod)
    if kind in WORKLOADS:
        return _workload(req, view, find(view, kind, ref, req))
    raise UsageError("bad_arg", "why", reason="not_diagnosable", value=kind)


def _pod(req: Request, view: ClusterView, pod: Obj) -> Result:
    d = diagnose_pod(view, pod, req)
    notes = [Note("WHY-BUDGET", {"skipped": ", ".join(d.skipped)})] if d.skipped else []
    return Result.answer(
        req,
        target=Target("Pod", pod.namespace, pod.name),
        status=d.state.status,
        findings=d.findings,
        searched=(pod.ref,),
        notes=notes,
    )


def _workload(req: Request, view: ClusterView, w: Obj) -> Result:
    a = workload.answer(view, w, req)
    return Result.answer(
        req,
        target=Target(w.kind, w.namespace, w.name),
        status=a.status,
        findings=a.findings,
        searched=(f"{w.kind} {w.ref}",),
    )


def _workload_by_prefix(view: ClusterView, ref: Ref, req: Request) -> Obj | None:
    """The workload whose pods are named `<name>-...` (Deployment `cart` for `cart-7d4b9-x2x9k`)."""
    order = lookup_order(req, ref)
    for ns in order:
        pods = view.soft_list("Pod", ns)
        owners: dict[tuple[str, str, str], None] = {}
        for p in pods:
            if not p.name.startswith(f"{ref.name}-"):
                continue
            kind, name = _top_owner(p)
            if name == ref.name:
                owners[(p.namespace, kind, name)] = None
        if len(owners) > 1:
            namespaces = sorted({k[0] for k in owners})
            if len(namespaces) > 1:
                raise Ambiguous(
                    "workload", ref.name, [f"{n}/{k}/{name}" for n, k, name in sorted(owners)], req.verb
                )
        for ns_, kind, name in sorted(owners, key=lambda k: _PREFIX_KINDS.index(k[1])):
            obj = view.get(kind, ns_, name)
            if obj is not None:
                return obj
    return None


def _top_owner(pod: Obj) -> tuple[str, str]:
    """(kind, name) of the workload a pod belongs to, from its ownerReferences and labels alone."""
    ref = pod.controller
    kind, name = ref.text("kind"), ref.text("name")
    h = pod.labels.get("pod-template-hash", "")
    if kind == "ReplicaSet" and h and name.endswith(f"-{h}"):
        return "Deployment", name[: -len(h) - 1]
    if kind == "Job":
        head, _, tail = name.rpartition("-")
        if tail.isdigit() and len(tail) >= 8:  # `<cronjob>-<unix minutes>` (FACTS.md §1)
            return "CronJob", head
    if kind in _PREFIX_KINDS:
        return kind, name
    return "", ""

"""`scrape <pod|service|deploy/x> [-n NS]`: the prometheus.io/* annotations and the target they make.

`prometheus.io/scrape|path|port|scheme` are a community convention, not a Prometheus feature
(FACTS.md §8): kubernetes_sd exposes every annotation as a meta label
(`__meta_kubernetes_pod_annotation_prometheus_io_scrape`, `..._service_annotation_...`) and only
`relabel_configs` give them meaning. What this module checks is what the usual relabel rules (the
older upstream example config and the prometheus-community Helm chart, jobs `kubernetes-pods` and
`kubernetes-service-endpoints`) do with them:

- keep when `scrape` matches the anchored, case-sensitive regex `true` — `True`, `yes` are dropped;
- `__scheme__` from `scheme` only when it matches `(https?)`; `__metrics_path__` from `path`
  (default `/metrics`; Prometheus builds the URL with Go's net/url, which inserts the missing
  leading slash, other scrapers may not);
- `__address__` = `<pod IP>:<port>` only when `port` matches `(\\d+)`: a port *name* is ignored
  and the pod role's own targets stay (one per declared container port, or the pod IP alone,
  which Prometheus completes with :80/:443);
- pod-level annotations are read by the pod role, Service-level ones by the endpoints role
  (one target per endpoint address and port).

Requests per answer (live cluster): the object; the namespace's Services (who else scrapes the
pods); for a Service its EndpointSlices and pods; the owner chain (ReplicaSet, Deployment) only
when the pod itself has no annotations.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from handlers import endpoints, ports
from handlers.errors import NotFound, UsageError
from handlers.lookup import Ref, find, lookup_order, parse_ref
from handlers.model import FieldValue, Finding, Phrase, Request, Result, Target, Text
from handlers.objects import Obj
from handlers.podstatus import pod_state
from handlers.selectors import matches, matches_label_selector, selector_text
from handlers.view import ClusterView

PREFIX = "prometheus.io/"
SCRAPE = PREFIX + "scrape"
PATH = PREFIX + "path"
PORT = PREFIX + "port"
SCHEME = PREFIX + "scheme"
KNOWN = (SCRAPE, PATH, PORT, SCHEME)
DEFAULT_PATH = "/metrics"
#: Ports Prometheus adds to an address without one (scrape/target.go populateLabels).
DEFAULT_PORTS = {"http": 80, "https": 443}
#: Values people write meaning "yes" that the `true` regex does not keep.
_TRUTHY = ("True", "TRUE", "yes", "Yes", "YES", "y", "1", "on", "enabled", '"true"', "'true'")
#: Target URLs listed in evidence before "... N more".
MAX_LISTED = 10
_WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet")


@dataclass(frozen=True, slots=True)
class Settings:
    """The four annotations of one object, as a relabel config would read them."""

    scrape: str | None
    path: str | None
    port: str | None
    scheme: str | None

    @classmethod
    def of(cls, annotations: Mapping[str, str]) -> Settings:
        return cls(
            annotations.get(SCRAPE), annotations.get(PATH), annotations.get(PORT), annotations.get(SCHEME)
        )

    @property
    def any(self) -> bool:
        return any(v is not None for v in (self.scrape, self.path, self.port, self.scheme))

    @property
    def kept(self) -> bool:
        return self.scrape == "true"

    @property
    def port_number(self) -> int | None:
        return int(self.port) if self.port is not None and self.port.isdigit() else None

    @property
    def effective_scheme(self) -> str:
        return self.scheme if self.scheme in ("http", "https") else "http"

    @property
    def effective_path(self) -> str:
        return self.path if self.path else DEFAULT_PATH


def _annotations(annotations: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in annotations.items() if k.startswith(PREFIX)}


@dataclass(frozen=True, slots=True)
class _Target:
    """One target a relabel config would make (`url` empty: none), and its evidence line."""

    who: str
    url: str
    line: Text


def _host(ip: str) -> str:
    return f"[{ip}]" if ":" in ip else ip


def _url(s: Settings, ip: str, port: int | None) -> str:
    path = s.effective_path
    path = path if path.startswith("/") else "/" + path
    port = port if port is not None else DEFAULT_PORTS[s.effective_scheme]
    return f"{s.effective_scheme}://{_host(ip)}:{port}{path}"


def _typos(obj: Obj, where: str) -> list[Finding]:
    """Annotation keys that look like one of the four but are not (`prometheus.io/scrap`)."""
    out: list[Finding] = []
    for key, value in obj.annotations.items():
        if key in KNOWN or "prometheus" not in key.lower():
            continue
        meant = difflib.get_close_matches(key, KNOWN, n=1, cutoff=0.75)
        if meant:
            out.append(
                Finding(
                    "SCRAPE-ANNOTATION-TYPO",
                    {"ns": obj.namespace, "name": obj.name, "kind": where, "key": key, "meant": meant[0]},
                    evidence=(f"{key}: {value}",),
                )
            )
    return out


def template_owner(pod: Obj) -> tuple[str, str]:
    """(`deployment`, `api`): the workload whose pod template makes this pod, from its owner reference.

    A ReplicaSet made by a Deployment is named `<deployment>-<pod-template-hash>` (FACTS.md §1), so
    the Deployment is known without reading the ReplicaSet. ("", "") for bare pods and Jobs.
    """
    ref = pod.controller
    kind, name = ref.text("kind"), ref.text("name")
    if kind == "ReplicaSet":
        template_hash = pod.labels.get("pod-template-hash", "")
        suffix = f"-{template_hash}"
        if template_hash and name.endswith(suffix):
            return "deployment", name[: -len(suffix)]
        return "replicaset", name
    if kind in ("StatefulSet", "DaemonSet"):
        return kind.lower(), name
    return "", ""


def _setting_findings(s: Settings, obj: Obj, where: str, pods: Sequence[Obj]) -> list[Finding]:
    """The common mistakes in one object's annotations."""
    owner_kind, owner = template_owner(obj) if where == "pod" else ("", "")
    base = {"ns": obj.namespace, "name": obj.name, "kind": where, "owner_kind": owner_kind, "owner": owner}
    out: list[Finding] = []
    if s.scrape is None:
        return out
    if s.scrape == "false":
        out.append(Finding("SCRAPE-DISABLED", base))
        return out
    if s.scrape != "true":
        out.append(
            Finding(
                "SCRAPE-VALUE-NOT-TRUE",
                {**base, "value": s.scrape, "truthy": s.scrape in _TRUTHY or s.scrape.lower() == "true"},
                evidence=(f'{SCRAPE}: "{s.scrape}"',),
            )
        )
    if s.port is not None and s.port_number is None:
        named = [d for p in pods for d in ports.declared_ports(p) if d.name == s.port]
        out.append(
            Finding(
                "SCRAPE-PORT-NAME",
                {**base, "port": s.port, "number": named[0].number if named else 0},
                evidence=(f'{PORT}: "{s.port}"',),
            )
        )
    elif s.port_number is not None and pods:
        declared = [d for p in pods for d in ports.declared_ports(p)]
        if declared and not any(d.number == s.port_number for d in declared):
            out.append(
                Finding(
                    "SCRAPE-PORT-UNDECLARED",
                    {
                        **base,
                        "port": s.port_number,
                        "declared": tuple(sorted({d.number for d in declared})),
                        "pod": pods[0].name,
                    },
                    evidence=tuple(
                        Phrase("EV-TRAFFIC-PORTS-DECLARED", {"pod": pods[0].name, "ports": (text,)})
                        for text in sorted({d.text() for d in declared})
                    ),
                )
            )
    if s.path is not None and s.path and not s.path.startswith("/"):
        out.append(Finding("SCRAPE-PATH-NO-SLASH", {**base, "path": s.path}))
    if s.scheme is not None and s.scheme not in ("http", "https"):
        out.append(Finding("SCRAPE-SCHEME-INVALID", {**base, "scheme": s.scheme}))
    return out


def _pod_urls(s: Settings, pods: Sequence[Obj], *, template: bool = False) -> list[_Target]:
    """What the pod role + the usual relabelling scrape, one line per target (`template`: what the
    pods would get once the annotations are on their template)."""
    lines: list[_Target] = []
    for pod in pods:
        ip = pod.text("status", "podIP")
        phase = pod.text("status", "phase")
        if not ip:
            fields: dict[str, FieldValue] = {
                "pod": pod.name,
                "phase": phase or "Pending",
                "template": template,
            }
            lines.append(_Target(pod.name, "", Phrase("EV-SCRAPE-NO-POD-IP", fields)))
            continue
        if s.port_number is not None:
            numbers: list[int | None] = [s.port_number]
        else:
            # The pod role makes one target per declared container port, or one without a port.
            numbers = list(
                dict.fromkeys(d.number for d in ports.declared_ports(pod) if d.protocol == "TCP")
            ) or [None]
        for n in numbers:
            url = _url(s, ip, n)
            line: Text
            if phase != "Running":
                line = Phrase(
                    "EV-SCRAPE-NOT-RUNNING",
                    {"pod": pod.name, "url": url, "phase": phase, "template": template},
                )
            elif template:
                line = Phrase("EV-SCRAPE-ON-TEMPLATE", {"pod": pod.name, "url": url})
            else:
                line = f"{pod.name}: {url}"
            lines.append(_Target(pod.name, url, line))
    return lines


def _service_urls(s: Settings, backends: endpoints.Backends) -> list[_Target]:
    """What the endpoints role + the usual relabelling scrape: endpoint addresses, ports replaced."""
    lines: list[_Target] = []
    for e in backends.unique():
        numbers: list[int | None] = (
            [s.port_number] if s.port_number is not None else [p[1] for p in e.ports] or [None]
        )
        who = e.pod_name or e.address
        for n in dict.fromkeys(numbers):
            url = _url(s, e.address, n)
            line: Text = (
                f"{who}: {url}" if e.ready else Phrase("EV-SCRAPE-NOT-READY", {"pod": who, "url": url})
            )
            lines.append(_Target(who, url, line))
    return lines


def _listed(lines: list[_Target]) -> tuple[Text, ...]:
    shown = [t.line for t in lines]
    if len(shown) > MAX_LISTED:
        return (*shown[:MAX_LISTED], Phrase("EV-TRAFFIC-MORE", {"count": len(shown) - MAX_LISTED}))
    return tuple(shown)


def _target_finding(s: Settings, obj: Obj, where: str, job: str, lines: list[_Target]) -> Finding:
    urls = [t.url for t in lines if t.url]
    path = s.effective_path if s.effective_path.startswith("/") else "/" + s.effective_path
    return Finding(
        "SCRAPE-TARGET",
        {
            "ns": obj.namespace,
            "name": obj.name,
            "kind": where,
            "job": job,
            "kept": s.kept,
            "url": urls[0] if urls else "",
            "count": len(urls),
            "path": path,
            "scheme": s.effective_scheme,
            "port": str(s.port_number) if s.port_number is not None else "",
            "pod": lines[0].who if lines else "",
        },
        evidence=_listed(lines),
    )


def _owner_workload(view: ClusterView, pod: Obj) -> Obj | None:
    """The Deployment/StatefulSet/DaemonSet that owns the pod (through its ReplicaSet), if any."""
    ref = pod.controller
    kind, name = ref.text("kind"), ref.text("name")
    if kind == "ReplicaSet":
        rs = view.soft_get("ReplicaSet", pod.namespace, name)
        if rs is None:
            return None
        ref = rs.controller
        kind, name = ref.text("kind"), ref.text("name")
    if kind in _WORKLOAD_KINDS:
        return view.soft_get(kind, pod.namespace, name)
    return None


def _on_workload(workload: Obj, pods: Sequence[Obj]) -> Finding | None:
    """Annotations on the workload's own metadata but not on its pod template: the classic slip."""
    on_meta = _annotations(workload.annotations)
    on_template = _annotations(workload.mapping("spec", "template", "metadata", "annotations"))
    if SCRAPE in on_meta and SCRAPE not in on_template:
        would = _pod_urls(Settings.of(on_meta), pods, template=True)
        return Finding(
            "SCRAPE-ON-WORKLOAD",
            {"ns": workload.namespace, "workload": workload.name, "kind": workload.kind},
            evidence=(
                *(f"{workload.kind} metadata.annotations: {k}: {v}" for k, v in on_meta.items()),
                *(t.line for t in would[:MAX_LISTED]),
            ),
        )
    return None


def _services_for(view: ClusterView, pods: Sequence[Obj], ns: str) -> list[Obj]:
    """Services in `ns` whose selector matches one of the pods and that carry scrape annotations."""
    out: list[Obj] = []
    for svc in view.soft_list("Service", ns):
        sel = svc.mapping("spec", "selector")
        if SCRAPE in svc.annotations and any(matches(sel, p.labels) for p in pods):
            out.append(svc)
    return sorted(out, key=lambda s: s.name)


def _pods_answer(
    view: ClusterView, req: Request, pods: Sequence[Obj], subject: Obj, workload: Obj | None
) -> tuple[list[Finding], list[Text]]:
    """Findings for pods (a pod, or a workload's pods): their annotations, the owner, the Services."""
    findings: list[Finding] = []
    searched: list[Text] = []
    annotated = [p for p in pods if Settings.of(p.annotations).any]
    first = annotated[0] if annotated else pods[0]
    for p in pods[:1]:
        findings += _typos(p, "pod")
    s = Settings.of(first.annotations)
    if s.any:
        findings += _setting_findings(s, first, "pod", pods)
        if s.scrape is not None and s.scrape != "false":
            findings.append(
                _target_finding(s, first, "pod", "kubernetes-pods", _pod_urls(s, annotated or pods))
            )
    else:
        owner = workload if workload is not None else _owner_workload(view, first)
        if owner is not None:
            searched.append(f"{owner.kind} {owner.ref}")
            misplaced = _on_workload(owner, pods)
            if misplaced is not None:
                findings.append(misplaced)
    services = _services_for(view, pods, subject.namespace)
    searched.append(Phrase("EV-TRAFFIC-SERVICES-IN", {"ns": subject.namespace}))
    for svc in services:
        ss = Settings.of(svc.annotations)
        if s.kept and ss.kept:
            findings.append(
                Finding(
                    "SCRAPE-BOTH-LEVELS",
                    {"ns": svc.namespace, "svc": svc.name, "pod": first.name},
                )
            )
        elif not s.any:
            findings.append(
                Finding(
                    "SCRAPE-SERVICE-LEVEL",
                    {"ns": svc.namespace, "svc": svc.name, "pod": first.name, "kept": ss.kept},
                    evidence=tuple(f"{k}: {v}" for k, v in _annotations(svc.annotations).items()),
                )
            )
    if not s.any and not services and not any(f.code == "SCRAPE-ON-WORKLOAD" for f in findings):
        findings.append(
            Finding("SCRAPE-NOT-ANNOTATED", {"ns": subject.namespace, "name": subject.name, "kind": "pod"})
        )
    return findings, searched


def _service_answer(view: ClusterView, req: Request, svc: Obj) -> tuple[list[Finding], list[Text]]:
    findings = _typos(svc, "Service")
    searched: list[Text] = [f"Service {svc.ref}"]
    s = Settings.of(svc.annotations)
    selector = svc.mapping("spec", "selector")
    pods = (
        sorted(
            (p for p in view.list("Pod", svc.namespace, labels=selector) if matches(selector, p.labels)),
            key=lambda p: p.name,
        )
        if selector
        else []
    )
    if selector:
        searched.append(
            Phrase("EV-TRAFFIC-PODS-IN", {"ns": svc.namespace, "selector": selector_text(selector)})
        )
    if s.any:
        findings += _setting_findings(s, svc, "Service", pods)
        if s.scrape is not None and s.scrape != "false":
            backends = endpoints.read_backends(view, svc)
            if backends.source:
                searched.append(f"{backends.source} {', '.join(backends.objects)}")
            findings.append(
                _target_finding(s, svc, "Service", "kubernetes-service-endpoints", _service_urls(s, backends))
            )
        pod_level = [p for p in pods if Settings.of(p.annotations).kept]
        if s.kept and pod_level:
            findings.append(
                Finding(
                    "SCRAPE-BOTH-LEVELS", {"ns": svc.namespace, "svc": svc.name, "pod": pod_level[0].name}
                )
            )
        return findings, searched
    if pods:
        more, seen = _pods_answer(view, req, pods, svc, None)
        findings += [f for f in more if f.code != "SCRAPE-NOT-ANNOTATED"]
        searched += seen
        if not any(f.code in ("SCRAPE-TARGET", "SCRAPE-ON-WORKLOAD", "SCRAPE-DISABLED") for f in findings):
            findings.append(
                Finding("SCRAPE-NOT-ANNOTATED", {"ns": svc.namespace, "name": svc.name, "kind": "Service"})
            )
        return findings, searched
    findings.append(
        Finding("SCRAPE-NOT-ANNOTATED", {"ns": svc.namespace, "name": svc.name, "kind": "Service"})
    )
    return findings, searched


def _workload_pods(view: ClusterView, workload: Obj) -> list[Obj]:
    selector = workload.child("spec", "selector")
    candidates = view.list("Pod", workload.namespace, labels=selector.mapping("matchLabels") or None)
    return sorted((p for p in candidates if matches_label_selector(selector, p.labels)), key=lambda p: p.name)


def check(req: Request, view: ClusterView) -> Result:
    """The scrape annotations of a pod, Service or workload, the target URLs, the usual mistakes."""
    if not req.args:
        raise UsageError("missing_arg", req.verb, reason="pod_or_service")
    if len(req.args) > 1:
        raise UsageError("extra_args", req.verb, value=" ".join(req.args[1:]))
    ref = parse_ref(req.args[0], req.namespace)
    if ref.kind not in (None, "Pod", "Service", *_WORKLOAD_KINDS):
        raise UsageError("bad_arg", req.verb, reason="not_scrapable", value=req.args[0])

    subject: Obj
    searched: list[Text]
    if ref.kind is None:
        try:
            subject = find(view, "Pod", ref, req)
        except NotFound as no_pod:
            try:
                subject = find(view, "Service", Ref(ref.name, "Service", ref.namespace), req)
            except NotFound as no_svc:
                raise NotFound(
                    Phrase("KIND-EITHER", {"a": "Pod", "b": "Service"}),
                    ref.name,
                    lookup_order(req, ref),
                    [*no_pod.close, *[c for c in no_svc.close if c not in no_pod.close]][:3],
                ) from None
    else:
        subject = find(view, ref.kind, ref, req)

    if subject.kind == "Service":
        findings, searched = _service_answer(view, req, subject)
    elif subject.kind in _WORKLOAD_KINDS:
        pods = _workload_pods(view, subject)
        searched = [f"{subject.kind} {subject.ref}", Phrase("EV-TRAFFIC-PODS-OF", {"owner": subject.ref})]
        misplaced = _on_workload(subject, pods)
        if not pods:
            findings = [misplaced] if misplaced else []
            findings.append(
                Finding(
                    "SCRAPE-NOT-ANNOTATED",
                    {"ns": subject.namespace, "name": subject.name, "kind": subject.kind},
                )
            )
        else:
            findings, more = _pods_answer(view, req, pods, subject, subject)
            searched += more
    else:
        findings, searched = _pods_answer(view, req, [subject], subject, None)
        searched.insert(0, f"Pod {subject.ref}")

    findings.append(Finding("SCRAPE-CONVENTION", {"kind": subject.kind}))
    status = None
    if subject.kind == "Pod":
        status = pod_state(subject).status
    elif subject.kind == "Service":
        status = endpoints.kubectl_line(subject)
    rank = {"SCRAPE-TARGET": 1, "SCRAPE-CONVENTION": 3}
    errors = ("SCRAPE-VALUE-NOT-TRUE", "SCRAPE-ON-WORKLOAD", "SCRAPE-PORT-NAME")
    findings.sort(key=lambda f: 0 if f.code in errors else rank.get(f.code, 2))
    return Result.answer(
        req,
        target=Target(subject.kind, subject.namespace, subject.name),
        status=status,
        findings=findings,
        searched=searched,
    )

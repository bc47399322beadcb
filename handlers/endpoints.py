"""`endpoints <service> [-n NS]` (alias `service`): which pods back a Service and why others do not.

Reads the Service, its EndpointSlices (label `kubernetes.io/service-name`; falls back to the v1
Endpoints object when there are none) and the pods its selector matches, then explains every gap:
a selector that matches nothing (and the pods that nearly match), pods that match but are not
ready (probe, events), targetPorts that do not resolve on some pods, Services without a selector,
ExternalName, headless, publishNotReadyAddresses, session affinity, a LoadBalancer still pending.

`analyse()` is also the Service hop of `trace` (handlers/trace.py).

Requests per answer (live cluster): get Service, list EndpointSlices by label, list pods by the
selector; plus get Endpoints when there are no slices or >= 1000 endpoints; list the namespace's
pods and the selector across namespaces only when the selector matches nothing; the pod diagnosis
of `why` (events and node, handlers/pod_diagnosis.py) for at most MAX_DIAGNOSED not-ready pods;
events of a pending LoadBalancer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from handlers import eventlog, ports
from handlers.errors import UsageError
from handlers.lookup import find, parse_ref
from handlers.model import FieldValue, Finding, Phrase, Request, Result, Severity, Target, Text
from handlers.objects import Obj
from handlers.pod_diagnosis import DEFAULT_SEVERITY as POD_SEVERITY
from handlers.pod_diagnosis import diagnose_pod
from handlers.podstatus import pod_state
from handlers.ports import PortStatus
from handlers.reads import Reads
from handlers.selectors import closest, matches, selector_text
from handlers.view import ClusterView

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
#: Set by the endpoints controller on Endpoints over 1000 addresses (v1.22+: truncated to 1000).
OVER_CAPACITY = "endpoints.kubernetes.io/over-capacity"
#: The v1 Endpoints cap (kube-controller-manager `maxCapacity`).
ENDPOINTS_CAP = 1000
#: Not-ready pods given the full pod diagnosis (handlers/pod_diagnosis.py); the rest are listed.
MAX_DIAGNOSED = 2
#: Requests one pod diagnosis may make here: its events and its node (no owner, no logs).
DIAGNOSIS_READS = 2
#: Endpoint lines listed in evidence before "... and N more".
MAX_LISTED = 10
#: `sessionAffinityConfig.clientIP.timeoutSeconds` default (3 hours).
DEFAULT_AFFINITY_TIMEOUT = 10800
#: Probe field defaults (API defaulting for v1.Probe).
_PROBE_DEFAULTS = {"periodSeconds": 10, "timeoutSeconds": 1, "failureThreshold": 3}


# -- what the endpoint objects say ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One address of a Service as an EndpointSlice (or Endpoints subset) lists it."""

    address: str
    ready: bool
    serving: bool
    terminating: bool
    pod_uid: str
    pod_name: str
    node: str
    zone: str
    #: (port name, number, protocol) of the slice or subset the address is listed under.
    ports: tuple[tuple[str, int, str], ...]

    def line(self) -> Phrase:
        """`10.244.1.7:8080 checkout-7d9c5-x2k4q ready (node-a, eu-west-1a)` — evidence."""
        nums = ",".join(str(p[1]) for p in self.ports)
        return Phrase(
            "EV-SVC-ENDPOINT",
            {
                "address": f"{self.address}:{nums}" if nums else self.address,
                "pod": self.pod_name,
                "ready": self.ready,
                "terminating": self.terminating,
                "serving": self.serving,
                # An address listed without ports (a slice of pods that resolve none) gets no traffic.
                "port": bool(nums),
                "where": ", ".join(w for w in (self.node, self.zone) if w),
            },
        )


@dataclass(frozen=True, slots=True)
class Backends:
    """The Service's endpoints and where they were read from."""

    #: "EndpointSlice", "Endpoints", or "" when neither exists.
    source: str
    endpoints: tuple[Endpoint, ...]
    #: Names of the objects read (`slice-a`, `slice-b`, or the Endpoints name).
    objects: tuple[str, ...]
    #: The Endpoints object carries `endpoints.kubernetes.io/over-capacity: truncated`.
    truncated: bool = False
    managed_by: tuple[str, ...] = ()

    def for_pod(self, pod: Obj) -> list[Endpoint]:
        return [
            e
            for e in self.endpoints
            if (e.pod_uid and e.pod_uid == pod.uid)
            or (not e.pod_uid and e.pod_name == pod.name)
            or (not e.pod_uid and not e.pod_name and e.address == pod.text("status", "podIP"))
        ]

    def unique(self) -> list[Endpoint]:
        """One entry per address (an address is in several slices when pods map ports differently)."""
        seen: dict[str, Endpoint] = {}
        for e in self.endpoints:
            if e.address not in seen:
                seen[e.address] = e
            else:
                prev = seen[e.address]
                seen[e.address] = Endpoint(
                    prev.address,
                    prev.ready or e.ready,
                    prev.serving or e.serving,
                    prev.terminating or e.terminating,
                    prev.pod_uid or e.pod_uid,
                    prev.pod_name or e.pod_name,
                    prev.node or e.node,
                    prev.zone or e.zone,
                    tuple(sorted({*prev.ports, *e.ports})),
                )
        return list(seen.values())

    def ready(self, port_name: str | None = None, *, need_port: bool = True) -> list[Endpoint]:
        """Ready addresses that receive traffic: for `port_name`, or on some port (None).

        Slice ports carry the Service port's name, so an address serves a Service port when it is
        listed under a port of that name. A Service without ports (headless) needs none.
        """
        out = []
        for e in self.unique():
            if not e.ready:
                continue
            if need_port and port_name is None and not e.ports:
                continue
            if need_port and port_name is not None and all(p[0] != port_name for p in e.ports):
                continue
            out.append(e)
        return out


def _slice_endpoints(sl: Obj) -> list[Endpoint]:
    slice_ports = tuple(
        (p.text("name"), p.num("port"), ports.protocol(p)) for p in sl.children("ports") if p.has("port")
    )
    out: list[Endpoint] = []
    for ep in sl.children("endpoints"):
        cond = ep.child("conditions")
        # API semantics: a nil `ready` means unknown and is read as ready; a nil `serving` defers to
        # `ready`; a nil `terminating` means not terminating (discovery/v1 EndpointConditions).
        ready = cond.flag("ready", default=True)
        serving = cond.flag("serving", default=ready)
        terminating = cond.flag("terminating", default=False)
        ref = ep.child("targetRef")
        pod_name = ref.text("name") if ref.text("kind") in ("", "Pod") else ""
        for address in ep.strings("addresses"):
            out.append(
                Endpoint(
                    address,
                    ready,
                    serving,
                    terminating,
                    ref.text("uid"),
                    pod_name,
                    ep.text("nodeName"),
                    ep.text("zone"),
                    slice_ports,
                )
            )
    return out


def _endpoints_object(obj: Obj) -> list[Endpoint]:
    out: list[Endpoint] = []
    for subset in obj.children("subsets"):
        subset_ports = tuple(
            (p.text("name"), p.num("port"), ports.protocol(p)) for p in subset.children("ports")
        )
        for ready, key in ((True, "addresses"), (False, "notReadyAddresses")):
            for a in subset.children(key):
                ref = a.child("targetRef")
                out.append(
                    Endpoint(
                        a.text("ip"),
                        ready,
                        ready,
                        False,
                        ref.text("uid"),
                        ref.text("name") if ref.text("kind") in ("", "Pod") else "",
                        a.text("nodeName"),
                        "",
                        subset_ports,
                    )
                )
    return out


def read_backends(view: ClusterView, svc: Obj) -> Backends:
    """EndpointSlices for the Service, or its v1 Endpoints when no slice carries its name."""
    slices = sorted(
        view.soft_list("EndpointSlice", svc.namespace, labels={SERVICE_NAME_LABEL: svc.name}),
        key=lambda s: s.name,
    )
    if slices:
        eps = [e for sl in slices for e in _slice_endpoints(sl)]
        managed = tuple(
            sorted({sl.labels.get("endpointslice.kubernetes.io/managed-by", "") for sl in slices} - {""})
        )
        truncated = False
        if len({e.address for e in eps}) >= ENDPOINTS_CAP:
            legacy = view.soft_get("Endpoints", svc.namespace, svc.name)
            truncated = legacy is not None and OVER_CAPACITY in legacy.annotations
        return Backends("EndpointSlice", tuple(eps), tuple(s.name for s in slices), truncated, managed)
    legacy = view.soft_get("Endpoints", svc.namespace, svc.name)
    if legacy is None:
        return Backends("", (), ())
    return Backends(
        "Endpoints",
        tuple(_endpoints_object(legacy)),
        (legacy.name,),
        OVER_CAPACITY in legacy.annotations,
    )


# -- kubectl's columns for a Service -------------------------------------------------------


def service_type(svc: Obj) -> str:
    return svc.text("spec", "type") or "ClusterIP"


def cluster_ip(svc: Obj) -> str:
    """CLUSTER-IP as kubectl prints it: the IP, `None` (headless), or `<none>` (ExternalName)."""
    return svc.text("spec", "clusterIP") or "<none>"


def external_ip(svc: Obj) -> str:
    """EXTERNAL-IP as `kubectl get svc` prints it (printers.go getServiceExternalIP)."""
    kind = service_type(svc)
    external = svc.strings("spec", "externalIPs")
    if kind == "ExternalName":
        return svc.text("spec", "externalName")
    if kind == "LoadBalancer":
        lb = [i.text("ip") or i.text("hostname") for i in svc.children("status", "loadBalancer", "ingress")]
        found = [a for a in [*lb, *external] if a]
        return ",".join(found) if found else "<pending>"
    return ",".join(external) if external else "<none>"


def port_column(svc: Obj) -> str:
    """PORT(S): `80/TCP`, `80:31380/TCP`, joined with commas; `<none>` without ports."""
    parts = []
    for p in svc.children("spec", "ports"):
        node = p.num("nodePort")
        parts.append(
            f"{p.num('port')}:{node}/{ports.protocol(p)}" if node else f"{p.num('port')}/{ports.protocol(p)}"
        )
    return ",".join(parts) if parts else "<none>"


def kubectl_line(svc: Obj) -> str:
    """TYPE CLUSTER-IP EXTERNAL-IP PORT(S), the one-line state of a Service."""
    return f"{service_type(svc)} {cluster_ip(svc)} {external_ip(svc)} {port_column(svc)}"


def is_headless(svc: Obj) -> bool:
    return svc.text("spec", "clusterIP") == "None"


# -- pods ----------------------------------------------------------------------------------


def _condition(pod: Obj, ctype: str) -> Obj:
    for c in pod.children("status", "conditions"):
        if c.text("type") == ctype:
            return c
    return Obj()


def pod_ready(pod: Obj) -> bool:
    return _condition(pod, "Ready").text("status") == "True"


def _probe_port(container: Obj, value: str) -> str:
    """A probe's port as a number: named ports are the container's own port names."""
    if value.isdigit():
        return value
    for p in container.children("ports"):
        if p.text("name") == value:
            return str(p.num("containerPort"))
    return value


def probe_text(container: Obj, pod_ip: str = "", kind: str = "readinessProbe") -> str:
    """`readinessProbe app: httpGet http://10.244.2.31:8080/healthz, period 10s, timeout 1s, ...`.

    The kubelet probes the pod IP unless `host` is set, which is what the URL shows.
    """
    probe = container.child(kind)
    if not probe:
        return ""
    if probe.has("httpGet"):
        h = probe.child("httpGet")
        scheme = (h.text("scheme") or "HTTP").lower()
        host = h.text("host") or pod_ip
        port = _probe_port(container, h.text("port"))
        what = f"httpGet {scheme}://{host}:{port}{h.text('path') or '/'}"
    elif probe.has("tcpSocket"):
        tcp = probe.child("tcpSocket")
        what = f"tcpSocket {tcp.text('host') or pod_ip}:{_probe_port(container, tcp.text('port'))}"
    elif probe.has("grpc"):
        what = f"grpc {pod_ip}:{probe.text('grpc', 'port')}"
    elif probe.has("exec"):
        what = "exec " + " ".join(probe.strings("exec", "command"))
    else:
        what = "?"
    timing = [
        f"delay {probe.num('initialDelaySeconds')}s" if probe.num("initialDelaySeconds") else "",
        f"period {probe.num('periodSeconds', default=_PROBE_DEFAULTS['periodSeconds'])}s",
        f"timeout {probe.num('timeoutSeconds', default=_PROBE_DEFAULTS['timeoutSeconds'])}s",
        f"failureThreshold {probe.num('failureThreshold', default=_PROBE_DEFAULTS['failureThreshold'])}",
    ]
    return f"{kind} {container.text('name')}: {what}, " + ", ".join(t for t in timing if t)


def why_not_ready(pod: Obj, req: Request, *, with_probe: bool = True) -> list[Text]:
    """Evidence lines: the pod's kubectl state, its Ready condition, and its readiness probes."""
    state = pod_state(pod)
    lines: list[Text] = [
        Phrase(
            "EV-SVC-POD-STATE",
            {
                "pod": pod.name,
                "ready": state.ready_column,
                "status": state.status,
                "restarts": state.restarts_column(req.now),
                "node": pod.text("spec", "nodeName"),
                "ip": pod.text("status", "podIP"),
            },
        )
    ]
    ready = _condition(pod, "Ready")
    if ready and ready.text("status") != "True":
        detail = ": ".join(t for t in (ready.text("reason"), ready.text("message")) if t)
        lines.append(f"  Ready={ready.text('status')}" + (f" {detail}" if detail else ""))
    if with_probe:
        statuses = {cs.text("name"): cs for cs in pod.children("status", "containerStatuses")}
        for c in pod.children("spec", "containers"):
            text = probe_text(c, pod.text("status", "podIP"))
            if text and not statuses.get(c.text("name"), Obj()).flag("ready"):
                lines.append(f"  {text}")
    return lines


# -- the analysis --------------------------------------------------------------------------


@dataclass(slots=True)
class ServiceReport:
    """What `analyse` found about one Service: findings in display order, and the trace summary."""

    svc: Obj
    backends: Backends
    findings: list[Finding] = field(default_factory=list)
    #: The one Service port a trace follows (None: all ports).
    only_port: Obj | None = None
    #: Ready endpoints that receive traffic (on the traced port, or on some port).
    ready_endpoints: list[Endpoint] = field(default_factory=list)
    ready: int = 0
    total: int = 0
    #: Pods the selector matches (empty for selector-less and ExternalName Services).
    pods: list[Obj] = field(default_factory=list)
    searched: list[Text] = field(default_factory=list)

    #: Findings of the pod diagnosis (`why`) for the first not-ready pods, shown after the
    #: Service finding that names them.
    pod_findings: list[Finding] = field(default_factory=list)

    @property
    def broken(self) -> bool:
        """No traffic gets through: a Service-level error, or no ready endpoint where one is expected."""
        if any(severity_of(f) == Severity.ERROR for f in self.findings):
            return True
        expects = service_type(self.svc) != "ExternalName"
        return expects and self.ready == 0

    def all_findings(self) -> list[Finding]:
        """The summary first, then errors, warnings, infos; pod diagnoses after the pods' finding."""
        return ordered(self.findings, self.pod_findings)


#: The catalogue's severity of each SVC- code that is not info (handlers cannot read the catalogue,
#: but order findings and tell a broken Service; tests/test_endpoints.py checks they agree).
_DEFAULT_SEVERITY = {
    "SVC-NO-MATCHING-PODS": Severity.ERROR,
    "SVC-NO-SELECTOR-NO-ENDPOINTS": Severity.ERROR,
    "SVC-NO-ENDPOINTS": Severity.ERROR,
    "SVC-TARGETPORT-NAME-MISSING": Severity.ERROR,
    "SVC-PORT-PROTOCOL-MISMATCH": Severity.ERROR,
    "SVC-PODS-NOT-READY": Severity.WARNING,
    "SVC-PODS-NOT-IN-ENDPOINTS": Severity.WARNING,
    "SVC-TARGETPORT-NOT-DECLARED": Severity.WARNING,
    "SVC-LB-PENDING": Severity.WARNING,
    "SVC-ENDPOINTS-TRUNCATED": Severity.WARNING,
}


def severity_of(f: Finding) -> Severity:
    if f.severity is not None:
        return f.severity
    if f.code.startswith(("POD-", "NODE-")):
        return POD_SEVERITY.get(f.code, Severity.ERROR)
    return _DEFAULT_SEVERITY.get(f.code, Severity.INFO)


#: Port names (or parts of them) that speak HTTP; `appProtocol` wins when set.
_HTTP_NAMES = ("http", "web", "www", "metrics", "prometheus", "api", "admin", "health")
#: Well-known ports of protocols curl cannot speak (databases, brokers, caches).
_TCP_PORTS = frozenset({22, 25, 2181, 3306, 4222, 5432, 5672, 6379, 9042, 9092, 9300, 11211, 27017})


def port_scheme(port: Obj) -> str:
    """`https`, `http`, or `tcp` (test with a plain TCP connect): what a curl to this port should be."""
    name = port.text("name").lower()
    app = port.text("appProtocol").lower()
    number = port.num("port")
    if number == 443 or "https" in name or app in ("https", "kubernetes.io/wss"):
        return "https"
    if app in ("http", "kubernetes.io/h2c", "kubernetes.io/ws") or any(n in name for n in _HTTP_NAMES):
        return "http"
    if number in _TCP_PORTS or app or (name and number not in (80, 8080, 8000, 3000, 5000, 9090)):
        return "tcp"
    return "http"


def _local_port(port: int) -> int:
    # Ports below 1024 need root to bind locally; kubectl users conventionally use 8080 instead.
    return port if port >= 1024 else 8080


def _selector(svc: Obj) -> dict[str, str]:
    return svc.mapping("spec", "selector")


def analyse(view: ClusterView, svc: Obj, req: Request, *, only_port: Obj | None = None) -> ServiceReport:
    """Every finding about `svc`; `only_port` restricts port checks to one Service port (trace)."""
    ns, name = svc.namespace, svc.name
    kind = service_type(svc)
    svc_ports = [only_port] if only_port is not None else svc.children("spec", "ports")
    first_port = svc_ports[0] if svc_ports else Obj()
    report = ServiceReport(svc, Backends("", (), ()), searched=[f"Service {svc.ref}"], only_port=only_port)
    base = {"ns": ns, "svc": name}

    if kind == "ExternalName":
        report.findings.append(
            Finding(
                "SVC-EXTERNALNAME",
                {**base, "target": svc.text("spec", "externalName"), "domain": req.cluster_domain},
                evidence=(f"spec.externalName: {svc.text('spec', 'externalName')}",),
            )
        )
        return report

    backends = read_backends(view, svc)
    report.backends = backends
    if backends.source:
        report.searched.append(f"{backends.source} {', '.join(backends.objects)}")
    selector = _selector(svc)
    unique = backends.unique()
    port_name = only_port.text("name") if only_port is not None else None
    need_port = bool(svc.children("spec", "ports"))
    report.ready_endpoints = backends.ready(port_name, need_port=need_port)
    report.ready = len(report.ready_endpoints)

    if not selector:
        _selectorless(report, base)
    else:
        pods = [p for p in view.list("Pod", ns, labels=selector) if matches(selector, p.labels)]
        report.pods = sorted(pods, key=lambda p: p.name)
        report.searched.append(Phrase("EV-TRAFFIC-PODS-IN", {"ns": ns, "selector": selector_text(selector)}))
        if not pods and not unique:
            _no_matching_pods(view, report, base, selector)
        elif pods:
            _pods_vs_endpoints(view, report, req, base, svc_ports)
    report.total = max(len(unique), len(report.pods))

    # Facts about the Service itself, after the causes.
    if is_headless(svc):
        report.findings.append(Finding("SVC-HEADLESS", {**base, "domain": req.cluster_domain}))
    if svc.text("spec", "sessionAffinity") == "ClientIP":
        timeout = svc.num(
            "spec", "sessionAffinityConfig", "clientIP", "timeoutSeconds", default=DEFAULT_AFFINITY_TIMEOUT
        )
        report.findings.append(Finding("SVC-SESSION-AFFINITY", {**base, "timeout": timeout}))
    if kind == "LoadBalancer" and external_ip(svc) == "<pending>":
        events = [g.line(req.now) for g in eventlog.group(view.events(svc))][-4:]
        report.findings.append(
            Finding(
                "SVC-LB-PENDING",
                {**base, "lb_class": svc.text("spec", "loadBalancerClass"), "has_events": bool(events)},
                evidence=tuple(events),
            )
        )
    if backends.truncated:
        report.findings.append(Finding("SVC-ENDPOINTS-TRUNCATED", {**base, "cap": ENDPOINTS_CAP}))
    if backends.source == "Endpoints":
        report.findings.append(Finding("SVC-ENDPOINTS-FALLBACK", base))

    report.findings.insert(0, _summary(report, first_port))
    return report


def _summary(report: ServiceReport, port: Obj) -> Finding:
    svc = report.svc
    backends = report.backends
    unique = backends.unique()
    ready = report.ready_endpoints
    # A pod to curl directly: a ready endpoint if any, else any matching pod with an IP.
    pod_ip, pod_name, pod_port = "", "", 0
    if ready:
        pod_ip, pod_name = ready[0].address, ready[0].pod_name
        mine = [p for p in ready[0].ports if p[0] == port.text("name")] or list(ready[0].ports)
        pod_port = mine[0][1] if mine else 0
    else:
        for p in report.pods:
            if p.text("status", "podIP"):
                res = ports.resolve(p, port) if port else None
                pod_ip, pod_name = p.text("status", "podIP"), p.name
                pod_port = res.number if res is not None and res.number else 0
                break
    listed: list[Text] = [
        e.line() for e in sorted(unique, key=lambda e: (not e.ready, e.pod_name, e.address))
    ]
    if len(listed) > MAX_LISTED:
        listed = [*listed[:MAX_LISTED], Phrase("EV-TRAFFIC-MORE", {"count": len(listed) - MAX_LISTED})]
    selector = _selector(svc)
    head: list[Text] = [f"selector: {selector_text(selector) if selector else '<none>'}"]
    for p in svc.children("spec", "ports"):
        node = f", nodePort {p.num('nodePort')}" if p.num("nodePort") else ""
        head.append(f"port {ports.service_port_label(p)} -> targetPort {ports.target_port(p)}{node}")
    evidence = head + listed
    cip = svc.text("spec", "clusterIP")
    return Finding(
        "SVC-BACKENDS",
        {
            "ns": svc.namespace,
            "svc": svc.name,
            "ready": len(ready),
            "total": report.total,
            "pods": len(report.pods),
            "source": backends.source,
            "has_selector": bool(selector),
            "headless": is_headless(svc),
            "cluster_ip": cip if cip and cip != "None" else "",
            "port": port.num("port"),
            "local_port": _local_port(port.num("port")) if port else 0,
            "scheme": port_scheme(port) if port else "http",
            "protocol": ports.protocol(port) if port else "TCP",
            "port_name": port.text("name") if report.only_port else "",
            "pod_ip": pod_ip,
            "pod": pod_name,
            "pod_port": pod_port,
        },
        evidence=tuple(evidence),
    )


def _selectorless(report: ServiceReport, base: dict[str, str]) -> None:
    backends = report.backends
    if not backends.endpoints:
        report.findings.append(Finding("SVC-NO-SELECTOR-NO-ENDPOINTS", base))
        return
    report.findings.append(
        Finding(
            "SVC-NO-SELECTOR",
            {
                **base,
                "source": backends.source,
                "objects": backends.objects,
                "managed_by": backends.managed_by,
                "ready": report.ready,
            },
        )
    )


def _no_matching_pods(
    view: ClusterView, report: ServiceReport, base: dict[str, str], selector: dict[str, str]
) -> None:
    ns = report.svc.namespace
    same_ns = view.soft_list("Pod", ns)
    near = closest(selector, same_ns)
    elsewhere = [p for p in view.soft_list("Pod", None, labels=selector) if p.namespace != ns]
    elsewhere = [p for p in elsewhere if matches(selector, p.labels)]
    report.searched.append(Phrase("EV-TRAFFIC-PODS-IN", {"ns": ns, "selector": ""}))
    evidence: list[Text] = [f"selector: {selector_text(selector)}"]
    for pod, d in near:
        evidence.append(f"{pod.ref}: " + "; ".join(x.text() for x in d))
    other_ns = sorted({p.namespace for p in elsewhere})
    for pod in sorted(elsewhere, key=lambda p: p.ref)[:3]:
        evidence.append(Phrase("EV-SVC-POD-OTHER-NAMESPACE", {"pod": pod.ref, "ns": pod.namespace}))
    # The first differing pair of the closest pod, for the title and a concrete next step.
    first = near[0][1][0] if near and near[0][1] else None
    report.findings.append(
        Finding(
            "SVC-NO-MATCHING-PODS",
            {
                **base,
                "selector": selector_text(selector),
                "pods_in_ns": len(same_ns),
                "close": tuple(p.name for p, _ in near),
                "key": first.key if first else "",
                "want": first.want if first else "",
                "have_key": (first.near_key or first.key) if first else "",
                "have": (first.have if first.have is not None else first.near_value or "") if first else "",
                "other_namespaces": tuple(other_ns),
            },
            evidence=tuple(evidence),
        )
    )


def _pods_vs_endpoints(
    view: ClusterView,
    report: ServiceReport,
    req: Request,
    base: dict[str, str],
    svc_ports: Sequence[Obj],
) -> None:
    svc = report.svc
    backends = report.backends
    publish = svc.flag("spec", "publishNotReadyAddresses")
    not_ready: list[Obj] = []
    terminating: list[tuple[Obj, list[Endpoint]]] = []
    missing: list[Obj] = []
    for pod in report.pods:
        mine = backends.for_pod(pod)
        if pod.has("metadata", "deletionTimestamp") or any(e.terminating for e in mine):
            terminating.append((pod, mine))
        elif not pod_ready(pod):
            not_ready.append(pod)
        elif backends.source and not mine and pod.text("status", "podIP"):
            missing.append(pod)

    for sp in svc_ports:
        _port_findings(report, base, sp)

    if not_ready:
        # The pod diagnosis of `why` explains the first few (probe, crash, image, ...); the others
        # are listed with their state only, to keep the requests of one answer few.
        reads = Reads(view, budget=DIAGNOSIS_READS * MAX_DIAGNOSED)
        diagnosed = not_ready[:MAX_DIAGNOSED]
        for pod in diagnosed:
            diagnosis = diagnose_pod(view, pod, req, reads=reads, owner=False, logs=False)
            for f in diagnosis.findings:
                if f.code != "POD-HEALTHY" and f not in report.pod_findings:
                    report.pod_findings.append(f)
        explained = not_ready[:MAX_LISTED]
        evidence: list[Text] = []
        for pod in explained:
            evidence += why_not_ready(pod, req, with_probe=pod not in diagnosed)
        if len(not_ready) > len(explained):
            evidence.append(Phrase("EV-SVC-MORE-NOT-READY", {"count": len(not_ready) - len(explained)}))
        code = "SVC-PUBLISH-NOT-READY" if publish else "SVC-PODS-NOT-READY"
        severity = None if publish else (Severity.ERROR if not report.ready else Severity.WARNING)
        first = explained[0]
        containers = [c.text("name") for c in first.children("spec", "containers")]
        report.findings.append(
            Finding(
                code,
                {
                    **base,
                    "pods": tuple(p.name for p in not_ready),
                    "count": len(not_ready),
                    "total": len(report.pods),
                    "ready": report.ready,
                    "pod": first.name,
                    "container": containers[0] if containers else "",
                    "diagnosed": len(diagnosed),
                },
                evidence=tuple(evidence),
                severity=severity,
            )
        )
    elif publish:
        report.findings.append(
            Finding(
                "SVC-PUBLISH-NOT-READY",
                {
                    **base,
                    "pods": (),
                    "count": 0,
                    "total": len(report.pods),
                    "ready": report.ready,
                    "pod": "",
                    "container": "",
                    "diagnosed": 0,
                },
            )
        )

    if terminating:
        eps = [e for _, mine in terminating for e in mine]
        serving = sum(1 for e in eps if e.serving)
        report.findings.append(
            Finding(
                "SVC-TERMINATING-ENDPOINTS",
                {
                    **base,
                    "pods": tuple(p.name for p, _ in terminating),
                    "count": len(terminating),
                    "serving": serving,
                    "ready": report.ready,
                },
                evidence=tuple(e.line() for e in eps)
                or tuple(
                    f"{p.name}: deletionTimestamp {p.text('metadata', 'deletionTimestamp')}"
                    for p, _ in terminating
                ),
                severity=Severity.WARNING if not report.ready else None,
            )
        )

    if missing:
        report.findings.append(
            Finding(
                "SVC-PODS-NOT-IN-ENDPOINTS",
                {**base, "pods": tuple(p.name for p in missing), "count": len(missing)},
                evidence=tuple(f"{p.name}: Ready, IP {p.text('status', 'podIP')}" for p in missing),
            )
        )

    if not report.ready and not not_ready and not terminating and not report.broken:
        report.findings.append(Finding("SVC-NO-ENDPOINTS", {**base, "source": backends.source}))


def _port_findings(report: ServiceReport, base: dict[str, str], sp: Obj) -> None:
    by_status: dict[PortStatus, list[tuple[Obj, ports.Resolution]]] = {}
    for pod in report.pods:
        res = ports.resolve(pod, sp)
        by_status.setdefault(res.status, []).append((pod, res))
    total = len(report.pods)
    target = ports.target_port(sp)
    fields: dict[str, FieldValue] = {
        **base,
        "port": ports.service_port_label(sp),
        "target": str(target),
        "protocol": ports.protocol(sp),
        "total": total,
    }

    def declared_lines(items: list[tuple[Obj, ports.Resolution]]) -> tuple[Text, ...]:
        # One line per distinct declared-port set: replicas of one template say the same thing.
        lines: dict[tuple[str, ...], Text] = {}
        for pod, _ in items:
            decl = tuple(d.text() for d in ports.declared_ports(pod))
            lines.setdefault(decl, Phrase("EV-TRAFFIC-PORTS-DECLARED", {"pod": pod.name, "ports": decl}))
        return tuple(lines.values())

    if items := by_status.get(PortStatus.NAME_MISSING):
        report.findings.append(
            Finding(
                "SVC-TARGETPORT-NAME-MISSING",
                {
                    **fields,
                    "pods": tuple(p.name for p, _ in items),
                    "count": len(items),
                    "pod": items[0][0].name,
                },
                evidence=declared_lines(items),
                severity=Severity.ERROR if len(items) == total else Severity.WARNING,
            )
        )
    if items := by_status.get(PortStatus.PROTOCOL_MISMATCH):
        decl = items[0][1].declared
        report.findings.append(
            Finding(
                "SVC-PORT-PROTOCOL-MISMATCH",
                {
                    **fields,
                    "pods": tuple(p.name for p, _ in items),
                    "count": len(items),
                    "pod_protocol": decl.protocol if decl else "",
                    "by_name": isinstance(target, str),
                },
                evidence=declared_lines(items),
                # A named port with the wrong protocol drops the pod; a number is still forwarded.
                severity=Severity.ERROR
                if isinstance(target, str) and len(items) == total
                else Severity.WARNING,
            )
        )
    if items := by_status.get(PortStatus.UNDECLARED):
        report.findings.append(
            Finding(
                "SVC-TARGETPORT-NOT-DECLARED",
                {
                    **fields,
                    "pods": tuple(p.name for p, _ in items),
                    "count": len(items),
                    "pod": items[0][0].name,
                    "declared": tuple(d.number for d in ports.declared_ports(items[0][0])),
                },
                evidence=declared_lines(items),
            )
        )


# -- the verb ------------------------------------------------------------------------------


def backing_pods(req: Request, view: ClusterView) -> Result:
    """Which pods back the Service, and why the others do not."""
    if not req.args:
        raise UsageError("missing_arg", req.verb, reason="service")
    if len(req.args) > 1:
        raise UsageError("extra_args", req.verb, value=" ".join(req.args[1:]))
    ref = parse_ref(req.args[0], req.namespace)
    if ref.kind not in (None, "Service", "Endpoints"):
        raise UsageError("bad_arg", req.verb, reason="not_service", value=req.args[0])
    svc = find(view, "Service", ref, req)
    report = analyse(view, svc, req)
    return Result.answer(
        req,
        target=Target("Service", svc.namespace, svc.name),
        status=kubectl_line(svc),
        findings=report.all_findings(),
        searched=report.searched,
    )


_RANK = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}
#: The findings the pod diagnoses follow.
_POD_PARENTS = ("SVC-PODS-NOT-READY", "SVC-PUBLISH-NOT-READY")


def by_blocks(
    findings: Sequence[Finding], severity: Callable[[Finding], Severity] | None = None
) -> list[Finding]:
    """Findings sorted errors, warnings, infos (stable); a pod diagnosis (POD-*, NODE-*) stays
    right after the finding it follows, whatever its own severity."""
    rank_of = severity or severity_of
    blocks: list[list[Finding]] = []
    for f in findings:
        if f.code.startswith(("POD-", "NODE-")) and blocks:
            blocks[-1].append(f)
        else:
            blocks.append([f])
    blocks.sort(key=lambda b: _RANK[rank_of(b[0])])
    return [f for b in blocks for f in b]


def ordered(findings: Sequence[Finding], pod_findings: Sequence[Finding] = ()) -> list[Finding]:
    """The summary first, then by severity; pod diagnoses after the finding that names the pods."""
    head = [f for f in findings if f.code == "SVC-BACKENDS"]
    out: list[Finding] = []
    for f in findings:
        if f.code == "SVC-BACKENDS":
            continue
        out.append(f)
        if f.code in _POD_PARENTS:
            out += pod_findings
    return head + by_blocks(out)

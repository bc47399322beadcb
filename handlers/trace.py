"""`trace <host|ingress|service>` and `ingress <name>`: Ingress -> Service -> Endpoints -> Pods.

Walks the path a request takes and reports each hop and the first broken link:

- which Ingress rule serves the host (exact host, or `*.example.com` covering exactly one label,
  or a rule without host) and path (`Exact`; `Prefix` compared element by element on `/`, the
  longest match winning and Exact beating Prefix on a tie; `ImplementationSpecific` read as Prefix,
  which is what ingress-nginx does without regex annotations) — Kubernetes docs, "Ingress";
- the Ingress class: `spec.ingressClassName`, the deprecated `kubernetes.io/ingress.class`
  annotation, none at all (the DefaultIngressClass admission plugin fills the default class in
  only when an Ingress is created), and whether the class's controller has running pods that we
  can see (looked up by the labels the common controllers' manifests use; otherwise "cannot tell");
- the TLS secret, by name only: Secrets are not readable by this bot (handlers/kinds.py), so
  existence is confirmed only when the controller's events on the Ingress mention it;
- the backend Service (same namespace) and port (a number, or the Service port's *name*);
- then the Service checks of `endpoints` (handlers/endpoints.py) and the pods' state.

Requests per answer (live cluster): list Ingresses (one namespace, or all for a host), list
IngressClasses, list controller pods by label (one, sometimes two), events of the Ingress, then
what `endpoints` needs for each backend Service.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field

from handlers import endpoints, eventlog, ports
from handlers.errors import ClusterError, NotFound, UsageError
from handlers.lookup import Ref, close_names, find, lookup_order, parse_ref
from handlers.model import FieldValue, Finding, Phrase, Request, Result, Severity, Target, Text
from handlers.objects import Obj
from handlers.podstatus import pod_state
from handlers.view import ClusterView

CLASS_ANNOTATION = "kubernetes.io/ingress.class"
DEFAULT_CLASS_ANNOTATION = "ingressclass.kubernetes.io/is-default-class"

#: Controller pods by IngressClass `spec.controller`: the labels their published manifests / Helm
#: charts put on controller pods, tried in order (the second only if the first finds nothing).
CONTROLLER_LABELS: dict[str, tuple[dict[str, str], ...]] = {
    "k8s.io/ingress-nginx": (
        {"app.kubernetes.io/name": "ingress-nginx", "app.kubernetes.io/component": "controller"},
    ),
    "nginx.org/ingress-controller": ({"app.kubernetes.io/name": "nginx-ingress"}, {"app": "nginx-ingress"}),
    "traefik.io/ingress-controller": ({"app.kubernetes.io/name": "traefik"}, {"app": "traefik"}),
    "projectcontour.io/ingress-controller": ({"app": "contour"}, {"app.kubernetes.io/name": "contour"}),
    "projectcontour.io/contour": ({"app": "contour"}, {"app.kubernetes.io/name": "contour"}),
    "ingress.k8s.aws/alb": ({"app.kubernetes.io/name": "aws-load-balancer-controller"},),
}

#: Words in a controller's event message that say a TLS secret could not be used.
_SECRET_TROUBLE = ("not found", "not exist", "missing", "error", "failed", "invalid")


# -- matching ------------------------------------------------------------------------------


def host_rank(rule_host: str, host: str) -> int:
    """3 exact, 2 wildcard (`*.foo.com` covers exactly one more label), 1 rule without host, 0 no."""
    rule_host, host = rule_host.lower(), host.lower()
    if not rule_host:
        return 1
    if rule_host == host:
        return 3
    if rule_host.startswith("*."):
        suffix = rule_host[1:]  # `.foo.com`
        head = host[: -len(suffix)] if host.endswith(suffix) else ""
        if head and "." not in head:
            return 2
    return 0


def _elements(path: str) -> list[str]:
    return [e for e in path.split("/") if e]


def path_matches(path: str, path_type: str, request_path: str) -> bool:
    """Ingress path semantics (docs "Ingress", Examples table)."""
    if path_type == "Exact":
        return path == request_path
    # Prefix (and ImplementationSpecific, read as Prefix): element-wise, trailing slash ignored.
    want = _elements(path)
    return _elements(request_path)[: len(want)] == want


@dataclass(frozen=True, slots=True)
class Route:
    """An Ingress rule/path chosen for a request, or the Ingress's defaultBackend (path None)."""

    ingress: Obj
    host: str
    path: Obj | None
    backend: Obj

    @property
    def path_text(self) -> str:
        if self.path is None:
            return "defaultBackend"
        p = self.path
        return f"{p.text('path') or '/'} ({p.text('pathType') or 'ImplementationSpecific'})"


def _rank_path(p: Obj, request_path: str) -> tuple[int, int] | None:
    path_type = p.text("pathType") or "ImplementationSpecific"
    path = p.text("path") or "/"
    if not path_matches(path, path_type, request_path):
        return None
    return (len(path), 1 if path_type == "Exact" else 0)


def pick_route(ingresses: Sequence[Obj], host: str, request_path: str) -> tuple[Route | None, list[Obj]]:
    """The best rule for host+path across Ingresses, and the Ingresses whose host matched at all."""
    best: tuple[tuple[int, int, int], Route] | None = None
    host_matched: list[Obj] = []
    for ing in sorted(ingresses, key=lambda i: i.ref):
        for rule in ing.children("spec", "rules"):
            h = host_rank(rule.text("host"), host)
            if not h:
                continue
            if ing not in host_matched:
                host_matched.append(ing)
            for p in rule.children("http", "paths"):
                rank = _rank_path(p, request_path)
                if rank is None:
                    continue
                key = (h, *rank)
                if best is None or key > best[0]:
                    best = (key, Route(ing, rule.text("host"), p, p.child("backend")))
    if best is not None:
        return best[1], host_matched
    # No path matched: an Ingress whose host matched falls back to its own defaultBackend.
    for ing in host_matched:
        if ing.has("spec", "defaultBackend"):
            return Route(ing, host, None, ing.child("spec", "defaultBackend")), host_matched
    if not host_matched:
        # A request no rule claims goes to a defaultBackend of an Ingress (of the serving class).
        for ing in sorted(ingresses, key=lambda i: i.ref):
            if ing.has("spec", "defaultBackend"):
                return Route(ing, host, None, ing.child("spec", "defaultBackend")), host_matched
    return None, host_matched


# -- the one-line state --------------------------------------------------------------------


def addresses(ing: Obj) -> list[str]:
    return [a.text("ip") or a.text("hostname") for a in ing.children("status", "loadBalancer", "ingress")]


def kubectl_line(ing: Obj) -> str:
    """CLASS HOSTS ADDRESS PORTS as `kubectl get ingress` prints them."""
    cls = ing.text("spec", "ingressClassName") or "<none>"
    hosts = [r.text("host") or "*" for r in ing.children("spec", "rules")]
    shown = ",".join(hosts[:3]) + (f" + {len(hosts) - 3} more..." if len(hosts) > 3 else "")
    addr = ",".join(a for a in addresses(ing) if a)
    port_text = "80, 443" if ing.children("spec", "tls") else "80"
    return f"{cls} {shown or '*'} {addr} {port_text}".replace("  ", " ")


# -- the Ingress hop -----------------------------------------------------------------------


@dataclass(slots=True)
class Hop:
    """Ingress-level checks (class, controller, address, TLS), done once per Ingress."""

    evidence: list[Text] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    broken_at: str = ""


def _ingress_class(view: ClusterView, ing: Obj, hop: Hop, classes: Sequence[Obj]) -> Obj | None:
    """The IngressClass object the Ingress uses (None when it cannot be told), with findings."""
    base = {"ns": ing.namespace, "ingress": ing.name}
    by_name = {c.name: c for c in classes}
    defaults = [c for c in classes if c.annotations.get(DEFAULT_CLASS_ANNOTATION) == "true"]
    spec_class = ing.text("spec", "ingressClassName")
    annotated = ing.annotations.get(CLASS_ANNOTATION, "")
    if spec_class:
        cls = by_name.get(spec_class)
        if cls is None:
            hop.findings.append(
                Finding(
                    "ING-CLASS-NOT-FOUND",
                    {
                        **base,
                        "cls": spec_class,
                        "classes": tuple(sorted(by_name)),
                        "close": tuple(difflib.get_close_matches(spec_class, list(by_name), n=2, cutoff=0.5)),
                    },
                )
            )
            hop.broken_at = hop.broken_at or "class"
            return None
        hop.evidence.append(
            f"class {spec_class} (spec.ingressClassName) -> controller {cls.text('spec', 'controller')}"
        )
        return cls
    if annotated:
        cls = by_name.get(annotated)
        hop.findings.append(
            Finding(
                "ING-CLASS-ANNOTATION",
                {**base, "cls": annotated, "exists": cls is not None},
                severity=Severity.WARNING,
            )
        )
        hop.evidence.append(
            Phrase(
                "EV-ING-CLASS-ANNOTATION",
                {
                    "cls": annotated,
                    "annotation": CLASS_ANNOTATION,
                    "controller": cls.text("spec", "controller") if cls is not None else "",
                },
            )
        )
        return cls
    default = sorted(defaults, key=lambda c: (c.created is None, c.created), reverse=True)
    newest = default[0] if default else None
    hop.findings.append(
        Finding(
            "ING-NO-CLASS",
            {
                **base,
                "default": newest.name if newest else "",
                "controller": newest.text("spec", "controller") if newest else "",
                "defaults": tuple(c.name for c in defaults),
            },
            severity=Severity.WARNING if newest else Severity.ERROR,
        )
    )
    if newest is None:
        hop.broken_at = hop.broken_at or "class"
    hop.evidence.append("class <none>")
    return None


def _controller(view: ClusterView, ing: Obj, cls: Obj, hop: Hop) -> None:
    controller = cls.text("spec", "controller")
    base = {"ns": ing.namespace, "ingress": ing.name, "cls": cls.name, "controller": controller}
    candidates = CONTROLLER_LABELS.get(controller)
    if not candidates:
        hop.findings.append(Finding("ING-CONTROLLER-UNKNOWN", {**base, "known": True, "detail": ""}))
        return
    found: list[Obj] = []
    tried: list[str] = []
    for labels in candidates:
        tried.append(",".join(f"{k}={v}" for k, v in labels.items()))
        try:
            found = list(view.list("Pod", None, labels=labels))
        except ClusterError as err:
            hop.findings.append(
                Finding("ING-CONTROLLER-UNKNOWN", {**base, "known": False, "detail": err.detail})
            )
            return
        if found:
            break
    running = [p for p in found if p.text("status", "phase") == "Running" and endpoints.pod_ready(p)]
    if running:
        hop.evidence.append(
            Phrase(
                "EV-ING-CONTROLLER-READY",
                {
                    "controller": controller,
                    "ready": len(running),
                    "found": len(found),
                    "pods": tuple(p.ref for p in running[:3]),
                    "more": max(0, len(running) - 3),
                },
            )
        )
        return
    hop.findings.append(
        Finding(
            "ING-CONTROLLER-NOT-RUNNING",
            {**base, "labels": tuple(tried), "found": len(found)},
            evidence=tuple(f"{p.ref}: {pod_state(p).ready_column} {pod_state(p).status}" for p in found[:5]),
        )
    )
    hop.broken_at = hop.broken_at or "controller"


def _tls(view: ClusterView, ing: Obj, host: str, hop: Hop, req: Request) -> None:
    entries = ing.children("spec", "tls")
    if not entries:
        return
    wanted = [
        t
        for t in entries
        if not host or not t.strings("hosts") or any(host_rank(h, host) >= 2 for h in t.strings("hosts"))
    ]
    events: list[eventlog.EventGroup] | None = None
    for t in wanted:
        secret = t.text("secretName")
        if not secret:
            continue
        if events is None:
            events = eventlog.group(view.events(ing))
        about = [g for g in events if secret in g.message]
        trouble = [g for g in about if any(w in g.message.lower() for w in _SECRET_TROUBLE)]
        fields: dict[str, FieldValue] = {
            "ns": ing.namespace,
            "ingress": ing.name,
            "secret": secret,
            "hosts": tuple(t.strings("hosts")),
        }
        if trouble:
            hop.findings.append(
                Finding(
                    "ING-TLS-SECRET-MISSING", fields, evidence=tuple(g.line(req.now) for g in trouble[-3:])
                )
            )
        else:
            hop.findings.append(
                Finding("ING-TLS-UNVERIFIED", fields, evidence=tuple(g.line(req.now) for g in about[-3:]))
            )
        hop.evidence.append(
            Phrase("EV-ING-TLS-SECRET", {"secret": secret, "hosts": tuple(t.strings("hosts"))})
        )


def ingress_hop(view: ClusterView, ing: Obj, host: str, req: Request, classes: Sequence[Obj]) -> Hop:
    """Class, controller, address and TLS of one Ingress."""
    hop = Hop()
    cls = _ingress_class(view, ing, hop, classes)
    if cls is not None:
        _controller(view, ing, cls, hop)
    addrs = [a for a in addresses(ing) if a]
    if addrs:
        hop.evidence.append(f"address {', '.join(addrs)} (status.loadBalancer)")
    else:
        hop.findings.append(Finding("ING-NO-ADDRESS", {"ns": ing.namespace, "ingress": ing.name}))
    _tls(view, ing, host, hop, req)
    return hop


# -- a chain: Ingress rule -> Service -> endpoints -----------------------------------------


@dataclass(slots=True)
class Chain:
    route: Route
    findings: list[Finding] = field(default_factory=list)
    evidence: list[Text] = field(default_factory=list)
    broken_at: str = ""
    svc: str = ""
    port: str = ""
    ready: int = 0
    total: int = 0
    searched: list[Text] = field(default_factory=list)


def _backend_port(backend: Obj) -> int | str:
    port = backend.child("service", "port")
    if port.has("number"):
        return port.num("number")
    return port.text("name")


def _port_behind(view: ClusterView, svc: Obj, want: int | str) -> Obj | None:
    """The Service port whose targetPort is `want` (the usual slip: the pod's port in the Ingress).

    A named targetPort resolves to a number only per pod; the EndpointSlices record that number
    under the Service port's name, so they are read (one request) when the spec cannot tell.
    """
    svc_ports = svc.children("spec", "ports")
    for p in svc_ports:
        if str(ports.target_port(p)) == str(want):
            return p
    if isinstance(want, int):
        resolved = {
            e_port[0]
            for e in endpoints.read_backends(view, svc).endpoints
            for e_port in e.ports
            if e_port[1] == want
        }
        for p in svc_ports:
            if p.text("name") in resolved:
                return p
    return None


def follow(view: ClusterView, route: Route, hop: Hop, req: Request) -> Chain:
    """From one Ingress rule to the pods, stopping at the first broken link."""
    ing = route.ingress
    ns = ing.namespace
    chain = Chain(route)
    shown_host = route.host or "*"
    chain.evidence.append(f"Ingress {ing.ref}: host {shown_host}, path {route.path_text}")
    if (
        route.path is not None
        and (route.path.text("pathType") or "ImplementationSpecific") == "ImplementationSpecific"
    ):
        chain.evidence.append(Phrase("EV-ING-IMPLEMENTATION-SPECIFIC"))
    chain.evidence += hop.evidence
    chain.findings += hop.findings
    chain.broken_at = hop.broken_at
    if chain.broken_at:
        return chain

    backend = route.backend
    if backend.has("resource"):
        res = backend.child("resource")
        chain.findings.append(
            Finding(
                "ING-BACKEND-RESOURCE",
                {"ns": ns, "ingress": ing.name, "kind": res.text("kind"), "name": res.text("name")},
            )
        )
        return chain
    svc_name = backend.text("service", "name")
    want = _backend_port(backend)
    chain.svc = svc_name
    chain.port = str(want)
    base = {"ns": ns, "ingress": ing.name, "svc": svc_name}
    svc = view.get("Service", ns, svc_name)
    chain.searched.append(f"Service {ns}/{svc_name}")
    if svc is None:
        elsewhere = sorted(o.namespace for o in view.soft_list("Service") if o.name == svc_name)
        chain.findings.append(
            Finding(
                "ING-BACKEND-SERVICE-MISSING",
                {
                    **base,
                    "close": tuple(
                        n.split("/", 1)[1]
                        for n in close_names(view, "Service", svc_name, (ns,))
                        if n.startswith(f"{ns}/")
                    ),
                    "elsewhere": tuple(elsewhere),
                },
            )
        )
        chain.broken_at = "service"
        return chain

    svc_ports = svc.children("spec", "ports")
    if isinstance(want, int):
        chosen = [p for p in svc_ports if p.num("port") == want]
    else:
        chosen = [p for p in svc_ports if p.text("name") == want]
    if not chosen:
        as_target = _port_behind(view, svc, want)
        chain.findings.append(
            Finding(
                "ING-BACKEND-PORT-MISSING",
                {
                    **base,
                    "port": str(want),
                    "by_name": isinstance(want, str),
                    "ports": tuple(ports.service_port_label(p) for p in svc_ports),
                    "target_of": ports.service_port_label(as_target) if as_target else "",
                    # What to write instead: the Service port's number (or name, when by name).
                    "right": (as_target.text("name") if isinstance(want, str) else str(as_target.num("port")))
                    if as_target
                    else "",
                },
            )
        )
        chain.broken_at = "port"
        return chain
    sp = chosen[0]
    chain.port = ports.service_port_label(sp)
    chain.evidence.append(
        f"Service {svc.ref} ({endpoints.kubectl_line(svc)}): port {ports.service_port_label(sp)}"
        f" -> targetPort {ports.target_port(sp)}"
    )
    report = endpoints.analyse(view, svc, req, only_port=sp)
    chain.searched += report.searched
    chain.ready, chain.total = report.ready, report.total
    summary = next((f for f in report.findings if f.code == "SVC-BACKENDS"), None)
    if summary is not None:
        chain.evidence.append(
            Phrase(
                "EV-ING-ENDPOINTS",
                {
                    "ready": report.ready,
                    "total": report.total,
                    "source": report.backends.source,
                    "objects": report.backends.objects,
                },
            )
        )
        chain.evidence += [
            e for e in summary.evidence if not (isinstance(e, str) and e.startswith(("selector:", "port ")))
        ][:5]
    chain.findings += [f for f in report.all_findings() if f.code != "SVC-BACKENDS"]
    if report.broken:
        chain.broken_at = "endpoints"
    return chain


def _route_finding(chain: Chain, host: str, request_path: str) -> Finding:
    ing = chain.route.ingress
    addrs = [a for a in addresses(ing) if a]
    tls = bool(ing.children("spec", "tls"))
    shown_host = host or (chain.route.host if chain.route.host and "*" not in chain.route.host else "")
    return Finding(
        "ING-ROUTE",
        {
            "host": shown_host,
            "path": request_path
            if host
            else (chain.route.path.text("path") if chain.route.path else "/") or "/",
            "ns": ing.namespace,
            "ingress": ing.name,
            "svc": chain.svc,
            "port": chain.port,
            "ready": chain.ready,
            "total": chain.total,
            "broken_at": chain.broken_at,
            "address": addrs[0] if addrs else "",
            "ip": bool(addrs) and addrs[0].replace(".", "").isdigit(),
            "tls": tls,
        },
        evidence=tuple(chain.evidence),
        severity=Severity.ERROR if chain.broken_at else None,
    )


# -- the verbs -----------------------------------------------------------------------------

#: The catalogue's severity of each ING- code that is not info (tests/test_trace.py checks).
_DEFAULT_SEVERITY = {
    "ING-NO-INGRESS-FOR-HOST": Severity.ERROR,
    "ING-NO-CLASS": Severity.ERROR,
    "ING-PATH-NO-MATCH": Severity.ERROR,
    "ING-CLASS-NOT-FOUND": Severity.ERROR,
    "ING-CONTROLLER-NOT-RUNNING": Severity.ERROR,
    "ING-BACKEND-SERVICE-MISSING": Severity.ERROR,
    "ING-BACKEND-PORT-MISSING": Severity.ERROR,
    "ING-TLS-SECRET-MISSING": Severity.ERROR,
    "ING-CLASS-ANNOTATION": Severity.WARNING,
    "ING-NO-ADDRESS": Severity.WARNING,
}


def _severity(f: Finding) -> Severity:
    if f.code.startswith(("SVC-", "POD-", "NODE-")):
        return endpoints.severity_of(f)
    return f.severity or _DEFAULT_SEVERITY.get(f.code, Severity.INFO)


def _answer(
    req: Request, chains: Sequence[Chain], host: str, request_path: str, *, target: Target, status: str
) -> Result:
    findings: list[Finding] = []
    searched: list[Text] = []
    rest: list[Finding] = []
    for chain in chains:
        findings.append(_route_finding(chain, host, request_path))
        for f in chain.findings:
            if f not in rest:
                rest.append(f)
        searched += [s for s in chain.searched if s not in searched]
    findings += endpoints.by_blocks(rest, _severity)
    return Result.answer(req, target=target, status=status, findings=findings, searched=searched)


def _classes(view: ClusterView) -> Sequence[Obj]:
    return view.soft_list("IngressClass")


def trace_ingress(view: ClusterView, ing: Obj, req: Request, *, only_service: str = "") -> list[Chain]:
    """One chain per distinct backend of the Ingress (or only those reaching `only_service`)."""
    classes = _classes(view)
    routes: list[Route] = []
    seen: set[tuple[str, str, str]] = set()
    for rule in ing.children("spec", "rules"):
        for p in rule.children("http", "paths"):
            backend = p.child("backend")
            key = (
                backend.text("service", "name"),
                str(_backend_port(backend)),
                backend.text("resource", "name"),
            )
            if only_service and key[0] != only_service:
                continue
            if key not in seen:
                seen.add(key)
                routes.append(Route(ing, rule.text("host"), p, backend))
    if ing.has("spec", "defaultBackend"):
        backend = ing.child("spec", "defaultBackend")
        key = (backend.text("service", "name"), str(_backend_port(backend)), backend.text("resource", "name"))
        if key not in seen and (not only_service or key[0] == only_service):
            routes.append(Route(ing, "", None, backend))
    hops: dict[str, Hop] = {}
    chains = []
    for route in routes:
        if route.host not in hops:
            hops[route.host] = ingress_hop(view, ing, "" if "*" in route.host else route.host, req, classes)
        chains.append(follow(view, route, hops[route.host], req))
    return chains


def _split_target(arg: str) -> tuple[str, str] | None:
    """(`host`, `/path`) when the argument reads as a host (has a dot or a scheme), else None."""
    text = arg.strip()
    had_scheme = "://" in text
    if had_scheme:
        text = text.split("://", 1)[1]
    head, slash, rest = text.partition("/")
    host = head.split("@")[-1]
    # `[::1]:8443` keeps its brackets' content; `host:port` loses the port.
    host = host[1 : host.find("]")] if host.startswith("[") and "]" in host else host.split(":")[0]
    if not had_scheme and "." not in host:
        return None
    path = "/" + rest.split("?")[0].split("#")[0] if slash else "/"
    return host.lower().rstrip("."), path


def _hosts_line(ing: Obj) -> Text:
    hosts = ", ".join(r.text("host") or "*" for r in ing.children("spec", "rules"))
    return f"{ing.ref}: {hosts}" if hosts else Phrase("EV-ING-DEFAULT-BACKEND-ONLY", {"ingress": ing.ref})


def _by_host(view: ClusterView, req: Request, host: str, request_path: str) -> Result:
    ingresses = view.list("Ingress", req.namespace)
    route, host_matched = pick_route(ingresses, host, request_path)
    where = req.namespace or ""  # "": all namespaces (the template words it)
    ingresses_in: Text = Phrase("EV-TRAFFIC-INGRESSES-IN", {"ns": req.namespace or ""})
    if route is None:
        if host_matched:
            ing = host_matched[0]
            paths = tuple(
                f"{p.text('path') or '/'} ({p.text('pathType') or 'ImplementationSpecific'})"
                for i in host_matched
                for r in i.children("spec", "rules")
                if host_rank(r.text("host"), host)
                for p in r.children("http", "paths")
            )
            finding = Finding(
                "ING-PATH-NO-MATCH",
                {
                    "host": host,
                    "path": request_path,
                    "ns": ing.namespace,
                    "ingress": ing.name,
                    "paths": paths,
                },
            )
            return Result.answer(
                req,
                target=Target("Ingress", ing.namespace, ing.name),
                status=kubectl_line(ing),
                findings=[finding],
                searched=[ingresses_in],
            )
        hosts = sorted(
            {r.text("host") for i in ingresses for r in i.children("spec", "rules") if r.text("host")}
        )
        finding = Finding(
            "ING-NO-INGRESS-FOR-HOST",
            {
                "host": host,
                "where": where,
                "count": len(ingresses),
                "close": tuple(
                    difflib.get_close_matches(host, [h for h in hosts if "*" not in h], n=3, cutoff=0.6)
                ),
                "ns": req.namespace or "",
            },
            evidence=tuple(_hosts_line(i) for i in sorted(ingresses, key=lambda i: i.ref)[:10]),
        )
        return Result.answer(
            req, target=Target("Host", None, host), findings=[finding], searched=[ingresses_in]
        )
    ing = route.ingress
    hop = ingress_hop(view, ing, host, req, _classes(view))
    chain = follow(view, route, hop, req)
    if route.path is None:
        chain.findings.insert(
            0,
            Finding(
                "ING-DEFAULT-BACKEND",
                {"host": host, "path": request_path, "ns": ing.namespace, "ingress": ing.name},
            ),
        )
    chain.searched.insert(0, ingresses_in)
    return _answer(
        req,
        [chain],
        host,
        request_path,
        target=Target("Ingress", ing.namespace, ing.name),
        status=kubectl_line(ing),
    )


def _by_service(view: ClusterView, req: Request, svc: Obj) -> Result:
    ingresses = [
        i
        for i in view.list("Ingress", svc.namespace)
        if any(
            p.text("backend", "service", "name") == svc.name
            for r in i.children("spec", "rules")
            for p in r.children("http", "paths")
        )
        or i.text("spec", "defaultBackend", "service", "name") == svc.name
    ]
    if not ingresses:
        report = endpoints.analyse(view, svc, req)
        findings = [
            Finding("ING-NO-INGRESS-FOR-SERVICE", {"ns": svc.namespace, "svc": svc.name}),
            *report.all_findings(),
        ]
        return Result.answer(
            req,
            target=Target("Service", svc.namespace, svc.name),
            status=endpoints.kubectl_line(svc),
            findings=findings,
            searched=[Phrase("EV-TRAFFIC-INGRESSES-IN", {"ns": svc.namespace}), *report.searched],
        )
    chains: list[Chain] = []
    for ing in sorted(ingresses, key=lambda i: i.ref):
        chains += trace_ingress(view, ing, req, only_service=svc.name)
    first = sorted(ingresses, key=lambda i: i.ref)[0]
    return _answer(
        req, chains, "", "/", target=Target("Service", svc.namespace, svc.name), status=kubectl_line(first)
    )


def _by_ingress(view: ClusterView, req: Request, ing: Obj) -> Result:
    chains = trace_ingress(view, ing, req)
    if not chains:
        raise UsageError("bad_arg", req.verb, reason="ingress_empty", value=ing.ref)
    return _answer(
        req, chains, "", "/", target=Target("Ingress", ing.namespace, ing.name), status=kubectl_line(ing)
    )


def first_break(req: Request, view: ClusterView) -> Result:
    """`trace <host[/path]|ingress|service>`: each hop and the first broken link."""
    if not req.args:
        raise UsageError("missing_arg", req.verb, reason="host_ingress_service")
    if len(req.args) > 1:
        raise UsageError("extra_args", req.verb, value=" ".join(req.args[1:]))
    arg = req.args[0]
    as_host = _split_target(arg)
    if as_host is not None:
        return _by_host(view, req, *as_host)
    ref = parse_ref(arg, req.namespace)
    if ref.kind == "Ingress":
        return _by_ingress(view, req, find(view, "Ingress", ref, req))
    if ref.kind == "Service":
        return _by_service(view, req, find(view, "Service", ref, req))
    if ref.kind is not None:
        raise UsageError("bad_arg", req.verb, reason="not_traceable", value=arg)
    try:
        return _by_ingress(view, req, find(view, "Ingress", ref, req))
    except NotFound as not_ing:
        try:
            return _by_service(view, req, find(view, "Service", ref, req))
        except NotFound as not_svc:
            # A single-label host (`intranet`) is a host after all if some rule names it.
            if any(
                r.text("host").lower() == ref.name.lower()
                for i in view.soft_list("Ingress", ref.namespace)
                for r in i.children("spec", "rules")
            ):
                return _by_host(view, req, ref.name.lower(), "/")
            raise NotFound(
                Phrase("KIND-EITHER", {"a": "Ingress", "b": "Service"}),
                ref.name,
                lookup_order(req, ref),
                [*not_ing.close, *[c for c in not_svc.close if c not in not_ing.close]][:3],
            ) from None


def start_at_ingress(req: Request, view: ClusterView) -> Result:
    """`ingress <name>`: the trace, starting at that Ingress."""
    if not req.args:
        raise UsageError("missing_arg", req.verb, reason="ingress")
    if len(req.args) > 1:
        raise UsageError("extra_args", req.verb, value=" ".join(req.args[1:]))
    ref = parse_ref(req.args[0], req.namespace)
    if ref.kind not in (None, "Ingress"):
        raise UsageError("bad_arg", req.verb, reason="not_ingress", value=req.args[0])
    ing = find(view, "Ingress", Ref(ref.name, "Ingress", ref.namespace), req)
    return _by_ingress(view, req, ing)

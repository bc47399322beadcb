"""`dns <service> [<ordinal>]` and `dns <pod>`: the DNS names Kubernetes serves, and whether they resolve.

Rules (FACTS.md §2): the Kubernetes DNS specification 1.1.0 (A/AAAA, SRV per named port, headless
per-endpoint records, ExternalName CNAME), the EndpointSlice controller (an endpoint gets a
hostname only when the pod sets `spec.hostname` and `spec.subdomain` names the Service, in the same
namespace), CoreDNS's kubernetes plugin (only ready endpoints are served, a nil `ready` counts as
ready; `pods` option; dashed-IP labels), and the kubelet's resolv.conf (`pkg/kubelet/network/dns`).

The first argument is looked up as a Service first, then as a Pod. Without a cluster the names are
computed from the rules and the answer says it could not check them.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Final

from handlers.errors import NotFound, UsageError
from handlers.lookup import Ref, close_names, find, lookup_order, parse_ref
from handlers.model import FieldValue, Finding, Note, Phrase, Request, Result, Severity, Target, Text
from handlers.objects import Obj
from handlers.podstatus import pod_state
from handlers.view import ClusterView

#: kubelet `--cluster-dns` is normally the ClusterIP of this Service (kubeadm; k3s and others too).
KUBE_DNS_SERVICES: Final = ("kube-dns", "coredns")
#: kubelet's default options for ClusterFirst pods (pkg/kubelet/network/dns: defaultDNSOptions).
NDOTS: Final = 5
#: How many DNS records an answer quotes before summarising the rest.
MAX_RECORDS: Final = 20
_TOLERATE_UNREADY: Final = "service.alpha.kubernetes.io/tolerate-unready-endpoints"
_DECIMAL = re.compile(r"^(0|[1-9][0-9]*)$")
#: Stands for the node's own nameservers, search domains or options in a pod's resolv.conf.
_NODE_CONFIG: Final = "<node>"


# -- small readers over Service / Pod / EndpointSlice -------------------------------------------


def is_headless(svc: Obj) -> bool:
    return svc.text("spec", "clusterIP") == "None" and svc.text("spec", "type") != "ExternalName"


def publishes_not_ready(svc: Obj) -> bool:
    """publishNotReadyAddresses, or the legacy tolerate-unready-endpoints annotation."""
    return svc.flag("spec", "publishNotReadyAddresses") or svc.annotations.get(_TOLERATE_UNREADY) == "true"


def selects(svc: Obj, pod: Obj) -> bool:
    """A Service's equality selector matches the pod's labels (an empty selector selects nothing)."""
    selector = svc.mapping("spec", "selector")
    labels = pod.labels
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def pod_ready(pod: Obj) -> bool:
    return any(
        c.text("type") == "Ready" and c.text("status") == "True" for c in pod.children("status", "conditions")
    )


def dashed(ip: str) -> str:
    """The DNS label CoreDNS uses for an IP: dots (or colons) become dashes."""
    return ip.replace(".", "-").replace(":", "-")


def record_type(ip: str) -> str:
    return "AAAA" if ":" in ip else "A"


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One address behind a Service, from an EndpointSlice (or the legacy Endpoints object)."""

    ip: str
    hostname: str
    pod: str
    ready: bool
    source: str


def endpoints(view: ClusterView, svc: Obj) -> tuple[list[Endpoint], dict[str, int]]:
    """The Service's endpoints and its endpoint ports by name (from slices; Endpoints as fallback)."""
    out: list[Endpoint] = []
    ports: dict[str, int] = {}
    slices = view.soft_list("EndpointSlice", svc.namespace, labels={"kubernetes.io/service-name": svc.name})
    for sl in slices:
        if sl.text("addressType") == "FQDN":
            continue
        for p in sl.children("ports"):
            ports.setdefault(p.text("name"), p.num("port"))
        for ep in sl.children("endpoints"):
            # A nil `ready` means unknown, which consumers (CoreDNS included) treat as ready.
            ready = ep.flag("conditions", "ready", default=True)
            for ip in ep.strings("addresses"):
                out.append(
                    Endpoint(
                        ip,
                        ep.text("hostname"),
                        ep.text("targetRef", "name"),
                        ready,
                        f"EndpointSlice {sl.name}",
                    )
                )
    if not slices:
        legacy = view.soft_get("Endpoints", svc.namespace, svc.name)
        for subset in legacy.children("subsets") if legacy else []:
            for p in subset.children("ports"):
                ports.setdefault(p.text("name"), p.num("port"))
            for key, ready in (("addresses", True), ("notReadyAddresses", False)):
                for a in subset.children(key):
                    out.append(
                        Endpoint(
                            a.text("ip"), a.text("hostname"), a.text("targetRef", "name"), ready, "Endpoints"
                        )
                    )
    unique: dict[str, Endpoint] = {}
    for e in out:
        unique.setdefault(e.ip, e)
    return sorted(unique.values(), key=lambda e: (e.hostname or e.pod, e.ip)), ports


@dataclass(frozen=True, slots=True)
class CoreDNS:
    """What the `coredns` ConfigMap says about the kubernetes plugin (found=False: not visible)."""

    found: bool
    pods: str = ""  # insecure | verified | disabled ("" when not visible)
    zones: tuple[str, ...] = ()
    endpoint_pod_names: bool = False


_KUBERNETES_BLOCK = re.compile(r"^\s*kubernetes\b([^\n{]*)\{([^}]*)\}", re.M)


def coredns_config(view: ClusterView) -> CoreDNS:
    cm = view.soft_get("ConfigMap", "kube-system", "coredns")
    corefile = cm.text("data", "Corefile") if cm else ""
    m = _KUBERNETES_BLOCK.search(corefile)
    if not m:
        return CoreDNS(found=False)
    zones = tuple(z.rstrip(".") for z in m.group(1).split() if not z.endswith(("arpa", "arpa.")))
    pods = "disabled"  # the plugin's default when the block has no `pods` line
    pod_names = False
    for line in m.group(2).splitlines():
        words = line.split()
        if len(words) >= 2 and words[0] == "pods":
            pods = words[1]
        if words and words[0] == "endpoint_pod_names":
            pod_names = True
    return CoreDNS(found=True, pods=pods, zones=zones, endpoint_pod_names=pod_names)


def kube_dns_ip(view: ClusterView) -> str:
    for name in KUBE_DNS_SERVICES:
        svc = view.soft_get("Service", "kube-system", name)
        if svc is not None and svc.text("spec", "clusterIP") not in ("", "None"):
            return svc.text("spec", "clusterIP")
    return ""


# -- the verb ---------------------------------------------------------------------------------


def names(req: Request, view: ClusterView) -> Result:
    """`dns <service> [<ordinal>]` | `dns <pod>`."""
    if not req.args:
        raise UsageError("missing_arg", "dns", reason="service_or_pod")
    if len(req.args) > 2:
        raise UsageError("extra_args", "dns", value=" ".join(req.args[2:]))
    ordinal: int | None = None
    if len(req.args) == 2:
        if not _DECIMAL.match(req.args[1]):
            raise UsageError("bad_arg", "dns", reason="not_ordinal", value=req.args[1])
        ordinal = int(req.args[1])
    ref = parse_ref(req.args[0], req.namespace)
    if ref.kind not in (None, "Service", "Pod", "StatefulSet"):
        raise UsageError("bad_arg", "dns", reason="dns_kind", value=req.args[0])
    if not view.has_data:
        return _offline(req, ref, ordinal)
    if ref.kind == "StatefulSet":
        sts = find(view, "StatefulSet", ref, req)
        return _ordinal_answer(req, view, sts.text("spec", "serviceName"), sts.namespace, ordinal, only=sts)
    if ref.kind == "Pod":
        return _pod_answer(req, view, find(view, "Pod", ref, req))
    svc_missing: NotFound | None = None
    if ref.kind in (None, "Service"):
        try:
            svc = find(view, "Service", ref, req)
        except NotFound as err:
            svc_missing = err
        else:
            if ordinal is not None:
                return _ordinal_answer(req, view, svc.name, svc.namespace, ordinal)
            return _service_answer(req, view, svc)
    if ordinal is not None:
        routed = _ordinal_without_service(req, view, ref, ordinal)
        if routed is not None:
            return routed
    elif ref.kind is None:
        try:
            return _pod_answer(req, view, find(view, "Pod", ref, req))
        except NotFound:
            pass
    order = lookup_order(req, ref)
    close = [*close_names(view, "Service", ref.name, order), *close_names(view, "Pod", ref.name, order)]
    searched = svc_missing.searched if svc_missing else tuple(order)
    either = Phrase("KIND-EITHER", {"a": "Service", "b": "Pod"})
    raise NotFound(either, ref.name, searched, list(dict.fromkeys(close))[:5])


def _zone(req: Request) -> str:
    return req.cluster_domain.rstrip(".")


def _search_finding(req: Request, svc: str, ns: str) -> Finding:
    zone = _zone(req)
    return Finding("DNS-SEARCH", {"service": svc, "ns": ns, "zone": zone, "fqdn": f"{svc}.{ns}.svc.{zone}"})


def _zone_check(req: Request, core: CoreDNS) -> list[Finding]:
    zone = _zone(req)
    if core.found and core.zones and zone not in core.zones:
        return [Finding("DNS-ZONE-MISMATCH", {"zone": zone, "zones": core.zones})]
    return []


# -- dns <service> ----------------------------------------------------------------------------


def _service_answer(req: Request, view: ClusterView, svc: Obj) -> Result:
    core = coredns_config(view)
    findings = _service_findings(req, view, svc, core)
    governed = [
        s for s in view.soft_list("StatefulSet", svc.namespace) if s.text("spec", "serviceName") == svc.name
    ]
    if governed and not is_headless(svc):
        stss = tuple(s.name for s in governed)
        findings.append(
            _not_headless(
                svc, _zone(req), statefulsets=stss, via="statefulset", via_name=governed[0].name, pod=""
            )
        )
    findings += _zone_check(req, core)
    findings.append(_search_finding(req, svc.name, svc.namespace))
    return Result.answer(req, target=Target("Service", svc.namespace, svc.name), findings=findings)


def _service_findings(req: Request, view: ClusterView, svc: Obj, core: CoreDNS) -> list[Finding]:
    """The Service's own records: A/AAAA, headless endpoints or CNAME, then SRV."""
    zone, ns = _zone(req), svc.namespace
    fqdn = f"{svc.name}.{ns}.svc.{zone}"
    findings: list[Finding] = []
    base: dict[str, FieldValue] = {"service": svc.name, "ns": ns, "zone": zone, "fqdn": fqdn, "checked": True}
    svc_type = svc.text("spec", "type") or "ClusterIP"
    eps: list[Endpoint] = []
    ep_ports: dict[str, int] = {}
    if svc_type == "ExternalName":
        target = svc.text("spec", "externalName")
        findings.append(
            Finding("DNS-EXTERNALNAME", {**base, "target": target}, evidence=(f"{fqdn} CNAME {target}",))
        )
        if _is_ip(target):
            findings.append(Finding("DNS-EXTERNALNAME-IP", {**base, "target": target}))
    elif is_headless(svc):
        eps, ep_ports = endpoints(view, svc)
        findings.append(_headless(svc, eps, core, base))
    else:
        ips = svc.strings("spec", "clusterIPs") or [svc.text("spec", "clusterIP")]
        findings.append(
            Finding(
                "DNS-SERVICE-A",
                {**base, "ips": tuple(ips), "type": svc_type},
                evidence=tuple(f"{fqdn} {record_type(ip)} {ip}" for ip in ips if ip),
            )
        )
    if svc_type != "ExternalName":
        findings.append(_srv(svc, fqdn, eps=eps, ep_ports=ep_ports, core=core, base=base))
    return findings


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _label(ep: Endpoint, core: CoreDNS) -> str:
    """The first label CoreDNS serves for a headless endpoint: hostname, pod name or dashed IP."""
    if ep.hostname:
        return ep.hostname
    if core.endpoint_pod_names and ep.pod:
        return ep.pod
    return dashed(ep.ip)


def _headless(svc: Obj, eps: list[Endpoint], core: CoreDNS, base: dict[str, FieldValue]) -> Finding:
    fqdn = str(base["fqdn"])
    publish = publishes_not_ready(svc)
    served = [e for e in eps if e.ready or publish]
    not_ready = [e for e in eps if not e.ready]
    fields: dict[str, FieldValue] = {
        **base,
        "served": len(served),
        "not_ready": len(not_ready),
        "publish": publish,
        "selector": ",".join(f"{k}={v}" for k, v in svc.mapping("spec", "selector").items()),
        "hostnames": sum(1 for e in served if e.hostname),
        "pod_names": core.endpoint_pod_names,
    }
    if not served:
        evidence = tuple(
            f"{e.source}: {e.ip} ready=false{f' hostname={e.hostname}' if e.hostname else ''}"
            f"{f' (pod {e.pod})' if e.pod else ''}"
            for e in not_ready[:MAX_RECORDS]
        )
        return Finding("DNS-HEADLESS-NXDOMAIN", fields, evidence=evidence)
    records = [f"{fqdn} {record_type(e.ip)} {e.ip}{f' (pod {e.pod})' if e.pod else ''}" for e in served]
    records += [f"{_label(e, core)}.{fqdn} {record_type(e.ip)} {e.ip}" for e in served]
    return Finding("DNS-HEADLESS", fields, evidence=_capped(records))


def _capped(records: list[str]) -> tuple[Text, ...]:
    """At most MAX_RECORDS records, then how many more."""
    if len(records) > MAX_RECORDS:
        return (*records[:MAX_RECORDS], Phrase("EV-TRAFFIC-MORE", {"count": len(records) - MAX_RECORDS}))
    return tuple(records)


def _srv(
    svc: Obj,
    fqdn: str,
    *,
    eps: list[Endpoint],
    ep_ports: dict[str, int],
    core: CoreDNS,
    base: dict[str, FieldValue],
) -> Finding:
    ports = svc.children("spec", "ports")
    named = [p for p in ports if p.text("name")]
    unnamed = [p.num("port") for p in ports if not p.text("name")]
    records: list[str] = []
    headless = is_headless(svc)
    served = [e for e in eps if e.ready or publishes_not_ready(svc)]
    srv_names: list[str] = []
    for p in named:
        proto = (p.text("protocol") or "TCP").lower()
        name = f"_{p.text('name')}._{proto}.{fqdn}"
        srv_names.append(name)
        if headless:
            port = ep_ports.get(p.text("name")) or p.num("targetPort") or p.num("port")
            records += [f"{name} SRV {port} {_label(e, core)}.{fqdn}" for e in served]
        else:
            records.append(f"{name} SRV {p.num('port')} {fqdn}")
    return Finding(
        "DNS-SERVICE-SRV",
        {
            **base,
            "srv": tuple(srv_names),
            "unnamed": tuple(unnamed),
            "headless": headless,
            "served": len(served),
        },
        evidence=_capped(records),
    )


# -- dns <service> <ordinal> ------------------------------------------------------------------


def _ordinal_without_service(req: Request, view: ClusterView, ref: Ref, ordinal: int) -> Result | None:
    """No Service of that name where we looked: a StatefulSet governed by it, or named so."""
    order = lookup_order(req, ref)
    for ns in order:
        pool = view.soft_list("StatefulSet", ns)
        governed = [s for s in pool if s.text("spec", "serviceName") == ref.name]
        if governed:
            return _ordinal_answer(req, view, ref.name, governed[0].namespace, ordinal)
        named = [s for s in pool if s.name == ref.name]
        if len(named) == 1:
            sts = named[0]
            return _ordinal_answer(
                req, view, sts.text("spec", "serviceName"), sts.namespace, ordinal, only=sts
            )
    return None


def _ordinal_answer(
    req: Request, view: ClusterView, svc_name: str, ns: str, ordinal: int | None, *, only: Obj | None = None
) -> Result:
    zone = _zone(req)
    svc = view.soft_get("Service", ns, svc_name) if svc_name else None
    core = coredns_config(view)
    if only is not None:
        stss = [only]
    else:
        stss = [s for s in view.soft_list("StatefulSet", ns) if s.text("spec", "serviceName") == svc_name]
    findings: list[Finding] = []
    if not stss:
        in_ns = view.soft_list("StatefulSet", ns)
        elsewhere = [
            s
            for s in view.soft_list("StatefulSet")
            if s.text("spec", "serviceName") == svc_name and s.namespace != ns
        ]
        named = next((s for s in in_ns if s.name == svc_name), None)
        findings.append(
            Finding(
                "DNS-STS-NOT-GOVERNED",
                {
                    "service": svc_name,
                    "ns": ns,
                    "zone": zone,
                    "others": tuple(s.ref for s in elsewhere),
                    "statefulsets": tuple(s.name for s in in_ns),
                    "named_service": named.text("spec", "serviceName") if named is not None else "",
                },
            )
        )
        # Show what would work instead: the same-named StatefulSet under its own serviceName, and the
        # StatefulSets elsewhere that name this Service (their pods look for it in their namespace).
        if named is not None:
            findings += _sts_pod(
                req, view, named, svc_name=named.text("spec", "serviceName"), ordinal=ordinal, core=core
            )
        for sts in elsewhere:
            findings += _sts_pod(req, view, sts, svc_name=svc_name, ordinal=ordinal, core=core)
    for sts in stss:
        findings += _sts_pod(req, view, sts, svc_name=svc_name, ordinal=ordinal, core=core)
    if svc is not None:
        findings += _service_findings(req, view, svc, core)
    findings += _zone_check(req, core)
    findings.append(_search_finding(req, svc_name or "<serviceName>", ns))
    if svc is not None:
        target = Target("Service", ns, svc_name)
    elif stss:
        target = Target("StatefulSet", ns, stss[0].name)
    else:
        target = Target("Service", ns, svc_name)
    return Result.answer(req, target=target, findings=findings)


def _sts_pod(
    req: Request, view: ClusterView, sts: Obj, *, svc_name: str, ordinal: int | None, core: CoreDNS
) -> list[Finding]:
    zone, ns = _zone(req), sts.namespace
    start = sts.num("spec", "ordinals", "start")
    ordinal = start if ordinal is None else ordinal
    replicas = sts.num("spec", "replicas", default=1)
    pod_name = f"{sts.name}-{ordinal}"
    fqdn = f"{pod_name}.{svc_name}.{ns}.svc.{zone}" if svc_name else ""
    pod = view.soft_get("Pod", ns, pod_name)
    svc = view.soft_get("Service", ns, svc_name) if svc_name else None
    problems: list[Finding] = []
    common: dict[str, FieldValue] = {
        "statefulset": sts.name,
        "service": svc_name,
        "ns": ns,
        "zone": zone,
        "pod": pod_name,
        "fqdn": fqdn,
        "ordinal": ordinal,
    }
    if not (start <= ordinal < start + replicas):
        problems.append(
            Finding(
                "DNS-STS-ORDINAL-OUT-OF-RANGE",
                {
                    **common,
                    "start": start,
                    "replicas": replicas,
                    "last": start + replicas - 1,
                    "pod_exists": pod is not None,
                },
            )
        )
    problems += _service_problems(
        view, svc, svc_name=svc_name, ns=ns, pod=pod, via="statefulset", via_name=sts.name, zone=zone
    )
    if pod is None:
        if start <= ordinal < start + replicas:
            problems.append(
                Finding(
                    "DNS-POD-MISSING",
                    {**common, "policy": sts.text("spec", "podManagementPolicy") or "OrderedReady"},
                )
            )
    else:
        problems += _pod_problems(pod, svc, common)
    ok = not problems
    ip = pod.text("status", "podIP") if pod is not None else ""
    evidence = _endpoint_evidence(view, svc, pod) if svc is not None and pod is not None else ()
    head = Finding(
        "DNS-STS-POD-NAME",
        {**common, "resolves": ok, "ip": ip if ok else "", "checked": True, "assumed": False},
        evidence=evidence,
        severity=Severity.INFO if ok else Severity.ERROR,
    )
    return [head, *problems]


def _endpoint_evidence(view: ClusterView, svc: Obj, pod: Obj) -> tuple[str, ...]:
    eps, _ = endpoints(view, svc)
    lines = [
        f"{e.source}: {e.ip} hostname={e.hostname or '<none>'} ready={'true' if e.ready else 'false'}"
        f" (pod {e.pod})"
        for e in eps
        if e.pod == pod.name
    ]
    return tuple(lines)


def _service_problems(
    view: ClusterView,
    svc: Obj | None,
    *,
    svc_name: str,
    ns: str,
    pod: Obj | None,
    via: str,
    via_name: str,
    zone: str,
) -> list[Finding]:
    """Why a per-pod name under `svc_name` in `ns` cannot exist, as far as the Service goes."""
    base: dict[str, FieldValue] = {
        "service": svc_name,
        "ns": ns,
        "zone": zone,
        "via": via,
        "via_name": via_name,
        "pod": pod.name if pod is not None else "",
    }
    if not svc_name:
        return [Finding("DNS-SERVICE-MISSING", {**base, "elsewhere": (), "unset": True})]
    if svc is None:
        elsewhere = tuple(
            s.namespace for s in view.soft_list("Service") if s.name == svc_name and s.namespace != ns
        )
        return [Finding("DNS-SERVICE-MISSING", {**base, "elsewhere": elsewhere, "unset": False})]
    if not is_headless(svc):
        stss = (via_name,) if via == "statefulset" else ()
        return [
            _not_headless(
                svc,
                zone,
                statefulsets=stss,
                via=via,
                via_name=via_name,
                pod=pod.name if pod is not None else "",
            )
        ]
    if pod is not None and not selects(svc, pod):
        selector = svc.mapping("spec", "selector")
        labels = pod.labels
        return [
            Finding(
                "DNS-SERVICE-NOT-SELECTING",
                {
                    **base,
                    "selector": ",".join(f"{k}={v}" for k, v in selector.items()),
                    "missing": tuple(
                        f"{k}={v} (pod has {labels[k]})" if k in labels else f"{k}={v}"
                        for k, v in selector.items()
                        if labels.get(k) != v
                    ),
                },
            )
        ]
    return []


def _not_headless(
    svc: Obj, zone: str, *, statefulsets: tuple[str, ...], via: str, via_name: str, pod: str
) -> Finding:
    return Finding(
        "DNS-SERVICE-NOT-HEADLESS",
        {
            "service": svc.name,
            "ns": svc.namespace,
            "zone": zone,
            "fqdn": f"{svc.name}.{svc.namespace}.svc.{zone}",
            "statefulsets": statefulsets,
            "cluster_ip": svc.text("spec", "clusterIP"),
            "type": svc.text("spec", "type") or "ClusterIP",
            "via": via,
            "via_name": via_name,
            "pod": pod,
        },
    )


def _pod_problems(pod: Obj, svc: Obj | None, common: dict[str, FieldValue]) -> list[Finding]:
    publish = svc is not None and publishes_not_ready(svc)
    if not pod.text("status", "podIP"):
        return [
            Finding(
                "DNS-POD-NO-IP",
                {**common, "phase": pod.text("status", "phase"), "status": pod_state(pod).status},
            )
        ]
    if not pod_ready(pod) and not publish:
        return [Finding("DNS-POD-NOT-READY", {**common, "status": pod_state(pod).status})]
    return []


# -- dns <pod> --------------------------------------------------------------------------------


def _pod_answer(req: Request, view: ClusterView, pod: Obj) -> Result:
    zone, ns = _zone(req), pod.namespace
    core = coredns_config(view)
    hostname = pod.text("spec", "hostname") or pod.name
    subdomain = pod.text("spec", "subdomain")
    ip = pod.text("status", "podIP")
    ips = [o.text("ip") for o in pod.children("status", "podIPs")] or ([ip] if ip else [])
    common: dict[str, FieldValue] = {
        "pod": pod.name,
        "ns": ns,
        "zone": zone,
        "hostname": hostname,
        "subdomain": subdomain,
        "ip": ip,
    }
    findings: list[Finding] = []
    if subdomain:
        fqdn = f"{hostname}.{subdomain}.{ns}.svc.{zone}"
        svc = view.soft_get("Service", ns, subdomain)
        problems: list[Finding] = []
        if not pod.text("spec", "hostname"):
            problems.append(Finding("DNS-POD-NO-HOSTNAME", {**common, "service": subdomain, "fqdn": fqdn}))
        problems += _service_problems(
            view, svc, svc_name=subdomain, ns=ns, pod=pod, via="pod", via_name=pod.name, zone=zone
        )
        problems += _pod_problems(pod, svc, {**common, "fqdn": fqdn, "service": subdomain})
        ok = not problems
        evidence = _endpoint_evidence(view, svc, pod) if svc is not None else ()
        findings.append(
            Finding(
                "DNS-POD-HOSTNAME",
                {
                    **common,
                    "fqdn": fqdn,
                    "service": subdomain,
                    "resolves": ok,
                    "owner": pod.controller.text("kind"),
                },
                evidence=evidence,
                severity=Severity.INFO if ok else Severity.ERROR,
            )
        )
        findings += problems
    else:
        findings.append(Finding("DNS-POD-NO-SUBDOMAIN", common))
    findings.append(_pod_ip_record(pod, ips, core, common))
    findings.append(_behind(view, pod, common))
    findings.append(_resolv_conf(view, pod, common))
    findings += _zone_check(req, core)
    return Result.answer(
        req, target=Target("Pod", ns, pod.name), status=pod_state(pod).status, findings=findings
    )


def _pod_ip_record(pod: Obj, ips: list[str], core: CoreDNS, common: dict[str, FieldValue]) -> Finding:
    zone, ns = str(common["zone"]), str(common["ns"])
    names = tuple(f"{dashed(i)}.{ns}.pod.{zone}" for i in ips)
    return Finding(
        "DNS-POD-IP-RECORD",
        {
            **common,
            "names": names,
            "mode": core.pods,
            "seen": core.found,
            "host_network": pod.flag("spec", "hostNetwork"),
        },
        evidence=tuple(f"{n} {record_type(i)} {i}" for n, i in zip(names, ips, strict=True)),
    )


def _behind(view: ClusterView, pod: Obj, common: dict[str, FieldValue]) -> Finding:
    zone, ns = str(common["zone"]), pod.namespace
    lines: list[Text] = []
    svc_names: list[str] = []
    ready = pod_ready(pod)
    for svc in sorted(view.soft_list("Service", ns), key=lambda s: s.name):
        if not selects(svc, pod):
            continue
        fqdn = f"{svc.name}.{ns}.svc.{zone}"
        svc_names.append(svc.name)
        if is_headless(svc):
            included = ready or publishes_not_ready(svc)
            fields: dict[str, FieldValue] = {
                "fqdn": fqdn,
                "included": included,
                "ip": str(common["ip"] or ""),
            }
            lines.append(Phrase("EV-DNS-HEADLESS-INCLUDES", fields))
        else:
            lines.append(f"{fqdn} → {svc.text('spec', 'clusterIP')}")
    return Finding("DNS-POD-SERVICES", {**common, "services": tuple(svc_names)}, evidence=tuple(lines))


def _resolv_conf(view: ClusterView, pod: Obj, common: dict[str, FieldValue]) -> Finding:
    zone, ns = str(common["zone"]), pod.namespace
    policy = pod.text("spec", "dnsPolicy") or "ClusterFirst"
    host_network = pod.flag("spec", "hostNetwork")
    if policy == "None":
        mode = "none"
    elif policy == "ClusterFirstWithHostNet" or (policy == "ClusterFirst" and not host_network):
        mode = "cluster"
    else:  # Default, or ClusterFirst on the host network (kubelet falls back to the node's config)
        mode = "host"
    dns_ip = kube_dns_ip(view)
    nameservers: list[str] = []
    searches: list[str] = []
    options: dict[str, str] = {}
    if mode == "cluster":
        nameservers = [dns_ip or "<kubelet --cluster-dns>"]
        searches = [f"{ns}.svc.{zone}", f"svc.{zone}", zone, _NODE_CONFIG]
        options = {"ndots": str(NDOTS)}
    elif mode == "host":
        nameservers = [_NODE_CONFIG]
        searches = [_NODE_CONFIG]
        options = {_NODE_CONFIG: ""}
    cfg = pod.child("spec", "dnsConfig")
    for server in cfg.strings("nameservers"):
        if server not in nameservers:
            nameservers.append(server)
    for domain in cfg.strings("searches"):
        if domain not in searches:
            searches.append(domain)
    for opt in cfg.children("options"):
        options[opt.text("name")] = opt.text("value")
    lines: list[Text] = [
        Phrase("EV-DNS-NAMESERVER-NODE") if n == _NODE_CONFIG else f"nameserver {n}" for n in nameservers
    ]
    if _NODE_CONFIG in searches:
        at = searches.index(_NODE_CONFIG)
        before, after = tuple(searches[:at]), tuple(searches[at + 1 :])
        lines.append(Phrase("EV-DNS-SEARCH-NODE", {"before": before, "after": after}))
    elif searches:
        lines.append("search " + " ".join(searches))
    opts = tuple(f"{k}:{v}" if v else k for k, v in options.items() if k != _NODE_CONFIG)
    if _NODE_CONFIG in options:
        lines.append(Phrase("EV-DNS-OPTIONS-NODE", {"options": opts}))
    elif opts:
        lines.append("options " + " ".join(opts))
    ndots = options.get("ndots", "")
    return Finding(
        "DNS-RESOLV-CONF",
        {
            **common,
            "policy": policy,
            "policy_set": pod.has("spec", "dnsPolicy"),
            "mode": mode,
            "host_network": host_network,
            "nameserver": nameservers[0] if nameservers else "",
            "dns_ip_seen": bool(dns_ip),
            "has_dns_config": bool(cfg),
            "ndots": int(ndots) if ndots.isdigit() else 0,
            "too_many_servers": len(nameservers) > 3,
        },
        evidence=tuple(lines),
    )


# -- offline ----------------------------------------------------------------------------------


def _offline(req: Request, ref: Ref, ordinal: int | None) -> Result:
    zone = _zone(req)
    ns = ref.namespace or req.bound_namespace or "default"
    assumed_ns = not (ref.namespace or req.bound_namespace)
    svc = ref.name
    fqdn = f"{svc}.{ns}.svc.{zone}"
    base: dict[str, FieldValue] = {"service": svc, "ns": ns, "zone": zone, "fqdn": fqdn, "checked": False}
    findings: list[Finding] = []
    if ordinal is not None:
        pod = f"{svc}-{ordinal}"
        findings.append(
            Finding(
                "DNS-STS-POD-NAME",
                {
                    "statefulset": svc,
                    "service": svc,
                    "ns": ns,
                    "zone": zone,
                    "pod": pod,
                    "fqdn": f"{pod}.{fqdn}",
                    "ordinal": ordinal,
                    "resolves": False,
                    "ip": "",
                    "checked": False,
                    "assumed": True,
                },
            )
        )
    else:
        findings.append(Finding("DNS-SERVICE-A", {**base, "ips": (), "type": ""}))
    findings.append(
        Finding(
            "DNS-SERVICE-SRV",
            {
                **base,
                "srv": (f"_<port-name>._tcp.{fqdn}",),
                "unnamed": (),
                "headless": ordinal is not None,
                "served": 0,
            },
        )
    )
    findings.append(
        Finding(
            "DNS-NOT-CHECKED",
            {**base, "ordinal": -1 if ordinal is None else ordinal, "assumed_ns": assumed_ns},
        )
    )
    findings.append(_search_finding(req, svc, ns))
    return Result.answer(req, target=Target("Service", ns, svc), findings=findings, notes=[Note("OFFLINE")])

"""`how <topic> [<pod>] [-n NS]`: a runbook, with the real names filled in when a pod is named.

The steps are catalogue entries (HOW-<TOPIC> in templates/knowledge/findings/how.yaml); this module
finds the pod and hands them the facts: namespace, pod, container, node, container ID without its
runtime scheme, and the runtime itself, so docker-era commands appear only on Docker nodes. Without a
pod the same steps come with `<pod>`-style placeholders.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from handlers.errors import UsageError
from handlers.lookup import find, parse_ref
from handlers.model import FieldValue, Finding, Note, Phrase, Request, Result, Target, Text
from handlers.objects import Obj
from handlers.view import ClusterView

#: Topic -> catalogue code; the contract's order (CONTRACT.md `how`).
TOPICS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "capture": "HOW-CAPTURE",
        "exec": "HOW-EXEC",
        "cp": "HOW-CP",
        "api": "HOW-API",
        "port-forward": "HOW-PORT-FORWARD",
        "configmap": "HOW-CONFIGMAP",
        "downward-api": "HOW-DOWNWARD-API",
        "dns": "HOW-DNS",
    }
)

#: Words people use for a topic (the tool they have in mind, or a plural).
TOPIC_ALIASES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "tcpdump": "capture",
        "pcap": "capture",
        "packet-capture": "capture",
        "sniff": "capture",
        "shell": "exec",
        "nsenter": "exec",
        "enter": "exec",
        "copy": "cp",
        "curl": "api",
        "apiserver": "api",
        "api-server": "api",
        "token": "api",
        "portforward": "port-forward",
        "forward": "port-forward",
        "pf": "port-forward",
        "cm": "configmap",
        "configmaps": "configmap",
        "config-map": "configmap",
        "downward": "downward-api",
        "downwardapi": "downward-api",
        "fieldref": "downward-api",
        "hostname": "dns",
        "resolv": "dns",
        "nslookup": "dns",
    }
)

#: Topics whose steps run on the node and need the container ID (and so a started container).
_NODE_TOPICS = frozenset({"capture", "exec", "cp"})
#: The annotation kubectl reads to pick a pod's default container (`kubectl exec`, `logs`).
_DEFAULT_CONTAINER = "kubectl.kubernetes.io/default-container"
#: containerID / containerRuntimeVersion schemes -> the runtime's name as the steps spell it.
_RUNTIMES = {"containerd": "containerd", "cri-o": "cri-o", "docker": "docker"}
#: Binding a local port below 1024 needs root, so port-forward examples move those up by 8000.
_PRIVILEGED_PORTS = 1024
_LOCAL_PORT_SHIFT = 8000

_PLACEHOLDERS: Final[Mapping[str, FieldValue]] = MappingProxyType(
    {
        "named": False,
        "ns": "<ns>",
        "pod": "<pod>",
        "container": "<container>",
        "node": "<node>",
        "container_id": "<container-id>",
        "runtime": "",
        "docker": False,
        "host_network": False,
        "pod_ip": "<pod-ip>",
        "owner": "<workload>",
        "service_account": "<serviceaccount>",
        "automount": True,
        "svc": "<svc>",
        "svc_port": "<port>",
        "local_port": "<local-port>",
        "pod_port": "<port>",
        "pod_local_port": "<local-port>",
        "hostname": "<hostname>",
        "subdomain": "",
        "fqdn": "",
        "pod_ip_name": "<a-b-c-d>.<ns>.pod.<zone>",
        "lookup_name": "<hostname>.<subdomain>.<ns>.svc.<zone>",
        "configmap": "<configmap>",
        "mount_path": "<mount-path>",
        "subpath": False,
    }
)


def runbook(req: Request, view: ClusterView) -> Result:
    """The topic's steps; with a pod, filled in from the pod, its node and the Services selecting it."""
    if not req.args:
        return Result.answer(req, target=Target("Runbook"), findings=[Finding("HOW-TOPICS", {})])
    topic = _topic(req.args[0])
    if len(req.args) > 2:
        raise UsageError("extra_args", "how", value=" ".join(req.args[2:]))
    fields = placeholders(req.namespace, req.cluster_domain)
    if len(req.args) == 1:
        return Result.answer(
            req, target=Target("Runbook", name=topic), findings=[Finding(TOPICS[topic], fields)]
        )

    ref = parse_ref(req.args[1], req.namespace)
    if ref.kind not in (None, "Pod"):
        raise UsageError("not_a_pod", "how", value=req.args[1])
    if not view.has_data:
        # No cluster: fill in what was typed, keep placeholders for what only the cluster knows.
        ns = ref.namespace or str(fields["ns"])
        fields.update(pod=ref.name, ns=ns)
        _placeholder_names(fields, ns, req.cluster_domain)
        return Result.answer(
            req,
            target=Target("Pod", ref.namespace, ref.name),
            findings=[Finding(TOPICS[topic], fields)],
            notes=[Note("OFFLINE")],
        )

    pod = find(view, "Pod", ref, req)
    facts = _pod_facts(pod, view, req.cluster_domain)
    fields.update(facts.fields)
    findings: list[Finding] = []
    if len(facts.containers) > 1:
        findings.append(
            Finding(
                "HOW-CONTAINER-CHOICE",
                {
                    "ns": pod.namespace,
                    "pod": pod.name,
                    "container": facts.container,
                    "containers": facts.containers,
                    "by_annotation": facts.by_annotation,
                },
            )
        )
    findings.append(Finding(TOPICS[topic], fields, evidence=_evidence(topic, pod, facts, view)))
    if topic in _NODE_TOPICS and not facts.container_id:
        findings.append(
            Finding(
                "HOW-NO-CONTAINER-ID", {"ns": pod.namespace, "pod": pod.name, "container": facts.container}
            )
        )
    if topic == "capture" and facts.fields["host_network"]:
        findings.append(
            Finding("HOW-HOST-NETWORK", {"ns": pod.namespace, "pod": pod.name, "node": facts.node})
        )
    if topic == "api" and not facts.fields["automount"]:
        findings.append(
            Finding(
                "HOW-API-NO-TOKEN",
                {"ns": pod.namespace, "pod": pod.name, "service_account": facts.fields["service_account"]},
            )
        )
    return Result.answer(req, target=Target("Pod", pod.namespace, pod.name), findings=findings)


def placeholders(namespace: str | None, domain: str) -> dict[str, FieldValue]:
    """A runbook's fields when no pod is named: `<pod>`, `<node>`... and the namespace if given."""
    fields = dict(_PLACEHOLDERS)
    fields["domain"] = domain
    if namespace:
        fields["ns"] = namespace
    _placeholder_names(fields, str(fields["ns"]), domain)
    return fields


def _placeholder_names(fields: dict[str, FieldValue], ns: str, domain: str) -> None:
    fields["pod_ip_name"] = f"<a-b-c-d>.{ns}.pod.{domain}"
    fields["lookup_name"] = f"<hostname>.<subdomain>.{ns}.svc.{domain}"


def _topic(text: str) -> str:
    asked = text.lower().replace("_", "-")
    topic = TOPIC_ALIASES.get(asked, asked)
    if topic in TOPICS:
        return topic
    known = [*TOPICS, *TOPIC_ALIASES]
    close: list[str] = []
    for word in difflib.get_close_matches(asked, known, n=5, cutoff=0.7):
        name = TOPIC_ALIASES.get(word, word)
        if name not in close:
            close.append(name)
    raise UsageError("unknown_topic", "how", value=text, close=close[:3])


@dataclass(frozen=True, slots=True)
class _Facts:
    """What the runbooks need to know about one pod."""

    fields: Mapping[str, FieldValue]
    containers: tuple[str, ...]
    container: str
    by_annotation: bool
    container_id: str
    node: str
    runtime_version: str
    #: (service, port) for each Service selecting the pod, ClusterIP ones first.
    services: tuple[tuple[str, str], ...]


def _pod_facts(pod: Obj, view: ClusterView, domain: str) -> _Facts:
    specs = pod.children("spec", "containers")
    containers = tuple(c.text("name") for c in specs)
    default = pod.annotations.get(_DEFAULT_CONTAINER, "")
    by_annotation = default in containers
    container = default if by_annotation else (containers[0] if containers else "<container>")
    spec = next((c for c in specs if c.text("name") == container), Obj())
    node_name = pod.text("spec", "nodeName")

    statuses = pod.children("status", "containerStatuses")
    raw_id = next((s.text("containerID") for s in statuses if s.text("name") == container), "")
    scheme, _, container_id = raw_id.partition("://")
    runtime = _RUNTIMES.get(scheme, "")
    if not runtime:
        # The chosen container has not started: another container's ID, or the node, says which runtime.
        for s in (*statuses, *pod.children("status", "initContainerStatuses")):
            runtime = _RUNTIMES.get(s.text("containerID").partition("://")[0], "")
            if runtime:
                break
    node = view.soft_get("Node", None, node_name) if node_name else None
    runtime_version = node.text("status", "nodeInfo", "containerRuntimeVersion") if node is not None else ""
    if not runtime:
        runtime = _RUNTIMES.get(runtime_version.partition("://")[0], "")

    ports = [p for p in spec.children("ports") if p.num("containerPort")]
    pod_port = str(ports[0].num("containerPort")) if ports else "<port>"
    services = _services_for(pod, view)
    svc, svc_port = services[0] if services else ("<svc>", "<port>")

    hostname = pod.text("spec", "hostname") or pod.name
    subdomain = pod.text("spec", "subdomain")
    fqdn = f"{hostname}.{subdomain}.{pod.namespace}.svc.{domain}" if subdomain else ""
    pod_ip = pod.text("status", "podIP")
    # CoreDNS `pods insecure|verified` answers a-b-c-d.<ns>.pod.<zone> for IPv4 (FACTS.md §2).
    dashed = pod_ip.replace(".", "-") if pod_ip and ":" not in pod_ip else "<a-b-c-d>"
    pod_ip_name = f"{dashed}.{pod.namespace}.pod.{domain}"
    mounts = _configmap_mounts(pod, spec)

    fields: dict[str, FieldValue] = {
        "named": True,
        "ns": pod.namespace,
        "pod": pod.name,
        "container": container,
        "node": node_name or "<node>",
        "container_id": container_id or "<container-id>",
        "runtime": runtime,
        "docker": runtime == "docker",
        "host_network": pod.flag("spec", "hostNetwork"),
        "pod_ip": pod_ip or "<pod-ip>",
        "owner": _owner(pod, view),
        "service_account": pod.text("spec", "serviceAccountName") or "default",
        "automount": _automount(pod, view),
        "svc": svc,
        "svc_port": svc_port,
        "local_port": _local_port(svc_port if services else pod_port),
        "pod_port": pod_port,
        "pod_local_port": _local_port(pod_port),
        "hostname": hostname,
        "subdomain": subdomain,
        "fqdn": fqdn,
        "pod_ip_name": pod_ip_name,
        "lookup_name": fqdn or pod_ip_name,
        "configmap": mounts[0][0] if mounts else _first_configmap(pod) or "<configmap>",
        "mount_path": mounts[0][1] if mounts else "<mount-path>",
        "subpath": any(sub for _, _, sub in mounts),
    }
    return _Facts(
        fields=fields,
        containers=containers,
        container=container,
        by_annotation=by_annotation,
        container_id=container_id,
        node=node_name,
        runtime_version=runtime_version,
        services=tuple(services),
    )


def _services_for(pod: Obj, view: ClusterView) -> list[tuple[str, str]]:
    """Services in the pod's namespace whose selector matches its labels, with their first port."""
    labels = pod.labels
    found: list[tuple[bool, str, str]] = []
    for svc in view.soft_list("Service", pod.namespace):
        selector = svc.mapping("spec", "selector")
        if not selector or any(labels.get(k) != v for k, v in selector.items()):
            continue
        port = next((p.text("port") for p in svc.children("spec", "ports") if p.text("port")), "")
        if port:
            found.append((svc.text("spec", "clusterIP") == "None", svc.name, port))
    # A Service with a ClusterIP is how the app's clients reach it; headless ones come last.
    return [(name, port) for _, name, port in sorted(found)]


def _local_port(port: str) -> str:
    if not port.isdigit():
        return "<local-port>"
    n = int(port)
    return str(n + _LOCAL_PORT_SHIFT) if n < _PRIVILEGED_PORTS else str(n)


def _owner(pod: Obj, view: ClusterView) -> str:
    """`kind/name` of the workload to restart (a ReplicaSet's Deployment when there is one)."""
    ctrl = pod.controller
    kind, name = ctrl.text("kind"), ctrl.text("name")
    if kind == "ReplicaSet":
        rs = view.soft_get("ReplicaSet", pod.namespace, name)
        parent = rs.controller if rs is not None else Obj()
        if parent.text("kind") == "Deployment":
            return f"deployment/{parent.text('name')}"
        return f"replicaset/{name}"
    if kind in ("StatefulSet", "DaemonSet", "Job"):
        return f"{kind.lower()}/{name}"
    return "<workload>"


def _automount(pod: Obj, view: ClusterView) -> bool:
    """Whether the pod gets a token: the pod's setting wins, then the ServiceAccount's, default true."""
    if pod.has("spec", "automountServiceAccountToken"):
        return pod.flag("spec", "automountServiceAccountToken")
    sa = view.soft_get("ServiceAccount", pod.namespace, pod.text("spec", "serviceAccountName") or "default")
    if sa is not None and sa.has("automountServiceAccountToken"):
        return sa.flag("automountServiceAccountToken")
    return True


def _configmap_mounts(pod: Obj, spec: Obj) -> list[tuple[str, str, bool]]:
    """(configmap, mountPath, subPath used) for the chosen container's configMap volume mounts."""
    volumes = {v.text("name"): v.text("configMap", "name") for v in pod.children("spec", "volumes")}
    out = []
    for m in spec.children("volumeMounts"):
        cm = volumes.get(m.text("name"), "")
        if cm:
            out.append((cm, m.text("mountPath"), bool(m.text("subPath"))))
    return out


def _first_configmap(pod: Obj) -> str:
    for c in pod.children("spec", "containers"):
        for e in c.children("env"):
            if name := e.text("valueFrom", "configMapKeyRef", "name"):
                return name
        for e in c.children("envFrom"):
            if name := e.text("configMapRef", "name"):
                return name
    return ""


def _evidence(topic: str, pod: Obj, facts: _Facts, view: ClusterView) -> tuple[Text, ...]:
    """Facts quoted from the pod (and node) that the steps were filled in from."""
    lines: list[Text] = [f"spec.nodeName: {facts.node or '<none>'}"]
    if facts.container_id:
        raw = f"{facts.fields['runtime']}://{facts.container_id}"
        lines.append(f"containerStatuses[{facts.container}].containerID: {raw}")
    if facts.runtime_version:
        lines.append(f"node {facts.node} status.nodeInfo.containerRuntimeVersion: {facts.runtime_version}")
    if topic == "port-forward":
        lines += [
            Phrase("EV-HOW-SERVICE-SELECTS", {"svc": svc, "port": port}) for svc, port in facts.services
        ]
        for c in pod.children("spec", "containers"):
            for p in c.children("ports"):
                label = f" ({p.text('name')})" if p.text("name") else ""
                lines.append(f"container {c.text('name')} port {p.text('containerPort')}{label}")
    elif topic == "api":
        lines.append(f"spec.serviceAccountName: {facts.fields['service_account']}")
        if pod.has("spec", "automountServiceAccountToken"):
            lines.append(
                f"spec.automountServiceAccountToken: {pod.text('spec', 'automountServiceAccountToken')}"
            )
    elif topic == "dns":
        lines.append(f"spec.hostname: {pod.text('spec', 'hostname') or '<none>'}")
        lines.append(f"spec.subdomain: {pod.text('spec', 'subdomain') or '<none>'}")
        lines.append(f"status.podIP: {pod.text('status', 'podIP') or '<none>'}")
        lines.append(f"spec.dnsPolicy: {pod.text('spec', 'dnsPolicy') or 'ClusterFirst'}")
    elif topic == "configmap":
        lines += _configmap_uses(pod)
    elif topic == "downward-api":
        lines += _downward_uses(pod)
    return tuple(lines)


def _configmap_uses(pod: Obj) -> list[Text]:
    """Every way the pod consumes a ConfigMap, one line each, in the API's own field names."""
    lines: list[Text] = []
    volumes: dict[str, Obj] = {}
    for v in pod.children("spec", "volumes"):
        if v.has("configMap"):
            volumes[v.text("name")] = v.child("configMap")
            cm = v.child("configMap")
            items = ", ".join(f"{i.text('key')}->{i.text('path')}" for i in cm.children("items"))
            extra = f" items [{items}]" if items else ""
            if cm.has("optional"):
                extra += f" optional={cm.text('optional')}"
            lines.append(f"volume {v.text('name')}: configMap {cm.text('name')}{extra}")
    for c in (*pod.children("spec", "initContainers"), *pod.children("spec", "containers")):
        name = c.text("name")
        for m in c.children("volumeMounts"):
            if m.text("name") in volumes:
                fields = {
                    "container": name,
                    "volume": m.text("name"),
                    "path": m.text("mountPath"),
                    "sub_path": m.text("subPath"),
                }
                lines.append(Phrase("EV-HOW-MOUNTS", fields))
        for e in c.children("env"):
            ref = e.child("valueFrom", "configMapKeyRef")
            if ref:
                opt = f" optional={ref.text('optional')}" if ref.has("optional") else ""
                lines.append(
                    f"container {name} env {e.text('name')} <- configMapKeyRef "
                    f"{ref.text('name')}/{ref.text('key')}{opt}"
                )
        for e in c.children("envFrom"):
            ref = e.child("configMapRef")
            if ref:
                prefix = f" prefix {e.text('prefix')}" if e.text("prefix") else ""
                opt = f" optional={ref.text('optional')}" if ref.has("optional") else ""
                lines.append(f"container {name} envFrom configMapRef {ref.text('name')}{prefix}{opt}")
    return lines


def _downward_uses(pod: Obj) -> list[str]:
    """The pod's existing Downward API fields, as env or volume."""
    lines: list[str] = []
    for c in pod.children("spec", "containers"):
        for e in c.children("env"):
            if path := e.text("valueFrom", "fieldRef", "fieldPath"):
                lines.append(f"container {c.text('name')} env {e.text('name')} <- fieldRef {path}")
            if res := e.text("valueFrom", "resourceFieldRef", "resource"):
                lines.append(f"container {c.text('name')} env {e.text('name')} <- resourceFieldRef {res}")
    for v in pod.children("spec", "volumes"):
        for item in v.children("downwardAPI", "items"):
            src = item.text("fieldRef", "fieldPath") or item.text("resourceFieldRef", "resource")
            lines.append(f"volume {v.text('name')}: downwardAPI {item.text('path')} <- {src}")
    return lines

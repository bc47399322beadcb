"""Service port -> pod port resolution, as the endpoint controllers do it (`podutil.FindPort`).

`FindPort` in kubernetes `pkg/api/v1/pod/util.go`: a numeric targetPort is used as is (the
container need not declare it: `containerPort` is informational); a named targetPort is looked up
by name AND protocol in the containers' ports, then in restartable (sidecar) init containers'
ports; no match -> the pod is left out of the endpoints for that Service port only.
On top of that resolution this module says what looks wrong: a number no container declares while
others are declared, a name declared with another protocol, a name declared by no container.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from handlers.objects import Obj
from handlers.podstatus import is_restartable_init

#: `protocol` defaults to TCP on both ServicePort and ContainerPort (API defaulting).
DEFAULT_PROTOCOL = "TCP"


class PortStatus(StrEnum):
    """How one Service port resolves on one pod."""

    OK = "ok"
    #: Numeric targetPort that no container declares, while the pod declares other ports.
    UNDECLARED = "undeclared"
    #: Numeric targetPort, and the pod declares no ports at all: nothing to check against.
    NOTHING_DECLARED = "nothing-declared"
    #: Named targetPort that no container declares: the pod is left out for this port.
    NAME_MISSING = "name-missing"
    #: The port (by name or number) is declared, but with another protocol.
    PROTOCOL_MISMATCH = "protocol-mismatch"


@dataclass(frozen=True, slots=True)
class DeclaredPort:
    container: str
    number: int
    protocol: str
    name: str

    def text(self) -> str:
        """`app 8080/TCP (http)` — how the evidence lists a container's port."""
        named = f" ({self.name})" if self.name else ""
        return f"{self.container} {self.number}/{self.protocol}{named}"


@dataclass(frozen=True, slots=True)
class Resolution:
    status: PortStatus
    #: The pod port traffic goes to; None when the pod is left out for this Service port.
    number: int | None
    #: The declared port that matched by name or number (possibly with another protocol).
    declared: DeclaredPort | None = None

    @property
    def left_out(self) -> bool:
        return self.number is None


def protocol(port: Obj) -> str:
    return port.text("protocol") or DEFAULT_PROTOCOL


def target_port(service_port: Obj) -> int | str:
    """`targetPort` as written (number or name); defaults to `port` (API defaulting)."""
    raw = service_port.get("targetPort")
    if isinstance(raw, bool) or raw is None or raw in {"", 0}:
        return service_port.num("port")
    if isinstance(raw, int):
        return raw
    text = str(raw)
    return int(text) if text.isdigit() else text


def service_port_label(service_port: Obj) -> str:
    """`http 80/TCP` or `80/TCP`: how a Service port is named in evidence and titles."""
    name = service_port.text("name")
    base = f"{service_port.num('port')}/{protocol(service_port)}"
    return f"{name} {base}" if name else base


def declared_ports(pod: Obj) -> list[DeclaredPort]:
    """Every containerPort the pod declares, containers first, then sidecar init containers."""
    out: list[DeclaredPort] = []
    sidecars = [c for c in pod.children("spec", "initContainers") if is_restartable_init(c)]
    for container in [*pod.children("spec", "containers"), *sidecars]:
        for p in container.children("ports"):
            out.append(
                DeclaredPort(container.text("name"), p.num("containerPort"), protocol(p), p.text("name"))
            )
    return out


def resolve(pod: Obj, service_port: Obj) -> Resolution:
    """Where traffic for `service_port` lands on `pod`, and whether that looks right."""
    want = target_port(service_port)
    proto = protocol(service_port)
    declared = declared_ports(pod)
    if isinstance(want, str):
        same_name = [d for d in declared if d.name == want]
        for d in same_name:
            if d.protocol == proto:
                return Resolution(PortStatus.OK, d.number, d)
        if same_name:
            return Resolution(PortStatus.PROTOCOL_MISMATCH, None, same_name[0])
        return Resolution(PortStatus.NAME_MISSING, None)
    same_number = [d for d in declared if d.number == want]
    for d in same_number:
        if d.protocol == proto:
            return Resolution(PortStatus.OK, want, d)
    if same_number:
        return Resolution(PortStatus.PROTOCOL_MISMATCH, want, same_number[0])
    if declared:
        return Resolution(PortStatus.UNDECLARED, want)
    return Resolution(PortStatus.NOTHING_DECLARED, want)

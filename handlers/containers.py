"""A container's spec and status side by side, and the lines `kubectl describe pod` prints for them.

Evidence quotes the cluster in kubectl's own words (`Last State: Terminated, Reason: OOMKilled,
Exit Code: 137`, `Liveness: http-get http://:8080/healthz delay=0s timeout=1s period=10s #success=1
#failure=3`), so a user can match the answer against what they see in a terminal.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from handlers import quantity
from handlers.model import Phrase, Text
from handlers.objects import Obj, age, human_duration
from handlers.podstatus import is_restartable_init
from handlers.redact import redact

# Probe defaults from the API (k8s.io/api/core/v1 Probe): used when the spec leaves them out.
PROBE_DEFAULTS = {
    "initialDelaySeconds": 0,
    "timeoutSeconds": 1,
    "periodSeconds": 10,
    "successThreshold": 1,
    "failureThreshold": 3,
}


@dataclass(frozen=True, slots=True)
class Container:
    """One container of a pod: its spec, its status, and where it sits."""

    name: str
    spec: Obj
    status: Obj
    init: bool
    index: int

    @property
    def sidecar(self) -> bool:
        return self.init and is_restartable_init(self.spec)

    @property
    def field_path(self) -> str:
        """The `involvedObject.fieldPath` the kubelet gives this container's events."""
        return f"spec.{'initContainers' if self.init else 'containers'}{{{self.name}}}"

    @property
    def image(self) -> str:
        return self.spec.text("image") or self.status.text("image")

    @property
    def restarts(self) -> int:
        return self.status.num("restartCount")

    @property
    def waiting(self) -> Obj:
        return self.status.child("state", "waiting")

    @property
    def running(self) -> Obj:
        return self.status.child("state", "running")

    @property
    def terminated(self) -> Obj:
        return self.status.child("state", "terminated")

    @property
    def last_terminated(self) -> Obj:
        return self.status.child("lastState", "terminated")

    @property
    def ready(self) -> bool:
        return self.status.flag("ready")

    @property
    def is_running(self) -> bool:
        return self.status.has("state", "running")

    def resource(self, kind: str, resource: str) -> str:
        """`limits`/`requests` value as written in the spec, or ""."""
        return self.spec.text("resources", kind, resource)

    def probe(self, which: str) -> Obj:
        """`liveness` | `readiness` | `startup`."""
        return self.spec.child(f"{which}Probe")


def containers(pod: Obj) -> list[Container]:
    """Init containers (in order) then main containers, each paired with its status (maybe empty)."""
    out: list[Container] = []
    for init, spec_key, status_key in (
        (True, "initContainers", "initContainerStatuses"),
        (False, "containers", "containerStatuses"),
    ):
        statuses = {s.text("name"): s for s in pod.children("status", status_key)}
        for i, spec in enumerate(pod.children("spec", spec_key)):
            name = spec.text("name")
            out.append(Container(name, spec, statuses.get(name, Obj()), init, i))
    return out


#: containerd reports `startedAt: 1970-01-01T00:00:00Z` for a container whose process never started
#: (StartError): the zero time, not a date.
_ZERO_YEAR = 1970


def _when(t: datetime | None, now: datetime) -> tuple[str, str]:
    """(`2024-05-01T10:00:00Z`, `5m`): the time and its age, or ("", "") for none or the zero time."""
    if t is None or t.year <= _ZERO_YEAR:
        return "", ""
    return t.strftime("%Y-%m-%dT%H:%M:%SZ"), age(t, now)


def state_line(
    state: Obj, now: datetime, *, label: str = "State", prefix: str = "", suffix: str = ""
) -> Text:
    """`State: Waiting, Reason: CrashLoopBackOff` / `Last State: Terminated, Reason: OOMKilled,
    Exit Code: 137, Started: ..., Finished: ...` as `kubectl describe pod` prints them, between
    `prefix` and `suffix`. With a start or finish time it is a Phrase (EV-POD-CONTAINER-STATE): the
    time's age (`(5m ago)`) is words; without one, the line is data."""
    head: list[str] = []
    started = finished = ("", "")
    tail = ""
    if state.has("waiting"):
        w = state.child("waiting")
        head = [f"{label}: Waiting"]
        if w.text("reason"):
            head.append(f"Reason: {w.text('reason')}")
        if w.text("message"):
            head.append(f"Message: {_message(w.text('message'))}")
    elif state.has("running"):
        head = [f"{label}: Running"]
        started = _when(state.time("running", "startedAt"), now)
    elif state.has("terminated"):
        t = state.child("terminated")
        head = [f"{label}: Terminated"]
        if t.text("reason"):
            head.append(f"Reason: {t.text('reason')}")
        head.append(f"Exit Code: {t.num('exitCode')}")
        if t.num("signal"):
            head.append(f"Signal: {t.num('signal')}")
        started = _when(t.time("startedAt"), now)
        finished = _when(t.time("finishedAt"), now)
        if t.text("message"):
            tail = f", Message: {_message(t.text('message'))}"
    else:
        head = [f"{label}: <none>"]
    first = prefix + ", ".join(head)
    if not started[0] and not finished[0]:
        return first + tail + suffix
    return Phrase(
        "EV-POD-CONTAINER-STATE",
        {
            "head": first,
            "started": started[0],
            "started_ago": started[1],
            "finished": finished[0],
            "finished_ago": finished[1],
            "tail": tail + suffix,
        },
    )


def _message(text: str, limit: int = 400) -> str:
    flat = " ".join(redact(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def ran_for(terminated: Obj) -> str:
    """How long a terminated container ran (`2m13s`), or ""."""
    started, finished = terminated.time("startedAt"), terminated.time("finishedAt")
    if started is None or finished is None or finished < started or started.year <= _ZERO_YEAR:
        return ""
    return human_duration((finished - started).total_seconds())


def probe_line(probe: Obj) -> str:
    """`http-get http://:8080/healthz delay=0s timeout=1s period=10s #success=1 #failure=3`
    (kubectl describe's DescribeProbe format)."""
    if not probe:
        return ""
    d = {k: probe.num(k, default=v) for k, v in PROBE_DEFAULTS.items()}
    attrs = (
        f"delay={d['initialDelaySeconds']}s timeout={d['timeoutSeconds']}s period={d['periodSeconds']}s "
        f"#success={d['successThreshold']} #failure={d['failureThreshold']}"
    )
    return f"{probe_action(probe)} {attrs}"


def probe_action(probe: Obj) -> str:
    """The probe's action alone: `http-get http://:8080/healthz`, `tcp-socket :5432`, `exec [...]`."""
    if probe.has("httpGet"):
        h = probe.child("httpGet")
        scheme = (h.text("scheme") or "HTTP").lower()
        host = h.text("host")
        return f"http-get {scheme}://{host}:{h.text('port')}{h.text('path')}"
    if probe.has("tcpSocket"):
        t = probe.child("tcpSocket")
        return f"tcp-socket {t.text('host')}:{t.text('port')}"
    if probe.has("grpc"):
        g = probe.child("grpc")
        return f"grpc <pod>:{g.text('port')} {g.text('service') or '<service>'}"
    if probe.has("exec"):
        return f"exec [{' '.join(probe.strings('exec', 'command'))}]"
    return "<unknown>"


def probe_budget_seconds(probe: Obj) -> int:
    """Seconds before the probe gives up on a container that never answers: initialDelaySeconds +
    failureThreshold x periodSeconds (what a slow-starting app must beat)."""
    d = {k: probe.num(k, default=v) for k, v in PROBE_DEFAULTS.items()}
    return d["initialDelaySeconds"] + d["failureThreshold"] * d["periodSeconds"]


def resources_line(c: Container) -> str:
    """`Limits: cpu=500m, memory=512Mi; Requests: cpu=250m, memory=256Mi` (or `<none>`)."""
    parts: list[str] = []
    for kind in ("limits", "requests"):
        values = c.spec.mapping("resources", kind)
        if values:
            parts.append(f"{kind.capitalize()}: " + ", ".join(f"{k}={v}" for k, v in sorted(values.items())))
    return "; ".join(parts) if parts else "Limits: <none>; Requests: <none>"


def pod_requests(pod: Obj) -> dict[str, Decimal]:
    """The pod's effective requests as the scheduler counts them (`resourcehelper.PodRequests`):
    max(sum of app containers + sidecars, each init container on its own), plus pod overhead."""
    total: dict[str, Decimal] = {}
    sidecars: dict[str, Decimal] = {}
    init_peak: dict[str, Decimal] = {}

    def add(into: dict[str, Decimal], spec: Obj) -> None:
        for res, text in spec.mapping("resources", "requests").items():
            v = quantity.parse(text)
            if v is not None:
                into[res] = into.get(res, Decimal(0)) + v

    for spec in pod.children("spec", "containers"):
        add(total, spec)
    for spec in pod.children("spec", "initContainers"):
        if is_restartable_init(spec):
            add(sidecars, spec)
            continue
        own: dict[str, Decimal] = {}
        add(own, spec)
        for res, v in own.items():
            # An init container runs alongside the sidecars started before it.
            need = v + sidecars.get(res, Decimal(0))
            init_peak[res] = max(init_peak.get(res, Decimal(0)), need)
    for res, v in sidecars.items():
        total[res] = total.get(res, Decimal(0)) + v
    for res, v in init_peak.items():
        total[res] = max(total.get(res, Decimal(0)), v)
    for res, text in pod.mapping("spec", "overhead").items():
        extra = quantity.parse(text)
        if extra is not None:
            total[res] = total.get(res, Decimal(0)) + extra
    return total


def condition_line(cond: Obj, prefix: str = "Condition ") -> str:
    """`Condition Ready=False, Reason: X, Message: Y` (parts that are empty left out)."""
    line = f"{prefix}{cond.text('type')}={cond.text('status')}"
    if cond.text("reason"):
        line += f", Reason: {cond.text('reason')}"
    if cond.text("message"):
        line += f", Message: {cond.text('message')}"
    return line

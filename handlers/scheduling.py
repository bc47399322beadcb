"""Why the scheduler found no node: a FailedScheduling message taken apart.

The message is `FitError.Error()` (kubernetes `pkg/scheduler/framework/types.go`, FACTS.md §4):

    0/5 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: },
    2 Insufficient memory, 2 node(s) didn't match Pod's node affinity/selector. preemption: 0/5 nodes
    are available: 2 No preemption victims found for incoming pod, 3 Preemption is not helpful for
    scheduling.

Items are `<count> <reason>` sorted as strings; a PreFilter rejection has no count
(`0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims.`). Wordings changed over
releases (`node(s) had taint {k: v}, that the pod didn't tolerate` before v1.25, `node(s) didn't match
node selector` before v1.19 ...); each known form maps to one `Cause`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class Cause(StrEnum):
    """What kept the nodes out, one value per actionable class."""

    INSUFFICIENT = "insufficient"  # Insufficient cpu / memory / ephemeral-storage / <extended>
    TAINT = "taint"
    NODE_AFFINITY = "node_affinity"  # nodeSelector or required node affinity
    UNBOUND_PVC = "unbound_pvc"
    PVC_NOT_FOUND = "pvc_not_found"
    VOLUME_NODE_AFFINITY = "volume_node_affinity"
    NO_PV = "no_pv"  # didn't find available persistent volumes to bind
    VOLUME_LIMIT = "volume_limit"
    TOO_MANY_PODS = "too_many_pods"
    PORTS = "ports"
    POD_AFFINITY = "pod_affinity"
    POD_ANTI_AFFINITY = "pod_anti_affinity"
    TOPOLOGY_SPREAD = "topology_spread"
    UNSCHEDULABLE = "unschedulable"  # cordoned
    NOT_READY = "not_ready"
    PRESSURE = "pressure"
    OTHER = "other"


@dataclass(frozen=True, slots=True)
class Reason:
    """One `<count> <text>` item."""

    count: int | None  # None for a PreFilter message (it applies to every node)
    text: str
    cause: Cause
    resource: str = ""  # for INSUFFICIENT
    taint_key: str = ""  # for TAINT
    taint_value: str = ""


@dataclass(frozen=True, slots=True)
class FitFailure:
    """A parsed FailedScheduling message."""

    available: int
    total: int
    reasons: tuple[Reason, ...]
    preemption: str  # the PostFilter part after `preemption: `, or ""
    raw: str

    def with_cause(self, *causes: Cause) -> list[Reason]:
        return [r for r in self.reasons if r.cause in causes]

    @property
    def causes(self) -> list[Cause]:
        seen: list[Cause] = []
        for r in self.reasons:
            if r.cause not in seen:
                seen.append(r.cause)
        return seen


_HEAD = re.compile(r"^\s*(\d+)/(\d+) nodes are available(?::\s*|\.?$)")
_COUNTED = re.compile(r"^(\d+) (.+)$")
# `{key: value}` (v1.25+ prints `{key: }` for an empty value); older forms add `, that the pod
# didn't tolerate`.
_TAINT = re.compile(r"taint \{([^:}]*):?\s*([^}]*)\}")
_INSUFFICIENT = re.compile(r"^Insufficient (\S+)$")

_PATTERNS: tuple[tuple[Cause, re.Pattern[str]], ...] = (
    (Cause.INSUFFICIENT, re.compile(r"^Insufficient ")),
    (Cause.TAINT, re.compile(r"taint \{")),
    (
        Cause.NODE_AFFINITY,
        re.compile(r"didn't match (Pod's )?node (affinity|selector)|MatchNodeSelector|NodeAffinity", re.I),
    ),
    (Cause.UNBOUND_PVC, re.compile(r"unbound immediate PersistentVolumeClaims", re.I)),
    (Cause.PVC_NOT_FOUND, re.compile(r'persistentvolumeclaim "[^"]+" not found', re.I)),
    (Cause.VOLUME_NODE_AFFINITY, re.compile(r"volume node affinity conflict", re.I)),
    (Cause.NO_PV, re.compile(r"didn't find available persistent volumes to bind", re.I)),
    (Cause.VOLUME_LIMIT, re.compile(r"max volume count|exceed max volume", re.I)),
    (Cause.TOO_MANY_PODS, re.compile(r"Too many pods", re.I)),
    (Cause.PORTS, re.compile(r"free ports|host ?port", re.I)),
    (Cause.POD_ANTI_AFFINITY, re.compile(r"anti-affinity", re.I)),
    (Cause.POD_AFFINITY, re.compile(r"pod affinity", re.I)),
    (Cause.TOPOLOGY_SPREAD, re.compile(r"topology spread", re.I)),
    (Cause.UNSCHEDULABLE, re.compile(r"were unschedulable|node\(s\) unschedulable", re.I)),
    (Cause.NOT_READY, re.compile(r"not ready|NodeNotReady|network is unavailable", re.I)),
    (Cause.PRESSURE, re.compile(r"had (memory|disk|pid) pressure", re.I)),
)


def _split_items(body: str) -> list[str]:
    """Split on `, ` outside `{...}` (a taint value could in principle contain one)."""
    items: list[str] = []
    depth = 0
    cur: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth = max(depth - 1, 0)
        if depth == 0 and body.startswith(", ", i):
            items.append("".join(cur))
            cur = []
            i += 2
            continue
        cur.append(ch)
        i += 1
    if cur:
        items.append("".join(cur))
    merged: list[str] = []
    for item in (s.strip() for s in items if s.strip()):
        # Before v1.25: `node(s) had taint {k: v}, that the pod didn't tolerate` (a comma inside one item).
        if merged and item.startswith("that the pod didn't tolerate"):
            merged[-1] += ", " + item
        else:
            merged.append(item)
    return merged


def _reason(count: int | None, text: str) -> Reason:
    for cause, pattern in _PATTERNS:
        if not pattern.search(text):
            continue
        if cause is Cause.INSUFFICIENT:
            m = _INSUFFICIENT.match(text)
            return Reason(count, text, cause, resource=m.group(1) if m else "")
        if cause is Cause.TAINT:
            t = _TAINT.search(text)
            key, value = (t.group(1).strip(), t.group(2).strip()) if t else ("", "")
            if key == "node.kubernetes.io/unschedulable":
                return Reason(count, text, Cause.UNSCHEDULABLE, taint_key=key)
            return Reason(count, text, cause, taint_key=key, taint_value=value)
        return Reason(count, text, cause)
    return Reason(count, text, Cause.OTHER)


def parse(message: str) -> FitFailure | None:
    """Take a FailedScheduling message (or the PodScheduled condition's message) apart; None if it
    is not in the `N/M nodes are available` form."""
    text = message.strip()
    m = _HEAD.match(text)
    if not m:
        return None
    rest = text[m.end() :]
    preemption = ""
    cut = rest.find(" preemption: ")
    if cut >= 0:
        preemption = rest[cut + len(" preemption: ") :].strip()
        rest = rest[:cut]
    rest = rest.strip()
    if rest.endswith("."):
        rest = rest[:-1]
    reasons: list[Reason] = []
    for item in _split_items(rest):
        c = _COUNTED.match(item)
        if c:
            reasons.append(_reason(int(c.group(1)), c.group(2).strip()))
        else:
            reasons.append(_reason(None, item))
    return FitFailure(
        available=int(m.group(1)),
        total=int(m.group(2)),
        reasons=tuple(reasons),
        preemption=preemption,
        raw=text,
    )

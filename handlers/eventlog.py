"""An object's events grouped the way `kubectl describe` shows them: one line per (type, reason,
message), with how many times it happened and when it was first and last seen.

The API already folds repeats into one Event with `count` (core/v1) or `series.count`
(events.k8s.io/v1), but the same message can still arrive as several Event objects (after the
recorder's cache expires, or from several kubelets), so counts are summed here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from handlers.objects import Obj, age, human_duration
from handlers.redact import redact

#: Event messages can carry whole stack traces (FailedCreatePodSandBox, probe output); evidence
#: shows the start, which names the cause.
MAX_MESSAGE = 400


@dataclass(frozen=True, slots=True)
class EventGroup:
    """Repeats of one event: the kubelet's `Warning BackOff (x12 over 5m)`."""

    type: str
    reason: str
    message: str
    count: int
    first: datetime | None
    last: datetime | None
    component: str
    field_path: str

    @property
    def warning(self) -> bool:
        return self.type == "Warning"

    def line(self, now: datetime) -> str:
        """`Warning BackOff 10s (x12 over 5m): Back-off restarting failed container ...`: the Type,
        Reason, Age and Message columns of `kubectl describe`'s Events table, whose Age is the
        last occurrence's age and `(xN over <since the first>)` (kubectl's own words, in any language)."""
        head = f"{self.type} {self.reason}"
        if self.last is not None:
            head += f" {age(self.last, now)}"
        if self.count > 1:
            span = (
                f" over {human_duration((self.last - self.first).total_seconds())}"
                if self.first and self.last and self.last > self.first
                else ""
            )
            head += f" (x{self.count}{span})"
        return f"{head}: {clip(self.message)}"


def clip(text: str, limit: int = MAX_MESSAGE) -> str:
    """One line, redacted, at most `limit` characters: the start and the end are kept, because a
    runtime error names the operation first and the root cause last (`failed to pull ...: dial tcp:
    lookup harbor.corp.internal on 192.168.56.1:53: no such host`)."""
    flat = " ".join(redact(text).split())
    if len(flat) <= limit:
        return flat
    head = limit * 2 // 5
    tail = limit - head - 3
    return f"{flat[:head].rstrip()} … {flat[-tail:].lstrip()}"


def _count(ev: Obj) -> int:
    return max(ev.num("count") or ev.num("series", "count") or ev.num("deprecatedCount") or 1, 1)


def _first(ev: Obj) -> datetime | None:
    return (
        ev.time("firstTimestamp")
        or ev.time("eventTime")
        or ev.time("deprecatedFirstTimestamp")
        or ev.time("metadata", "creationTimestamp")
    )


def _last(ev: Obj) -> datetime | None:
    return (
        ev.time("lastTimestamp")
        or ev.time("series", "lastObservedTime")
        or ev.time("eventTime")
        or ev.time("deprecatedLastTimestamp")
        or _first(ev)
    )


def _min(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else min(a, b)


def _max(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else max(a, b)


#: The event correlator's prefix when it folds similar events (client-go tools/record).
_COMBINED = "(combined from similar events): "
#: Sandbox and container ids in messages differ on every retry of the same failure.
_IDS = re.compile(r"\b[0-9a-f]{32,64}\b")


def _same(message: str) -> str:
    return _IDS.sub("<id>", message.removeprefix(_COMBINED))


def group(events: Iterable[Obj]) -> list[EventGroup]:
    """Events folded by (type, reason, message), ordered by when each was last seen (oldest first).
    Messages that differ only in a container/sandbox id or the correlator's `(combined from similar
    events)` prefix are the same failure; the group shows the latest message."""
    groups: dict[tuple[str, str, str], EventGroup] = {}
    for ev in sorted(events, key=lambda e: (_last(e) is None, _last(e) or datetime.min)):
        message = ev.text("message").strip().removeprefix(_COMBINED)
        key = (ev.text("type") or "Normal", ev.text("reason"), _same(message))
        prev = groups.get(key)
        component = ev.text("source", "component") or ev.text("reportingComponent")
        field_path = ev.text("involvedObject", "fieldPath")
        if prev is None:
            groups[key] = EventGroup(
                key[0], key[1], message, _count(ev), _first(ev), _last(ev), component, field_path
            )
        else:
            groups[key] = EventGroup(
                key[0],
                key[1],
                message,
                prev.count + _count(ev),
                _min(prev.first, _first(ev)),
                _max(prev.last, _last(ev)),
                prev.component or component,
                prev.field_path or field_path,
            )
    return sorted(groups.values(), key=lambda g: (g.last is None, g.last or datetime.min))


def with_reason(groups: Sequence[EventGroup], *reasons: str) -> list[EventGroup]:
    return [g for g in groups if g.reason in reasons]


def total(groups: Sequence[EventGroup]) -> int:
    return sum(g.count for g in groups)


def for_container(groups: Sequence[EventGroup], container: str, *, init: bool = False) -> list[EventGroup]:
    """Events whose fieldPath points at the container (`spec.containers{name}`), or that name it."""
    path = f"spec.{'initContainers' if init else 'containers'}{{{container}}}"
    return [
        g
        for g in groups
        if g.field_path == path
        or (
            not g.field_path
            and (f"container {container} " in g.message or f"container={container}" in g.message)
        )
    ]

"""`exit <code>` and `exit <pod>`: what a container exit code means, and which containers show it.

`meaning()` is the pure rule (FACTS.md §3) that other verbs reuse (`why` calls it for each
terminated container); `explain()` is the verb.

Sources: bash manual "Exit Status" (126, 127, 128+N), `man 7 signal` (numbers and default actions,
x86/ARM), `sysexits.h` (64-78), containerd CRI `helpers.go` (Completed/Error/OOMKilled/StartError
with 128), kubelet `status_manager.go` (ContainerStatusUnknown with 137), `wait(2)` (raw statuses).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from handlers.errors import NeedsCluster, UsageError
from handlers.lookup import find, parse_ref
from handlers.model import FieldValue, Finding, Note, Phrase, Request, Result, Severity, Target, Text
from handlers.objects import Obj, age, human_duration
from handlers.podstatus import pod_state
from handlers.redact import redact
from handlers.view import ClusterView

#: The shell reports "killed by signal N" as 128 + N (bash manual, "Exit Status").
SIGNAL_BASE: Final = 128
#: Linux signal numbers go up to 64 (SIGRTMAX); 128 + 64 = 192 is the last code a signal can give.
MAX_SIGNAL: Final = 64
#: glibc reserves real-time signals 32 and 33 for its threads and moves SIGRTMIN to 34 (man 7 signal),
#: which is how `kill -l` numbers them: 34 SIGRTMIN, 35 SIGRTMIN+1, ..., 64 SIGRTMAX.
GLIBC_SIGRTMIN: Final = 34

#: man 7 signal, x86/ARM numbering: name and default action (Term, Core, Ign, Stop, Cont).
SIGNALS: Final[dict[int, tuple[str, str]]] = {
    1: ("SIGHUP", "Term"),
    2: ("SIGINT", "Term"),
    3: ("SIGQUIT", "Core"),
    4: ("SIGILL", "Core"),
    5: ("SIGTRAP", "Core"),
    6: ("SIGABRT", "Core"),
    7: ("SIGBUS", "Core"),
    8: ("SIGFPE", "Core"),
    9: ("SIGKILL", "Term"),
    10: ("SIGUSR1", "Term"),
    11: ("SIGSEGV", "Core"),
    12: ("SIGUSR2", "Term"),
    13: ("SIGPIPE", "Term"),
    14: ("SIGALRM", "Term"),
    15: ("SIGTERM", "Term"),
    16: ("SIGSTKFLT", "Term"),
    17: ("SIGCHLD", "Ign"),
    18: ("SIGCONT", "Cont"),
    19: ("SIGSTOP", "Stop"),
    20: ("SIGTSTP", "Stop"),
    21: ("SIGTTIN", "Stop"),
    22: ("SIGTTOU", "Stop"),
    23: ("SIGURG", "Ign"),
    24: ("SIGXCPU", "Core"),
    25: ("SIGXFSZ", "Core"),
    26: ("SIGVTALRM", "Term"),
    27: ("SIGPROF", "Term"),
    28: ("SIGWINCH", "Ign"),
    29: ("SIGIO", "Term"),
    30: ("SIGPWR", "Term"),
    31: ("SIGSYS", "Core"),
}

#: BSD sysexits.h: programs that follow it use 64-78 for these conditions.
SYSEXITS: Final[dict[int, str]] = {
    64: "EX_USAGE",
    65: "EX_DATAERR",
    66: "EX_NOINPUT",
    67: "EX_NOUSER",
    68: "EX_NOHOST",
    69: "EX_UNAVAILABLE",
    70: "EX_SOFTWARE",
    71: "EX_OSERR",
    72: "EX_OSFILE",
    73: "EX_CANTCREAT",
    74: "EX_IOERR",
    75: "EX_TEMPFAIL",
    76: "EX_PROTOCOL",
    77: "EX_NOPERM",
    78: "EX_CONFIG",
}

#: Findings with their own catalogue entry for the most asked-about signals.
_SIGNAL_FINDINGS: Final = {9: "EXIT-SIGKILL", 11: "EXIT-SIGSEGV", 15: "EXIT-SIGTERM"}

#: How many containers `exit <code>` quotes before summarising the rest.
MAX_LISTED: Final = 20

_LIVENESS = re.compile(r"failed (liveness|startup) probe")


def signal_name(n: int) -> str:
    """`SIGKILL` for 9; real-time signals as `kill -l` prints them; "" for 32/33 and beyond 64."""
    if n in SIGNALS:
        return SIGNALS[n][0]
    if n == MAX_SIGNAL:
        return "SIGRTMAX"
    if n == GLIBC_SIGRTMIN:
        return "SIGRTMIN"
    if GLIBC_SIGRTMIN < n < MAX_SIGNAL:
        return f"SIGRTMIN+{n - GLIBC_SIGRTMIN}"
    return ""


def signal_action(n: int) -> str:
    """The default action: Term/Core end the process; Ign, Stop and Cont never do by themselves."""
    if n in SIGNALS:
        return SIGNALS[n][1]
    return "Term" if 32 <= n <= MAX_SIGNAL else ""


@dataclass(frozen=True, slots=True)
class ExitMeaning:
    """What one exit code means. `code` as given; `normalized` as the kernel keeps it (0-255)."""

    code: int
    normalized: int
    #: success | app-error | usage | not-executable | not-found | start-error | signal | oom |
    #: status-unknown | out-of-range
    klass: str
    signal: int
    signal_name: str
    #: man 7 signal default action of `signal` (Term, Core, Ign, Stop, Cont), "" if none.
    signal_action: str
    #: The catalogue code that explains it (EXIT-...).
    finding: str
    reason: str = ""
    #: For codes outside 0-255 that read as a raw wait() status (status >> 8 = exit code).
    wait_exit: int | None = None
    sysexit: str = ""

    @property
    def code_is_huge(self) -> bool:
        """Beyond 16 bits: not a Linux exit or wait status at all (a Windows code, or garbage)."""
        return abs(self.code) > 0xFFFF

    @property
    def is_signal(self) -> bool:
        return self.klass in ("signal", "oom") and self.signal > 0

    def fields(self) -> dict[str, FieldValue]:
        """The catalogue fields every EXIT- entry may use."""
        neg_signal = -self.code if -MAX_SIGNAL <= self.code < 0 else 0
        return {
            "code": self.code,
            "normalized": self.normalized,
            "klass": self.klass,
            "signal": self.signal,
            "signal_name": self.signal_name,
            "signal_action": self.signal_action,
            "fatal": self.signal_action in ("Term", "Core"),
            "core": self.signal_action == "Core",
            "reason": self.reason,
            "wait_exit": self.wait_exit,
            "sysexit": self.sysexit,
            "hex": f"0x{self.code & 0xFFFFFFFF:08X}",
            "negative": self.code < 0,
            "huge": self.code_is_huge,
            "neg_signal": neg_signal,
            "neg_signal_name": signal_name(neg_signal) if neg_signal else "",
        }


def meaning(code: int, reason: str = "", signal: int = 0) -> ExitMeaning:
    """The exact rule for an exit code, refined by the runtime's `reason` and `signal` when known.

    >>> meaning(137).finding, meaning(137, "OOMKilled").klass, meaning(-1).normalized
    ('EXIT-SIGKILL', 'oom', 255)
    """
    norm = code & 0xFF  # exit(-1) -> 255, exit(256) -> 0: the kernel keeps the low 8 bits
    if reason == "OOMKilled":
        sig = 9 if norm == SIGNAL_BASE + 9 else signal
        return ExitMeaning(
            code, norm, "oom", sig, signal_name(sig), signal_action(sig), "EXIT-OOMKILLED", reason
        )
    if reason == "ContainerStatusUnknown":
        return ExitMeaning(code, norm, "status-unknown", 0, "", "", "EXIT-STATUS-UNKNOWN", reason)
    if reason in ("StartError", "ContainerCannotRun"):
        return ExitMeaning(code, norm, "start-error", 0, "", "", "EXIT-START-ERROR", reason)
    if signal > 0:
        return _signal(code, norm, signal, reason)
    if code < 0 or code > 0xFF:
        wait_exit = code >> 8 if code % 256 == 0 and code <= 0xFF00 else None
        return ExitMeaning(code, norm, "out-of-range", 0, "", "", "EXIT-OUT-OF-RANGE", reason, wait_exit)
    if code == 0:
        return ExitMeaning(code, 0, "success", 0, "", "", "EXIT-SUCCESS", reason)
    if code == 1:
        return ExitMeaning(code, 1, "app-error", 0, "", "", "EXIT-GENERIC", reason)
    if code == 2:
        return ExitMeaning(code, 2, "usage", 0, "", "", "EXIT-USAGE", reason)
    if code == 126:
        return ExitMeaning(code, code, "not-executable", 0, "", "", "EXIT-NOT-EXECUTABLE", reason)
    if code == 127:
        return ExitMeaning(code, code, "not-found", 0, "", "", "EXIT-NOT-FOUND", reason)
    if code == SIGNAL_BASE:
        return ExitMeaning(code, code, "start-error", 0, "", "", "EXIT-START-ERROR", reason)
    if code == 255:
        return ExitMeaning(code, code, "out-of-range", 0, "", "", "EXIT-255", reason)
    if SIGNAL_BASE < code <= SIGNAL_BASE + MAX_SIGNAL:
        return _signal(code, norm, code - SIGNAL_BASE, reason)
    return ExitMeaning(code, code, "app-error", 0, "", "", "EXIT-APP", reason, sysexit=SYSEXITS.get(code, ""))


def _signal(code: int, norm: int, sig: int, reason: str) -> ExitMeaning:
    action = signal_action(sig)
    # A signal whose default action is ignore/stop/continue cannot end a process by itself:
    # 128 + 17 (SIGCHLD) or 128 + 19 (SIGSTOP) is a code the program chose.
    klass = "signal" if action in ("Term", "Core") else "app-error"
    finding = _SIGNAL_FINDINGS.get(sig, "EXIT-SIGNAL")
    return ExitMeaning(code, norm, klass, sig, signal_name(sig), action, finding, reason)


# -- the verb ---------------------------------------------------------------------------------


def explain(req: Request, view: ClusterView) -> Result:
    """`exit <code>`: the rule (+ containers that last exited so); `exit <pod>`: each container's."""
    if not req.args:
        raise UsageError("missing_arg", "exit", reason="exit_code_or_pod")
    if len(req.args) > 1:
        raise UsageError("extra_args", "exit", value=" ".join(req.args[1:]))
    code = parse_code(req.args[0])
    if code is not None:
        return _explain_code(req, view, code)
    return _explain_pod(req, view, req.args[0])


def parse_code(text: str) -> int | None:
    """`137`, `-1`, `+3`, `0x89` (Windows codes are often printed in hex); None if not a number."""
    t = text.strip()
    try:
        return int(t, 10)
    except ValueError:
        pass
    body = t.lstrip("+-")
    if body.lower().startswith("0x"):
        try:
            return int(t, 16)
        except ValueError:
            return None
    return None


_NO_CONTEXT: Final[dict[str, FieldValue]] = {
    "container": "",
    "pod": "",
    "ns": "",
    "init": False,
    "where": "",
    "message": "",
    "restarts": 0,
    "restart_policy": "",
    "mem_limit": "",
    "grace": 30,
    "cause": "",
    "ran_for": "",
    "finished": "",
    "finished_ago": "",
}


def _explain_code(req: Request, view: ClusterView, code: int) -> Result:
    m = meaning(code)
    findings = [Finding(m.finding, {**m.fields(), **_NO_CONTEXT})]
    wanted = {code}
    if m.finding == "EXIT-OUT-OF-RANGE" and (m.wait_exit is not None or not m.code_is_huge):
        # Follow with the code the process most likely really exited with.
        follow = meaning(m.wait_exit if m.wait_exit is not None else m.normalized)
        findings.append(Finding(follow.finding, {**follow.fields(), **_NO_CONTEXT}))
        wanted.add(follow.code)
    notes: list[Note] = []
    if view.has_data:
        findings.append(_containers_with(req, view, code, wanted))
    else:
        notes.append(Note("OFFLINE"))
    return Result.answer(req, target=Target("ExitCode", name=str(code)), findings=findings, notes=notes)


@dataclass(frozen=True, slots=True)
class _Termination:
    pod: Obj
    container: str
    init: bool
    where: str  # "state" (terminated now) or "lastState" (the previous instance)
    term: Obj
    restarts: int


def _terminations(pod: Obj) -> list[_Termination]:
    out: list[_Termination] = []
    for key, init in (
        ("initContainerStatuses", True),
        ("containerStatuses", False),
        ("ephemeralContainerStatuses", False),
    ):
        for st in pod.children("status", key):
            if st.has("state", "terminated"):
                term, where = st.child("state", "terminated"), "state"
            elif st.has("lastState", "terminated"):
                term, where = st.child("lastState", "terminated"), "lastState"
            else:
                continue
            out.append(_Termination(pod, st.text("name"), init, where, term, st.num("restartCount")))
    return out


def _containers_with(req: Request, view: ClusterView, code: int, wanted: set[int]) -> Finding:
    scope = req.namespace
    pods = view.soft_list("Pod", scope)
    hits = [t for p in pods for t in _terminations(p) if t.term.num("exitCode") in wanted]
    hits.sort(key=lambda t: (t.term.text("finishedAt"), t.pod.ref, t.container), reverse=True)
    evidence = [_termination_line(t, req.now) for t in hits[:MAX_LISTED]]
    fields: dict[str, FieldValue] = {
        "code": code,
        "scope": scope or "",
        "count": len(hits),
        "oom": sum(1 for t in hits if t.term.text("reason") == "OOMKilled"),
        "pods": len(pods),
        "more": max(0, len(hits) - MAX_LISTED),
        "first_ns": hits[0].pod.namespace if hits else "",
        "first_pod": hits[0].pod.name if hits else "",
        "first_container": hits[0].container if hits else "",
        "first_previous": bool(hits) and hits[0].where == "lastState",
    }
    if not hits:
        return Finding("EXIT-NO-CONTAINERS", fields)
    return Finding("EXIT-CONTAINERS", fields, evidence=tuple(evidence))


def _termination_line(t: _Termination, now: datetime) -> Phrase:
    term = t.term
    finished = term.time("finishedAt")
    return Phrase(
        "EV-EXIT-TERMINATION",
        {
            "pod": t.pod.ref,
            "container": t.container,
            "init": t.init,
            "code": term.num("exitCode"),
            "reason": term.text("reason") or "-",
            "ago": age(finished, now) if finished else "",
            "restarts": t.restarts,
            "where": t.where,
        },
    )


def _explain_pod(req: Request, view: ClusterView, text: str) -> Result:
    if not view.has_data:
        raise NeedsCluster("exit")
    ref = parse_ref(text, req.namespace)
    if ref.kind not in (None, "Pod"):
        raise UsageError("bad_arg", "exit", reason="exit_arg", value=text)
    pod = find(view, "Pod", ref, req)
    events = view.events(pod)
    by_name = {t.container: t for t in _terminations(pod)}
    findings: list[Finding] = []
    for spec, init in _container_specs(pod):
        name = spec.text("name")
        t = by_name.get(name)
        if t is None:
            findings.append(_not_terminated(pod, name, init))
            continue
        findings.append(_container_finding(req, pod, spec, t, events))
    return Result.answer(
        req,
        target=Target("Pod", pod.namespace, pod.name),
        status=pod_state(pod).status,
        findings=findings,
    )


def _container_specs(pod: Obj) -> list[tuple[Obj, bool]]:
    return [
        *((c, True) for c in pod.children("spec", "initContainers")),
        *((c, False) for c in pod.children("spec", "containers")),
        *((c, False) for c in pod.children("spec", "ephemeralContainers")),
    ]


def _status_of(pod: Obj, name: str) -> Obj:
    for key in ("initContainerStatuses", "containerStatuses", "ephemeralContainerStatuses"):
        for st in pod.children("status", key):
            if st.text("name") == name:
                return st
    return Obj()


def _not_terminated(pod: Obj, name: str, init: bool) -> Finding:
    st = _status_of(pod, name)
    state = st.child("state")
    if state.has("running"):
        now_state = "running"
    elif state.has("waiting"):
        now_state = state.text("waiting", "reason") or "waiting"
    else:
        now_state = ""  # no status yet: the template says so
    return Finding(
        "EXIT-NOT-TERMINATED",
        {
            "container": name,
            "pod": pod.name,
            "ns": pod.namespace,
            "init": init,
            "state": now_state,
            "restarts": st.num("restartCount"),
        },
    )


def _container_finding(req: Request, pod: Obj, spec: Obj, t: _Termination, events: Sequence[Obj]) -> Finding:
    term = t.term
    m = meaning(term.num("exitCode"), term.text("reason"), term.num("signal"))
    started, finished = term.time("startedAt"), term.time("finishedAt")
    # containerd reports startedAt 1970-01-01 for a process that never started (StartError).
    ran_for = (
        human_duration((finished - started).total_seconds())
        if started and finished and started.year > 1970 and finished >= started
        else ""
    )
    # A plain init container runs once; only sidecars (restartPolicy Always on the init container)
    # and main containers follow a restart policy (the pod's, default Always).
    restart_policy = spec.text("restartPolicy") or (
        "" if t.init else pod.text("spec", "restartPolicy") or "Always"
    )
    grace = pod.num("spec", "terminationGracePeriodSeconds", default=30)
    related = _related_events(events, t.container)
    message = redact(term.text("message").strip())
    fields: dict[str, FieldValue] = {
        **m.fields(),
        "container": t.container,
        "pod": pod.name,
        "ns": pod.namespace,
        "init": t.init,
        "where": t.where,
        "message": message[:300],
        "restarts": t.restarts,
        "restart_policy": restart_policy,
        "mem_limit": spec.text("resources", "limits", "memory"),
        "grace": grace,
        "cause": _cause(pod, related) if m.code != 0 else "",
        "ran_for": ran_for,
        "finished": term.text("finishedAt"),
        "finished_ago": age(finished, req.now) if finished else "",
    }
    evidence: list[Text] = [
        Phrase(
            "EV-EXIT-TERMINATED",
            {
                "where": t.where,
                "code": term.num("exitCode"),
                "reason": term.text("reason") or "-",
                "signal": term.num("signal"),
                "started": term.text("startedAt") or "-",
                "finished": term.text("finishedAt") or "-",
                "ran": ran_for,
            },
        )
    ]
    if message:
        evidence.append(f"message: {' '.join(message.split())[:500]}")
    if pod.text("status", "reason"):
        evidence.append(f"pod status.reason={pod.text('status', 'reason')}: {pod.text('status', 'message')}")
    evidence += [_event_line(ev, req.now) for ev in related[-5:]]
    return Finding(m.finding, fields, evidence=tuple(evidence), severity=_severity(m, t, pod))


def _severity(m: ExitMeaning, t: _Termination, pod: Obj) -> Severity:
    """Error while the container is down because of it (or was OOM-killed); warning once recovered."""
    if m.klass == "success":
        return Severity.INFO
    if m.klass == "status-unknown":
        return Severity.WARNING
    if m.klass == "oom":
        return Severity.ERROR
    state = _status_of(pod, t.container).child("state")
    if state.has("running"):
        return Severity.WARNING
    return Severity.ERROR


_EVENT_REASONS: Final = frozenset(
    {
        "Killing",
        "Unhealthy",
        "Evicted",
        "Preempting",
        "ExceededGracePeriod",
        "BackOff",
        "Failed",
        "OOMKilling",
    }
)


def _related_events(events: Sequence[Obj], container: str) -> list[Obj]:
    out: list[Obj] = []
    for ev in events:
        if ev.text("reason") not in _EVENT_REASONS:
            continue
        path = ev.text("involvedObject", "fieldPath")
        if path and not path.endswith(f"{{{container}}}"):
            continue
        out.append(ev)
    return out


def _event_line(ev: Obj, now: datetime) -> Phrase:
    last = ev.time("lastTimestamp") or ev.time("eventTime") or ev.time("firstTimestamp")
    return Phrase(
        "EV-EXIT-EVENT",
        {
            "reason": ev.text("reason"),
            "message": redact(ev.text("message")),
            "count": ev.num("count", default=1),
            "ago": age(last, now) if last else "",
        },
    )


def _cause(pod: Obj, events: Sequence[Obj]) -> str:
    """Why something stopped the container, from the pod's status and events (most specific first)."""
    status_reason = pod.text("status", "reason")
    if status_reason == "Evicted":
        return "evicted"
    if any(ev.text("reason") == "Preempting" for ev in events):
        return "preempted"
    if status_reason == "DeadlineExceeded":
        return "deadline"
    for ev in reversed(events):
        if ev.text("reason") == "Killing" and (m := _LIVENESS.search(ev.text("message"))):
            return m.group(1)  # liveness | startup
    if pod.has("metadata", "deletionTimestamp"):
        return "deleting"
    if any(ev.text("reason") == "Killing" for ev in events):
        return "stopped"
    return ""

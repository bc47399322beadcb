"""The values that flow through a question: Request in, Result out.

Query modules build these and nothing else; `bot/` renders them. Findings carry a stable code from
the catalogue (`templates/knowledge/findings/*.yaml`) plus the fields its sentences need, so the
words live in templates and the facts in Python.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

FieldValue = str | int | float | bool | None | tuple[str, ...] | tuple[int, ...]


class Severity(StrEnum):
    """How bad a finding is; the JSON contract spells these in lower case."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True, slots=True)
class Target:
    """What the question is about: `Pod logging/es-0`, `Service shop/web`, or a bare value."""

    kind: str
    namespace: str | None = None
    name: str | None = None

    @property
    def display(self) -> str:
        if self.namespace and self.name:
            return f"{self.namespace}/{self.name}"
        return self.name or ""


@dataclass(frozen=True, slots=True)
class Note:
    """Something the answer could not see or had to assume (rendered from the catalogue's notes)."""

    code: str
    fields: Mapping[str, FieldValue] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Phrase:
    """Words inside evidence or a "looked at" list, worded by the catalogue
    (`templates/knowledge/phrases/*.yaml`, one jinja2 template per code) in the asker's language:
    `Phrase("EV-NOT-FOUND", {"kind": "ConfigMap", "ref": "shop/app"})`. Evidence that only quotes
    the cluster (field names and values, kubectl's own columns) stays a plain string."""

    code: str
    fields: Mapping[str, FieldValue] = field(default_factory=dict)


#: A line of evidence or an entry of `searched`: data as it is, or a Phrase to word.
Text = str | Phrase


@dataclass(frozen=True, slots=True)
class Finding:
    """One fact about the target: a catalogue code, the values its sentences need, the evidence."""

    code: str
    fields: Mapping[str, FieldValue] = field(default_factory=dict)
    evidence: tuple[Text, ...] = ()
    #: Commands computed from the cluster, appended after the catalogue's own next steps.
    commands: tuple[str, ...] = ()
    #: Overrides the catalogue's severity when the same code can be more or less serious.
    severity: Severity | None = None


@dataclass(frozen=True, slots=True)
class Request:
    """A parsed question. Everything a query module may know about the asker and the clock."""

    verb: str
    args: tuple[str, ...] = ()
    namespace: str | None = None
    query: str = ""
    cluster: str | None = None
    fresh: bool = False
    lang: str = "en"
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    #: The channel's bound namespace (Slack) or the kubeconfig context's namespace (CLI).
    bound_namespace: str | None = None
    cluster_domain: str = "cluster.local"

    @property
    def lookup_order(self) -> tuple[str | None, ...]:
        """Namespaces to search for a bare name, in order; `None` means all namespaces."""
        if self.namespace:
            return (self.namespace,)
        order: list[str | None] = []
        for ns in (self.bound_namespace, "default"):
            if ns and ns not in order:
                order.append(ns)
        order.append(None)
        return tuple(order)


@dataclass(frozen=True, slots=True)
class Result:
    """The answer: the target, its one-line state, the findings, and what was looked at."""

    verb: str
    query: str
    target: Target | None = None
    status: str | None = None
    findings: tuple[Finding, ...] = ()
    #: Where we looked (namespaces, object refs), for "nothing found" answers.
    searched: tuple[Text, ...] = ()
    notes: tuple[Note, ...] = ()
    partial: bool = False

    @classmethod
    def answer(
        cls,
        req: Request,
        *,
        target: Target | None = None,
        status: str | None = None,
        findings: tuple[Finding, ...] | list[Finding] = (),
        searched: tuple[Text, ...] | list[Text] | list[str] = (),
        notes: tuple[Note, ...] | list[Note] = (),
    ) -> Result:
        return cls(
            verb=req.verb,
            query=req.query,
            target=target,
            status=status,
            findings=tuple(findings),
            searched=tuple(searched),
            notes=tuple(notes),
            partial=bool(notes) and any(n.code.startswith("PARTIAL-") for n in notes),
        )

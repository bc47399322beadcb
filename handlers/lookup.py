"""Finding the object a user named: `es-0`, `logging/es-0`, `deploy/web`, `shop/svc/web`.

Order (CONTRACT.md): the namespace given with -n or inline; else the channel's bound namespace, then
`default`, then all namespaces. Several matches across namespaces -> Ambiguous (listed for the
user to choose); none -> NotFound with what was searched and close names (did you mean).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from handlers.errors import Ambiguous, NotFound, UsageError
from handlers.kinds import ALIASES
from handlers.model import Request
from handlers.objects import Obj
from handlers.view import ClusterView


@dataclass(frozen=True, slots=True)
class Ref:
    """What the user typed, split: an optional kind, an optional namespace, a name."""

    name: str
    kind: str | None = None
    namespace: str | None = None


def parse_ref(text: str, namespace: str | None = None) -> Ref:
    """`es-0` | `logging/es-0` | `deploy/web` | `shop/deploy/web` | `deploy/shop/web` | `pod/es-0`.

    A first part that is a kind alias (`deploy`, `sts`, `svc`, `pod`, ...) is a kind; otherwise it
    is a namespace. `-n` given on the command line wins over nothing but is overridden by an inline
    namespace only if they agree (a conflict is a usage error).
    """
    parts = [p for p in text.strip().split("/") if p]
    if not parts:
        raise UsageError("missing_arg", reason="name")
    kind: str | None = None
    ns: str | None = None
    if len(parts) == 1:
        name = parts[0]
    elif len(parts) == 2:
        first = parts[0].lower()
        if first in ALIASES:
            kind, name = ALIASES[first], parts[1]
        else:
            ns, name = parts[0], parts[1]
    elif len(parts) == 3:
        if parts[0].lower() in ALIASES:
            kind, ns, name = ALIASES[parts[0].lower()], parts[1], parts[2]
        elif parts[1].lower() in ALIASES:
            ns, kind, name = parts[0], ALIASES[parts[1].lower()], parts[2]
        else:
            raise UsageError("bad_arg", reason="unreadable_ref", value=text)
    else:
        raise UsageError("bad_arg", reason="unreadable_ref", value=text)
    if ns and namespace and ns != namespace:
        raise UsageError("bad_arg", reason="namespace_conflict", value=text, other=f"{ns}/{namespace}")
    return Ref(name=name, kind=kind, namespace=ns or namespace)


def lookup_order(req: Request, ref: Ref) -> tuple[str | None, ...]:
    if ref.namespace:
        return (ref.namespace,)
    return req.lookup_order


def find(view: ClusterView, kind: str, ref: Ref, req: Request) -> Obj:
    """The one object of `kind` the user meant, or NotFound / Ambiguous."""
    order = lookup_order(req, ref)
    for ns in order:
        if ns is not None:
            obj = view.get(kind, ns, ref.name)
            if obj is not None:
                return obj
            continue
        matches = [o for o in view.list(kind) if o.name == ref.name]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            raise Ambiguous(kind, ref.name, sorted(o.ref for o in matches), req.verb)
    raise NotFound(kind, ref.name, order, close_names(view, kind, ref.name, order))


def close_names(view: ClusterView, kind: str, name: str, order: tuple[str | None, ...]) -> list[str]:
    """Did-you-mean candidates as `ns/name`, same namespace first, then anywhere."""
    scoped = [ns for ns in order if ns is not None]
    near: list[str] = []
    for ns in scoped:
        names = [o.name for o in view.soft_list(kind, ns)]
        near += [f"{ns}/{n}" for n in difflib.get_close_matches(name, names, n=3, cutoff=0.6)]
    if len(near) < 3:
        everywhere = {o.name: o.ref for o in view.soft_list(kind)}
        for n in difflib.get_close_matches(name, list(everywhere), n=3, cutoff=0.6):
            if everywhere[n] not in near:
                near.append(everywhere[n])
    return near[:3]

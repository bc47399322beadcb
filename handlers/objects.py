"""Typed, read-only access to Kubernetes objects as the API returns them (plain JSON mappings).

`bot/` hands query modules `Obj` wrappers instead of raw dicts so that no `Any` leaks into
`handlers/`: every read says what type it expects and gets a safe default when the field is absent,
the way `kubectl describe` prints `<none>` instead of failing.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime

Path = str | int


def _walk(raw: object, path: Sequence[Path]) -> object:
    cur = raw
    for key in path:
        if isinstance(key, int):
            if isinstance(cur, list) and -len(cur) <= key < len(cur):
                cur = cur[key]
            else:
                return None
        elif isinstance(cur, Mapping):
            cur = cur.get(key)
        else:
            return None
    return cur


class Obj:
    """A Kubernetes object (or any sub-mapping of one) with typed getters."""

    __slots__ = ("raw",)

    def __init__(self, raw: Mapping[str, object] | None = None) -> None:
        self.raw: Mapping[str, object] = raw if raw is not None else {}

    # -- generic typed getters -------------------------------------------------
    def get(self, *path: Path) -> object:
        return _walk(self.raw, path)

    def text(self, *path: Path, default: str = "") -> str:
        value = _walk(self.raw, path)
        if value is None or isinstance(value, Mapping | list):
            return default
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    def num(self, *path: Path, default: int = 0) -> int:
        value = _walk(self.raw, path)
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, int):
            return value
        if isinstance(value, float):
            return int(value)
        if isinstance(value, str):
            try:
                return int(value)
            except ValueError:
                return default
        return default

    def flag(self, *path: Path, default: bool = False) -> bool:
        value = _walk(self.raw, path)
        if isinstance(value, bool):
            return value
        if isinstance(value, str):
            return value.lower() == "true"
        return default

    def has(self, *path: Path) -> bool:
        return _walk(self.raw, path) is not None

    def child(self, *path: Path) -> Obj:
        value = _walk(self.raw, path)
        return Obj(value) if isinstance(value, Mapping) else Obj()

    def children(self, *path: Path) -> list[Obj]:
        value = _walk(self.raw, path)
        if not isinstance(value, list):
            return []
        return [Obj(v) for v in value if isinstance(v, Mapping)]

    def strings(self, *path: Path) -> list[str]:
        value = _walk(self.raw, path)
        if not isinstance(value, list):
            return []
        return [str(v) for v in value if v is not None]

    def mapping(self, *path: Path) -> dict[str, str]:
        value = _walk(self.raw, path)
        if not isinstance(value, Mapping):
            return {}
        return {str(k): "" if v is None else str(v) for k, v in value.items()}

    def time(self, *path: Path) -> datetime | None:
        return parse_time(self.text(*path))

    def __bool__(self) -> bool:
        return bool(self.raw)

    def __iter__(self) -> Iterator[str]:
        return iter(self.raw)

    def __repr__(self) -> str:
        if self.kind or self.name:
            return f"Obj({self.kind} {self.ref})"
        return f"Obj({dict(self.raw)!r})"

    # -- metadata shortcuts ----------------------------------------------------
    @property
    def kind(self) -> str:
        return self.text("kind")

    @property
    def api_version(self) -> str:
        return self.text("apiVersion")

    @property
    def name(self) -> str:
        return self.text("metadata", "name")

    @property
    def namespace(self) -> str:
        return self.text("metadata", "namespace")

    @property
    def uid(self) -> str:
        return self.text("metadata", "uid")

    @property
    def ref(self) -> str:
        """`ns/name` for namespaced objects, `name` otherwise: the one spelling used everywhere."""
        return f"{self.namespace}/{self.name}" if self.namespace else self.name

    @property
    def labels(self) -> dict[str, str]:
        return self.mapping("metadata", "labels")

    @property
    def annotations(self) -> dict[str, str]:
        return self.mapping("metadata", "annotations")

    @property
    def created(self) -> datetime | None:
        return self.time("metadata", "creationTimestamp")

    @property
    def owner_refs(self) -> list[Obj]:
        return self.children("metadata", "ownerReferences")

    @property
    def controller(self) -> Obj:
        """The ownerReference with `controller: true` (or the only one), else an empty Obj."""
        refs = self.owner_refs
        for ref in refs:
            if ref.flag("controller"):
                return ref
        return refs[0] if len(refs) == 1 else Obj()


def parse_time(value: str) -> datetime | None:
    """RFC 3339 as the API writes it (`2026-11-25T10:00:00Z`, optionally with fractions)."""
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def human_duration(seconds: float) -> str:
    """Duration the way kubectl prints ages: `45s`, `5m3s`, `3h12m`, `4d2h`, `2y3d`.

    Follows `k8s.io/apimachinery/pkg/util/duration.HumanDuration`.
    """
    s = int(seconds)
    s = max(s, 0)
    if s < 60 * 2:
        return f"{s}s"
    minutes = s // 60
    if minutes < 10:
        rest = s % 60
        return f"{minutes}m{rest}s" if rest else f"{minutes}m"
    if minutes < 60 * 3:
        return f"{minutes}m"
    hours = s // 3600
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h{rest}m" if rest else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rest = hours % 24
        return f"{hours // 24}d{rest}h" if rest else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        return f"{hours // 24 // 365}y{days}d" if days else f"{hours // 24 // 365}y"
    return f"{hours // 24 // 365}y"


def age(then: datetime | None, now: datetime) -> str:
    """`human_duration(now - then)`, or `<unknown>` as kubectl prints it."""
    if then is None:
        return "<unknown>"
    return human_duration((now - then).total_seconds())

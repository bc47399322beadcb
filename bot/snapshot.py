"""ClusterView over saved files: `kubectl get -o yaml|json`, multi-document YAML, `kind: List`,
single objects, and `kubectl cluster-info dump` output (one stream, or an --output-directory tree).

Logs come from `cluster-info dump` log sections (`==== START logs for container C of pod NS/P ====`)
or from the project's own `kind: PodLog` documents (see README, "Snapshots").
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any

import yaml

from bot.viewbase import BaseView, involves, matches_labels
from handlers.errors import SnapshotError
from handlers.kinds import KINDS
from handlers.objects import Obj, parse_time

_SUFFIXES = {".yaml", ".yml", ".json", ".txt", ".log", ".dump"}
#: In a folder, these are read only when they hold `cluster-info dump` log sections (a README.txt
#: next to the YAML is not part of the snapshot).
_TEXT_SUFFIXES = {".txt", ".log"}
# kubectl cluster-info dump (staging/src/k8s.io/kubectl/pkg/cmd/clusterinfo/clusterinfo_dump.go).
_LOG_START = re.compile(r"^==== START logs for container (\S+) of pod ([^/\s]+)/(\S+) ====$", re.M)
_TIME_KEYS = (
    "creationTimestamp",
    "lastTimestamp",
    "firstTimestamp",
    "eventTime",
    "lastTransitionTime",
    "startedAt",
    "finishedAt",
    "startTime",
    "lastHeartbeatTime",
    "lastProbeTime",
    "deletionTimestamp",
)

try:  # libyaml is much faster on large snapshots; fall back to the pure-Python loader.
    _Loader: Any = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - depends on how PyYAML was built
    _Loader = yaml.SafeLoader


def _item_kind(list_kind: str) -> str:
    return list_kind[: -len("List")] if list_kind.endswith("List") and list_kind != "List" else ""


def normalise(
    doc: Mapping[str, Any], *, default_kind: str = "", default_api_version: str = ""
) -> Iterator[dict[str, Any]]:
    """Flatten Lists and convert events.k8s.io Events to the core/v1 shape the handlers read.

    Items of a typed list (`PodList`, as the API and `cluster-info dump` send them) have no kind
    or apiVersion of their own: they get the list's.
    """
    kind = str(doc.get("kind") or default_kind)
    if kind == "List" or ((kind.endswith("List") or not kind) and isinstance(doc.get("items"), list)):
        inner = _item_kind(kind)
        api_version = str(doc.get("apiVersion") or "") if inner else ""
        for item in doc.get("items") or []:
            if isinstance(item, Mapping):
                yield from normalise(item, default_kind=inner, default_api_version=api_version)
        return
    obj = dict(doc)
    if kind:
        obj["kind"] = kind
    if default_api_version and not obj.get("apiVersion"):
        obj["apiVersion"] = default_api_version
    if kind == "Event" and str(obj.get("apiVersion", "")).startswith("events.k8s.io"):
        obj = _core_event(obj)
    yield obj


def _list_item_kinds(doc: Mapping[str, Any]) -> Iterator[str]:
    """The kinds the items of a List will get (empty for an item nobody names)."""
    inner = _item_kind(str(doc.get("kind") or ""))
    for item in doc.get("items") or []:
        if isinstance(item, Mapping):
            yield str(item.get("kind") or inner)


def _core_event(ev: dict[str, Any]) -> dict[str, Any]:
    """events.k8s.io/v1 -> core/v1 field names (regarding->involvedObject, note->message, ...)."""
    out = dict(ev)
    out["apiVersion"] = "v1"  # the shape is core/v1's now, as the API serves the same event there
    out.setdefault("involvedObject", ev.get("regarding") or {})
    out.setdefault("message", ev.get("note", ""))
    out.setdefault("count", (ev.get("series") or {}).get("count") or ev.get("deprecatedCount") or 1)
    out.setdefault("firstTimestamp", ev.get("deprecatedFirstTimestamp") or ev.get("eventTime"))
    out.setdefault(
        "lastTimestamp",
        (ev.get("series") or {}).get("lastObservedTime")
        or ev.get("deprecatedLastTimestamp")
        or ev.get("eventTime"),
    )
    out.setdefault(
        "source",
        ev.get("deprecatedSource")
        or {"component": ev.get("reportingController", ""), "host": ev.get("reportingInstance", "")},
    )
    out.setdefault("reportingComponent", ev.get("reportingController", ""))
    return out


class Snapshot:
    """Objects and logs parsed from files, indexed by kind."""

    def __init__(self) -> None:
        self.objects: dict[str, list[Obj]] = defaultdict(list)
        #: (namespace, pod, container, previous) -> text
        self.logs: dict[tuple[str, str, str, bool], str] = {}
        self.sources: list[str] = []

    # -- loading --------------------------------------------------------------------------
    @classmethod
    def load(cls, paths: Iterable[str | Path]) -> Snapshot:
        snap = cls()
        for p in paths:
            path = Path(p)
            if not path.exists():
                raise SnapshotError(str(path), None, "no such file or directory")
            if path.is_dir():
                files = sorted(
                    f
                    for f in path.rglob("*")
                    if f.is_file()
                    and f.suffix in _SUFFIXES
                    and not any(part.startswith(".") for part in f.relative_to(path).parts)
                )
                if not files:
                    raise SnapshotError(str(path), None, "no .yaml, .yml or .json files in this folder")
            else:
                files = [path]
            before = snap._count()
            for f in files:
                snap._load_file(f, in_folder=path.is_dir())
            if snap._count() == before:
                raise SnapshotError(str(path), None, "no Kubernetes objects or logs in it")
            snap.sources.append(str(path))
        return snap

    def _count(self) -> int:
        return sum(len(v) for v in self.objects.values()) + len(self.logs)

    def _load_file(self, path: Path, *, in_folder: bool = False) -> None:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise SnapshotError(str(path), None, "not a text file (expected YAML or JSON)") from None
        except OSError as err:
            raise SnapshotError(str(path), None, f"cannot read: {err.strerror or err}") from None
        if _LOG_START.search(text):
            # `cluster-info dump` output: log sections between the JSON Lists (stdout), or a
            # <ns>/<pod>/logs.txt file (--output-directory). What remains is objects.
            text = self._take_log_sections(text)
            if not text.strip():
                return
        elif in_folder and path.suffix in _TEXT_SUFFIXES:
            return
        if text.lstrip().startswith(("{", "[")):
            self._load_json_stream(path, text)
        else:
            self._load_yaml(path, text)

    def _load_yaml(self, path: Path, text: str) -> None:
        try:
            docs = list(yaml.load_all(text, Loader=_Loader))
        except yaml.MarkedYAMLError as err:
            mark = err.problem_mark or err.context_mark
            line = mark.line + 1 if mark else None
            raise SnapshotError(str(path), line, str(err.problem or err.context or err).strip()) from None
        except yaml.YAMLError as err:
            raise SnapshotError(str(path), None, " ".join(str(err).split())) from None
        for i, doc in enumerate(docs):
            if doc is None:
                continue
            self._add(doc, path, partial(_yaml_doc_line, text, i))

    def _load_json_stream(self, path: Path, text: str) -> None:
        """One JSON document, or `cluster-info dump`'s concatenated Lists (log sections already taken)."""
        decoder = json.JSONDecoder()
        pos, end = 0, len(text)
        while pos < end:
            while pos < end and text[pos].isspace():
                pos += 1
            if pos >= end:
                break
            start = pos
            try:
                doc, pos = decoder.raw_decode(text, pos)
            except json.JSONDecodeError as err:
                raise SnapshotError(str(path), err.lineno, err.msg) from None
            line = text.count("\n", 0, start) + 1
            for d in doc if isinstance(doc, list) else [doc]:
                self._add(d, path, partial(_same, line))

    def _add(self, doc: object, path: Path, line: Callable[[], int | None]) -> None:
        """One parsed document; `line` finds where it starts (only computed for an error)."""
        if not isinstance(doc, Mapping):
            raise SnapshotError(str(path), line(), "expected Kubernetes objects (mappings with `kind`)")
        if doc.get("kind") == "PodLog":
            meta = doc.get("metadata") or {}
            key = (
                str(meta.get("namespace", "")),
                str(meta.get("name", "")),
                str(doc.get("container", "")),
                bool(doc.get("previous", False)),
            )
            self.logs[key] = str(doc.get("text", ""))
            return
        if "kind" not in doc and "items" not in doc:
            raise SnapshotError(
                str(path), line(), "a document has no `kind`: is this `kubectl get -o yaml` output?"
            )
        if "items" in doc and "" in _list_item_kinds(doc):
            raise SnapshotError(str(path), line(), "a List item has no `kind`")
        for obj in normalise(doc):
            if obj.get("kind") == "PodLog":  # PodLogs inside a `kind: List` (examples/cluster/logs.yaml)
                self._add(obj, path, line)
                continue
            meta = obj.get("metadata")
            if not isinstance(meta, Mapping) or not meta.get("name"):
                raise SnapshotError(
                    str(path),
                    line(),
                    f"a `{obj['kind']}` without metadata.name is not an object from the API",
                )
            self.objects[obj["kind"]].append(Obj(obj))

    def _take_log_sections(self, text: str) -> str:
        """Record the log sections; return the text with each section blanked (line numbers kept)."""
        out: list[str] = []
        pos = 0
        for m in _LOG_START.finditer(text):
            if m.start() < pos:
                continue  # a START line inside a section we already took
            container, ns, pod = m.group(1), m.group(2), m.group(3)
            end_marker = f"==== END logs for container {container} of pod {ns}/{pod} ===="
            body_end = text.find(end_marker, m.end())
            if body_end < 0:  # a dump cut short: the log runs to the next section or the end
                nxt = _LOG_START.search(text, m.end())
                body_end = nxt.start() if nxt else len(text)
                stop = body_end
            else:
                eol = text.find("\n", body_end)
                stop = len(text) if eol < 0 else eol + 1
            self.logs[(ns, pod, container, False)] = text[m.end() + 1 : body_end]
            out.append(text[pos : m.start()])
            out.append("\n" * text.count("\n", m.start(), stop))
            pos = stop
        out.append(text[pos:])
        return "".join(out)

    def newest_time(self) -> datetime | None:
        newest: datetime | None = None
        stack: list[object] = [o.raw for objs in self.objects.values() for o in objs]
        while stack:
            cur = stack.pop()
            if isinstance(cur, Mapping):
                for k, v in cur.items():
                    if k in _TIME_KEYS and isinstance(v, str):
                        t = parse_time(v)
                        if t and (newest is None or t > newest):
                            newest = t
                    elif isinstance(v, Mapping | list):
                        stack.append(v)
            elif isinstance(cur, list):
                stack.extend(cur)
        return newest


class SnapshotView(BaseView):
    """ClusterView over a loaded Snapshot. Reads never fail: a snapshot has what it has."""

    def __init__(self, snapshot: Snapshot, name: str = "snapshot") -> None:
        super().__init__()
        self._snap = snapshot
        self._name = name
        self._taken_at = snapshot.newest_time()
        self._by_name: dict[tuple[str, str, str], Obj] = {}
        for kind, objs in snapshot.objects.items():
            for o in objs:
                self._by_name[(kind, o.namespace, o.name)] = o
        self._events_by_uid: dict[str, list[Obj]] = defaultdict(list)
        for ev in snapshot.objects.get("Event", ()):
            self._events_by_uid[ev.text("involvedObject", "uid")].append(ev)

    def fork(self) -> SnapshotView:
        """A view sharing this one's indexes, with notes of its own (one per answer)."""
        twin = object.__new__(SnapshotView)
        BaseView.__init__(twin)
        twin._snap, twin._name, twin._taken_at = self._snap, self._name, self._taken_at
        twin._by_name, twin._events_by_uid = self._by_name, self._events_by_uid
        return twin

    @property
    def name(self) -> str:
        return self._name

    @property
    def has_data(self) -> bool:
        return True

    @property
    def taken_at(self) -> datetime | None:
        return self._taken_at

    def get(self, kind: str, namespace: str | None, name: str) -> Obj | None:
        ns = (namespace or "") if kind in KINDS and KINDS[kind].namespaced else ""
        return self._by_name.get((kind, ns, name))

    def list(
        self, kind: str, namespace: str | None = None, *, labels: Mapping[str, str] | None = None
    ) -> Sequence[Obj]:
        return [
            o
            for o in self._snap.objects.get(kind, ())
            if (namespace is None or o.namespace == namespace) and matches_labels(o, labels)
        ]

    def _events_for(self, obj: Obj) -> Sequence[Obj]:
        if obj.uid and obj.uid in self._events_by_uid:
            return self._events_by_uid[obj.uid]
        return [e for e in self._snap.objects.get("Event", ()) if involves(e, obj)]

    def log(self, namespace: str, pod: str, container: str, *, previous: bool, tail: int = 50) -> str | None:
        text = self._snap.logs.get((namespace, pod, container, previous))
        if text is None:
            return None
        lines = text.splitlines()
        return "\n".join(lines[-tail:]) if tail > 0 else text

    def namespaces(self) -> Sequence[str]:
        names = {o.name for o in self._snap.objects.get("Namespace", ())}
        for kind, objs in self._snap.objects.items():
            if kind in KINDS and KINDS[kind].namespaced:
                names.update(o.namespace for o in objs if o.namespace)
        return sorted(names)


class EmptyView(BaseView):
    """No cluster and no snapshot: offline questions work, the others get NeedsCluster."""

    @property
    def name(self) -> str:
        return "offline"

    @property
    def has_data(self) -> bool:
        return False

    @property
    def taken_at(self) -> datetime | None:
        return None

    def get(self, kind: str, namespace: str | None, name: str) -> Obj | None:
        return None

    def list(
        self, kind: str, namespace: str | None = None, *, labels: Mapping[str, str] | None = None
    ) -> Sequence[Obj]:
        return ()

    def log(self, namespace: str, pod: str, container: str, *, previous: bool, tail: int = 50) -> str | None:
        return None

    def namespaces(self) -> Sequence[str]:
        return ()


def _same(line: int) -> int:
    return line


def _yaml_doc_line(text: str, index: int) -> int | None:
    """The 1-based line where the `index`th document of a YAML stream starts (error paths only)."""
    try:
        for i, node in enumerate(yaml.compose_all(text, Loader=_Loader)):
            if i == index:
                return int(node.start_mark.line) + 1 if node is not None else None
    except yaml.YAMLError:
        return None
    return None

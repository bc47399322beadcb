"""A fake Kubernetes API server over real HTTP, serving the objects of snapshot files.

It answers the way kube-apiserver does, so the live cluster view is tested through the real
`kubernetes` client and never a mock:

- the real REST paths of every kind in `handlers/kinds.py` (core `/api/v1`, `/apis/<group>/v1`),
  namespaced and all-namespaces lists, get by name, `pods/{name}/log`, minimal discovery
  (`/api`, `/apis`, `/api/v1`, `/apis/<group>/v1`, `/version`);
- lists shaped as the server sends them: `{"kind": "PodList", "apiVersion": "v1", "metadata":
  {"resourceVersion", "continue", "remainingItemCount"}, "items": [...]}`, items WITHOUT
  kind/apiVersion (kubectl adds those client-side), ordered by etcd key (`ns/name`);
- `labelSelector` (`a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`, `a>1`, `a<1`),
  `fieldSelector` with the fields the real server supports per kind (others: 400 `field label not
  supported: x`), `limit`/`continue` paging with tokens shaped like the apiserver's (base64 JSON
  `{"v","rv","start"}`); a token from before `serve()`/`expire_continue_tokens()` gets 410
  Expired with an inconsistent-continue token, a garbage one 400 `invalid continue token: ...`
  (as `k8s.io/apiserver/pkg/storage/etcd3` does);
- errors as `Status` bodies with the server's wording: 404 `pods "x" not found`, 403 `pods is
  forbidden: User "system:serviceaccount:k8s-bot:k8s-bot" cannot list resource "pods" in API group
  "" in the namespace "kube-system"`, 401 `Unauthorized`, 405 for any write (the bot is read-only),
  400 `previous terminated container "c" in pod "p" not found` (kubelet, passed through). A 429 is
  plain text with `Retry-After`, exactly as the apiserver's max-in-flight/APF filter writes it.

Requests must carry `Authorization: Bearer <token>` from the kubeconfig this fake writes (401
otherwise), which proves the client sends its credentials. Everything is recorded, and faults can
be injected per path prefix: `latency`, `fail()`, `drop()`, `hang()`.

By hand: `python -m tests.fakes.kube_api --snapshot examples/cluster --port 8001`, then
`KUBECONFIG=<printed path> k8s-bot ask ...` (or kubectl).
"""

from __future__ import annotations

import argparse
import base64
import binascii
import contextlib
import re
import secrets
import shutil
import socket
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, NamedTuple
from urllib.parse import parse_qsl, unquote, urlsplit

import orjson

from bot.snapshot import Snapshot
from handlers.kinds import KINDS, Kind

#: Who the fake says we are in 403 messages: the bot's own service account (deploy/ manifests).
SERVICE_ACCOUNT = "system:serviceaccount:k8s-bot:k8s-bot"

VERSION_INFO: Mapping[str, str] = {
    "major": "1",
    "minor": "30",
    "gitVersion": "v1.30.4",
    "gitCommit": "a51b3b711150f57ffc1f526a640ec058514ed596",
    "gitTreeState": "clean",
    "buildDate": "2024-08-14T19:10:19Z",
    "goVersion": "go1.22.5",
    "compiler": "gc",
    "platform": "linux/amd64",
}

#: Paths the apiserver serves to anonymous users (RBAC `system:public-info-viewer`).
_PUBLIC_PATHS = frozenset({"/version", "/healthz", "/livez", "/readyz"})

_BY_RESOURCE: Mapping[tuple[str, str, str], Kind] = {
    (k.group, k.version, k.plural): k for k in KINDS.values()
}
_GROUP_VERSIONS = sorted({(k.group, k.version) for k in KINDS.values()})

# Field selectors each kind's registry accepts (pkg/registry/*/strategy.go, GetAttrs/FieldSelector
# conversion funcs); metadata.name and metadata.namespace work everywhere.
_META_FIELDS: Mapping[str, tuple[str, ...]] = {
    "metadata.name": ("metadata", "name"),
    "metadata.namespace": ("metadata", "namespace"),
}
_KIND_FIELDS: Mapping[str, Mapping[str, tuple[str, ...]]] = {
    "Pod": {
        "spec.nodeName": ("spec", "nodeName"),
        "spec.restartPolicy": ("spec", "restartPolicy"),
        "spec.schedulerName": ("spec", "schedulerName"),
        "spec.serviceAccountName": ("spec", "serviceAccountName"),
        "spec.hostNetwork": ("spec", "hostNetwork"),
        "status.phase": ("status", "phase"),
        "status.podIP": ("status", "podIP"),
        "status.nominatedNodeName": ("status", "nominatedNodeName"),
    },
    "Event": {
        "involvedObject.kind": ("involvedObject", "kind"),
        "involvedObject.namespace": ("involvedObject", "namespace"),
        "involvedObject.name": ("involvedObject", "name"),
        "involvedObject.uid": ("involvedObject", "uid"),
        "involvedObject.apiVersion": ("involvedObject", "apiVersion"),
        "involvedObject.resourceVersion": ("involvedObject", "resourceVersion"),
        "involvedObject.fieldPath": ("involvedObject", "fieldPath"),
        "reason": ("reason",),
        "reportingComponent": ("reportingComponent",),
        "source": ("source", "component"),
        "type": ("type",),
    },
    "Node": {"spec.unschedulable": ("spec", "unschedulable")},
    "Namespace": {"status.phase": ("status", "phase")},
    "ReplicaSet": {"status.replicas": ("status", "replicas")},
    "ReplicationController": {"status.replicas": ("status", "replicas")},
    "Job": {"status.successful": ("status", "successful")},
}
# Fields the server renders from Go zero values when absent (strconv.FormatBool / Itoa).
_ZERO_VALUES: Mapping[str, str] = {
    "spec.hostNetwork": "false",
    "spec.unschedulable": "false",
    "status.replicas": "0",
    "status.successful": "0",
}

_CONTINUE_EXPIRED = (
    "The provided continue parameter is too old to display a consistent list result. You can start a "
    "new list without the continue parameter, or use the continue token in this response to retrieve "
    "the remainder of the results. Continuing with the provided token results in an inconsistent list "
    "- objects that were created, modified, or deleted between the time the first chunk was returned "
    "and now may show up in the list."
)


class Recorded(NamedTuple):
    """One request the fake received: method, path (no query) and the query parameters."""

    method: str
    path: str
    query: dict[str, str]


class BadRequest(Exception):
    """A 400 the way the apiserver words it (selector and parameter errors)."""


# -- routes -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Route:
    """A resource request: `kind` in `namespace` (None: all / cluster scope), by `name`, `sub`."""

    kind: Kind
    namespace: str | None = None
    name: str | None = None
    sub: str | None = None  # "log"

    @property
    def verb(self) -> str:
        return "get" if self.name else "list"

    @property
    def qualified(self) -> str:
        """`pods`, `deployments.apps`: how the apiserver names a resource in messages."""
        return f"{self.kind.plural}.{self.kind.group}" if self.kind.group else self.kind.plural


def parse_path(path: str) -> Route | tuple[str, str] | None:
    """A resource Route, a discovery document ("version"|"api"|"apis"|"resources", group), or None."""
    segs = [unquote(s) for s in path.split("/") if s]
    if segs in (["version"], ["api"], ["apis"]):
        return (segs[0], "")
    if len(segs) >= 2 and segs[0] == "api":
        group, version, rest = "", segs[1], segs[2:]
    elif len(segs) >= 3 and segs[0] == "apis":
        group, version, rest = segs[1], segs[2], segs[3:]
    else:
        return None
    if (group, version) not in _GROUP_VERSIONS:
        return None
    if not rest:
        return ("resources", f"{group}/{version}" if group else version)
    namespace: str | None = None
    if rest[0] == "namespaces" and len(rest) >= 3:
        namespace, rest = rest[1], rest[2:]
    kind = _BY_RESOURCE.get((group, version, rest[0]))
    if kind is None or (namespace is not None and not kind.namespaced):
        return None
    if len(rest) == 1:
        return Route(kind, namespace)
    if kind.namespaced and namespace is None:
        return None  # `/api/v1/pods/x` does not exist
    if len(rest) == 2:
        return Route(kind, namespace, rest[1])
    if len(rest) == 3 and kind.kind == "Pod" and rest[2] == "log":
        return Route(kind, namespace, rest[1], "log")
    return None


# -- selectors ----------------------------------------------------------------------------

_LABEL_KEY = re.compile(
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$"
)
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_SET_REQ = re.compile(r"^(\S+)\s+(in|notin)\s*\((.*)\)$")
_CMP_REQ = re.compile(r"^([^\s!=<>]+)\s*(==|=|!=|>|<)\s*(.*)$")


@dataclass(frozen=True, slots=True)
class Requirement:
    """One label selector term, with the apiserver's semantics (`!=`/`notin` match absent keys)."""

    key: str
    op: str  # = != in notin exists !exists > <
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        have = labels.get(self.key)
        if self.op in ("=", "in"):
            return have is not None and have in self.values
        if self.op in ("!=", "notin"):
            return have is None or have not in self.values
        if self.op == "exists":
            return have is not None
        if self.op == "!exists":
            return have is None
        try:
            number, bound = int(have or ""), int(self.values[0])
        except ValueError:
            return False
        return number > bound if self.op == ">" else number < bound


def _split_top(text: str) -> list[str]:
    """Split on commas outside parentheses."""
    parts, depth, cur = [], 0, []
    for ch in text:
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        if ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(ch)
    parts.append("".join(cur))
    return parts


def parse_label_selector(text: str) -> list[Requirement]:
    """`labels.Parse`: comma-joined requirements. Raises BadRequest."""
    reqs: list[Requirement] = []
    if not text.strip():
        return reqs
    for raw in _split_top(text):
        term = raw.strip()
        if term.startswith("!"):
            key, op, values = term[1:].strip(), "!exists", ()
        elif m := _SET_REQ.match(term):
            key, op = m.group(1), m.group(2)
            values = tuple(v.strip() for v in m.group(3).split(","))
        elif m := _CMP_REQ.match(term):
            key, op, values = m.group(1), m.group(2), (m.group(3).strip(),)
            op = "=" if op == "==" else op
            if op in (">", "<") and not re.fullmatch(r"-?\d+", values[0]):
                raise BadRequest(
                    f"unable to parse requirement: for '{op}' operator, the value must be an integer"
                )
        elif term and re.fullmatch(r"[^\s!=<>(),]+", term):
            key, op, values = term, "exists", ()
        else:
            raise BadRequest(f"unable to parse requirement: found '{term}', expected: identifier")
        if not _LABEL_KEY.match(key) or len(key.rsplit("/", 1)[-1]) > 63:
            raise BadRequest(f'unable to parse requirement: invalid label key "{key}"')
        for v in values:
            if op not in (">", "<") and (not _LABEL_VALUE.match(v) or len(v) > 63):
                raise BadRequest(f'unable to parse requirement: invalid label value: "{v}"')
        reqs.append(Requirement(key, op, values))
    return reqs


def parse_field_selector(text: str, kind: Kind) -> list[tuple[str, str, str]]:
    """`fields.ParseSelector` + the kind's supported fields: [(field, op, value)]. Raises BadRequest."""
    terms: list[tuple[str, str, str]] = []
    if not text.strip():
        return terms
    supported = {**_META_FIELDS, **_KIND_FIELDS.get(kind.kind, {})}
    for term in re.split(r"(?<!\\),", text):
        for op in ("!=", "==", "="):
            if op in term:
                field, _, value = term.partition(op)
                break
        else:
            raise BadRequest(f"invalid selector: '{text}'; can't understand '{term}'")
        field = field.strip()
        if field not in supported:
            raise BadRequest(f"field label not supported: {field}")
        terms.append((field, "!=" if op == "!=" else "=", value.replace("\\,", ",")))
    return terms


def _field_value(obj: Mapping[str, Any], kind: Kind, field: str) -> str:
    path = {**_META_FIELDS, **_KIND_FIELDS.get(kind.kind, {})}[field]
    cur: Any = obj
    for key in path:
        cur = cur.get(key) if isinstance(cur, Mapping) else None
    if cur is None:
        return _ZERO_VALUES.get(field, "")
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return str(cur)


# -- the store ----------------------------------------------------------------------------


def _key(kind: Kind, obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata") or {}
    name = str(meta.get("name", ""))
    return f"{meta.get('namespace', '')}/{name}" if kind.namespaced else name


class _Store:
    """An immutable generation of served objects: swapped whole by `serve()`, so reads need no lock."""

    def __init__(
        self,
        objects: Mapping[str, Iterable[Mapping[str, Any]]],
        logs: Mapping[tuple[str, str, str, bool], str],
        resource_version: int,
    ) -> None:
        self.resource_version = resource_version
        self.items: dict[str, list[tuple[str, Mapping[str, Any]]]] = {}
        self.index: dict[tuple[str, str], Mapping[str, Any]] = {}
        for kind_name, kind in KINDS.items():
            by_key: dict[str, Mapping[str, Any]] = {}
            for obj in objects.get(kind_name, ()):
                by_key[_key(kind, obj)] = obj  # the last copy of an object wins, as a re-apply would
            self.items[kind_name] = sorted(by_key.items())
            for key, obj in by_key.items():
                self.index[(kind_name, key)] = obj
        self.logs = dict(logs)


def _token(rv: int, start: str) -> str:
    raw = orjson.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": start})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _read_token(token: str) -> tuple[int, str]:
    try:
        data = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (binascii.Error, ValueError):
        raise BadRequest(
            "invalid continue token: continue key is not valid: illegal base64 or JSON"
        ) from None
    if not isinstance(data, dict) or data.get("v") != "meta.k8s.io/v1":
        raise BadRequest("invalid continue token: continue key is not valid: incorrect encoded start version")
    rv, start = data.get("rv"), data.get("start")
    if not isinstance(rv, int) or rv <= 0 or not isinstance(start, str):
        raise BadRequest(
            "invalid continue token: continue key is not valid: missing resource version or start"
        )
    return rv, start


class _Expired(Exception):
    def __init__(self, token: str) -> None:
        super().__init__("expired")
        self.token = token


# -- faults -------------------------------------------------------------------------------


@dataclass(slots=True)
class _Fault:
    prefix: str
    action: str  # fail | drop | hang
    status: int = 0
    times: int | None = None
    retry_after: int | None = None


# -- the server ---------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, fake: FakeKube, host: str, port: int) -> None:
        self.fake = fake
        self.open_sockets: set[socket.socket] = set()
        self.sockets_lock = threading.Lock()
        super().__init__((host, port), _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.sockets_lock:
            self.open_sockets.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.sockets_lock:
            self.open_sockets.discard(request)
        super().shutdown_request(request)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the real client pools connections
    server: _Server
    #: An idle keep-alive connection is closed after this many seconds (the thread ends with it).
    timeout = 30

    def do_GET(self) -> None:
        self.server.fake._handle(self, "GET")

    def do_POST(self) -> None:
        self.server.fake._handle(self, "POST")

    def do_PUT(self) -> None:
        self.server.fake._handle(self, "PUT")

    def do_PATCH(self) -> None:
        self.server.fake._handle(self, "PATCH")

    def do_DELETE(self) -> None:
        self.server.fake._handle(self, "DELETE")

    def do_HEAD(self) -> None:
        self.server.fake._handle(self, "HEAD")

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.fake.verbose:
            sys.stderr.write(f"fake-kube: {format % args}\n")


def status_body(
    code: int,
    reason: str,
    message: str,
    details: Mapping[str, Any] | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A `Status` object exactly as the apiserver serialises one (details omitted when None)."""
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": dict(metadata or {}),
        "status": "Failure",
        "message": message,
        "reason": reason,
    }
    if details is not None:
        body["details"] = {k: v for k, v in details.items() if v not in ("", None)}
    body["code"] = code
    return body


def _resource_details(route: Route | None) -> dict[str, Any]:
    if route is None:
        return {}
    return {"name": route.name, "group": route.kind.group, "kind": route.kind.plural}


def not_found_body(route: Route | None) -> dict[str, Any]:
    if route is None or route.name is None:
        return status_body(404, "NotFound", "the server could not find the requested resource", {})
    return status_body(
        404, "NotFound", f'{route.qualified} "{route.name}" not found', _resource_details(route)
    )


def forbidden_body(route: Route | None, path: str) -> dict[str, Any]:
    user = SERVICE_ACCOUNT
    if route is None:
        return status_body(403, "Forbidden", f'forbidden: User "{user}" cannot get path "{path}"', {})
    subject = f'{route.qualified} "{route.name}"' if route.name else route.qualified
    resource = f"{route.kind.plural}/{route.sub}" if route.sub else route.kind.plural
    scope = f'in the namespace "{route.namespace}"' if route.namespace else "at the cluster scope"
    message = (
        f'{subject} is forbidden: User "{user}" cannot {route.verb} resource "{resource}" '
        f'in API group "{route.kind.group}" {scope}'
    )
    return status_body(403, "Forbidden", message, _resource_details(route))


def error_response(
    code: int, route: Route | None, path: str, retry_after: int | None = None
) -> tuple[bytes, str, list[tuple[str, str]]]:
    """Body, content type and extra headers the apiserver sends for an error status."""
    headers: list[tuple[str, str]] = []
    if code == 429:
        # The max-in-flight / priority-and-fairness filters answer with http.Error: plain text.
        headers.append(("Retry-After", str(retry_after or 1)))
        return b"Too many requests, please try again later.\n", "text/plain; charset=utf-8", headers
    if retry_after is not None:
        headers.append(("Retry-After", str(retry_after)))
    if code == 401:
        body = status_body(401, "Unauthorized", "Unauthorized")
    elif code == 403:
        body = forbidden_body(route, path)
    elif code == 404:
        body = not_found_body(route)
    elif code == 405:
        body = status_body(
            405, "MethodNotAllowed", "the server does not allow this method on the requested resource", {}
        )
    elif code == 410:
        body = status_body(410, "Expired", _CONTINUE_EXPIRED)
    elif code == 500:
        cause = "etcdserver: request timed out"
        body = status_body(
            500, "InternalError", f"Internal error occurred: {cause}", {"causes": [{"message": cause}]}
        )
    elif code == 503:
        body = status_body(
            503, "ServiceUnavailable", "the server is currently unable to handle the request", {}
        )
    elif code == 504:
        details = {"retryAfterSeconds": retry_after} if retry_after else {}
        body = status_body(
            504,
            "Timeout",
            "Timeout: request did not complete within requested timeout - context deadline exceeded",
            details,
        )
    else:
        phrase = HTTPStatus(code).phrase if code in HTTPStatus._value2member_map_ else "Unknown"
        body = status_body(code, phrase.replace(" ", ""), phrase.lower(), {})
    return orjson.dumps(body), "application/json", headers


class FakeKube:
    """A fake kube-apiserver on 127.0.0.1 and a free port, in a background thread. Thread-safe."""

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0, verbose: bool = False) -> None:
        self.verbose = verbose
        self.token = secrets.token_urlsafe(24)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._requests: list[Recorded] = []
        self._faults: list[_Fault] = []
        self._latency = 0.0
        self._rv = 481516
        self._store = _Store({}, {}, self._rv)
        self._server = _Server(self, host, port)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-kube", daemon=True
        )
        self._started = False
        self._dir = Path(tempfile.mkdtemp(prefix="fake-kube-"))
        self.kubeconfig = self._dir / "kubeconfig"
        self.kubeconfig.write_text(self._kubeconfig_text(), encoding="utf-8")

    # -- lifecycle ------------------------------------------------------------------------
    @classmethod
    def start(
        cls, *paths: str | Path, host: str = "127.0.0.1", port: int = 0, verbose: bool = False
    ) -> FakeKube:
        """Start serving the objects in `paths` (snapshot files or folders; none: an empty cluster)."""
        fake = cls(host=host, port=port, verbose=verbose)
        if paths:
            fake.serve(*paths)
        fake._thread.start()
        fake._started = True
        return fake

    def stop(self) -> None:
        """Stop serving: hung requests are released, open connections closed, the kubeconfig removed."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        if self._started:
            self._server.shutdown()
        with self._server.sockets_lock:
            open_sockets = list(self._server.open_sockets)
        for sock in open_sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self._server.server_close()
        if self._started:
            self._thread.join(timeout=5)
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self) -> FakeKube:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self._server.server_address[0]}:{self.port}"

    def _kubeconfig_text(self) -> str:
        # Context `fake` has no namespace (lookups go bound -> default -> all); `fake-ns` binds `logging`.
        return (
            "apiVersion: v1\n"
            "kind: Config\n"
            "clusters:\n"
            "- name: fake\n"
            "  cluster:\n"
            f"    server: {self.url}\n"
            "contexts:\n"
            "- name: fake\n"
            "  context:\n"
            "    cluster: fake\n"
            "    user: fake\n"
            "- name: fake-ns\n"
            "  context:\n"
            "    cluster: fake\n"
            "    user: fake\n"
            "    namespace: logging\n"
            "current-context: fake\n"
            "preferences: {}\n"
            "users:\n"
            "- name: fake\n"
            "  user:\n"
            f"    token: {self.token}\n"
        )

    def env(self, **extra: str) -> dict[str, str]:
        """A clean user environment (tests.conftest.clean_env) with KUBECONFIG pointing here."""
        from tests.conftest import clean_env

        return clean_env(**{"KUBECONFIG": str(self.kubeconfig), **extra})

    # -- what is served -------------------------------------------------------------------
    def serve(self, *paths: str | Path) -> None:
        """Replace the served objects and logs with those of snapshot files/folders."""
        snap = Snapshot.load(paths) if paths else Snapshot()
        self._replace({k: [o.raw for o in objs] for k, objs in snap.objects.items()}, snap.logs)

    def serve_objects(
        self,
        objects: Iterable[Mapping[str, Any]],
        logs: Mapping[tuple[str, str, str, bool], str] | None = None,
    ) -> None:
        """Replace the served objects with these API objects (each with `kind`); logs keyed as Snapshot's."""
        by_kind: dict[str, list[Mapping[str, Any]]] = {}
        for obj in objects:
            by_kind.setdefault(str(obj["kind"]), []).append(obj)
        self._replace(by_kind, logs or {})

    def _replace(
        self,
        objects: Mapping[str, Iterable[Mapping[str, Any]]],
        logs: Mapping[tuple[str, str, str, bool], str],
    ) -> None:
        with self._lock:
            self._rv += 1
            self._store = _Store(objects, logs, self._rv)

    def expire_continue_tokens(self) -> None:
        """As an etcd compaction does: continue tokens issued so far get 410 Expired."""
        with self._lock:
            self._rv += 1
            self._store = _Store(
                {k: [o for _, o in v] for k, v in self._store.items.items()}, self._store.logs, self._rv
            )

    # -- what was received ----------------------------------------------------------------
    @property
    def requests(self) -> list[Recorded]:
        with self._lock:
            return list(self._requests)

    def received(self, method: str, path: str) -> int:
        """How many `method` requests hit exactly `path` (query ignored)."""
        with self._lock:
            return sum(1 for r in self._requests if r.method == method and r.path == path)

    def reset_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    # -- faults ---------------------------------------------------------------------------
    @property
    def latency(self) -> float:
        return self._latency

    @latency.setter
    def latency(self, seconds: float) -> None:
        self._latency = float(seconds)

    def fail(
        self, path_prefix: str, status: int, times: int | None = None, retry_after: int | None = None
    ) -> None:
        """Answer `status` (with the apiserver's body for it) to matching requests, `times` then recover."""
        self._add_fault(_Fault(path_prefix, "fail", status, times, retry_after))

    def drop(self, path_prefix: str, times: int | None = None) -> None:
        """Read matching requests, then close the connection without a response."""
        self._add_fault(_Fault(path_prefix, "drop", times=times))

    def hang(self, path_prefix: str, times: int | None = None) -> None:
        """Never answer matching requests (until `stop()`): for client timeouts."""
        self._add_fault(_Fault(path_prefix, "hang", times=times))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def _add_fault(self, fault: _Fault) -> None:
        with self._lock:
            self._faults.insert(0, fault)  # the newest rule wins

    def _take_fault(self, path: str) -> _Fault | None:
        with self._lock:
            for fault in self._faults:
                if path.startswith(fault.prefix):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times <= 0:
                            self._faults.remove(fault)
                    return fault
        return None

    # -- request handling -----------------------------------------------------------------
    def _handle(self, h: _Handler, method: str) -> None:
        parts = urlsplit(h.path)
        path = parts.path or "/"
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        with self._lock:
            self._requests.append(Recorded(method, path, query))
            store = self._store
        if method != "GET":
            h.close_connection = True  # the body, if any, is never read
        if self._latency:
            self._stopping.wait(self._latency)
        auth = h.headers.get("Authorization")
        if auth != f"Bearer {self.token}" and not (auth is None and path in _PUBLIC_PATHS):
            self._error(h, 401, None, path)
            return
        target = parse_path(path)
        route = target if isinstance(target, Route) else None
        fault = self._take_fault(path)
        if fault is not None:
            if fault.action == "hang":
                self._stopping.wait()
            if fault.action in ("hang", "drop"):
                h.close_connection = True
                return
            self._error(h, fault.status, route, path, fault.retry_after)
            return
        if method != "GET":
            self._error(h, 405, route, path)
            return
        try:
            if isinstance(target, tuple):
                self._json(h, 200, self._discovery(*target))
            elif target is None:
                if path in _PUBLIC_PATHS:
                    self._send(h, 200, b"ok", "text/plain; charset=utf-8")
                else:
                    self._error(h, 404, None, path)
            elif target.sub == "log":
                self._log(h, store, target, query)
            elif target.name is not None:
                self._get(h, store, target)
            else:
                self._list(h, store, target, query)
        except BadRequest as err:
            self._json(h, 400, status_body(400, "BadRequest", str(err)))
        except _Expired as err:
            self._json(
                h, 410, status_body(410, "Expired", _CONTINUE_EXPIRED, metadata={"continue": err.token})
            )

    def _send(
        self, h: _Handler, code: int, body: bytes, ctype: str, headers: Sequence[tuple[str, str]] = ()
    ) -> None:
        h.send_response(code)
        h.send_header("Content-Type", ctype)
        h.send_header("Content-Length", str(len(body)))
        h.send_header("Audit-Id", secrets.token_hex(16))
        for name, value in headers:
            h.send_header(name, value)
        h.end_headers()
        if h.command != "HEAD":
            h.wfile.write(body)

    def _json(self, h: _Handler, code: int, body: Mapping[str, Any]) -> None:
        self._send(h, code, orjson.dumps(body), "application/json")

    def _error(
        self, h: _Handler, code: int, route: Route | None, path: str, retry_after: int | None = None
    ) -> None:
        body, ctype, headers = error_response(code, route, path, retry_after)
        self._send(h, code, body, ctype, headers)

    def _discovery(self, what: str, group_version: str) -> dict[str, Any]:
        if what == "version":
            return dict(VERSION_INFO)
        if what == "api":
            return {
                "kind": "APIVersions",
                "versions": ["v1"],
                "serverAddressByClientCIDRs": [
                    {"clientCIDR": "0.0.0.0/0", "serverAddress": f"127.0.0.1:{self.port}"}
                ],
            }
        if what == "apis":
            groups = []
            for group, version in _GROUP_VERSIONS:
                if group:
                    gv = {"groupVersion": f"{group}/{version}", "version": version}
                    groups.append({"name": group, "versions": [gv], "preferredVersion": gv})
            return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}
        resources: list[dict[str, Any]] = []
        for k in KINDS.values():
            if k.api_version != group_version:
                continue
            resources.append(
                {
                    "name": k.plural,
                    "singularName": k.kind.lower(),
                    "namespaced": k.namespaced,
                    "kind": k.kind,
                    "verbs": ["get", "list", "watch"],
                    **({"shortNames": [a for a in k.aliases if a != k.kind.lower()]} if k.aliases else {}),
                }
            )
            if k.kind == "Pod":
                resources.append(
                    {
                        "name": "pods/log",
                        "singularName": "",
                        "namespaced": True,
                        "kind": "Pod",
                        "verbs": ["get"],
                    }
                )
        return {
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": group_version,
            "resources": resources,
        }

    def _get(self, h: _Handler, store: _Store, route: Route) -> None:
        key = f"{route.namespace}/{route.name}" if route.kind.namespaced else str(route.name)
        obj = store.index.get((route.kind.kind, key))
        if obj is None:
            self._error(h, 404, route, "")
            return
        self._json(h, 200, {**obj, "kind": route.kind.kind, "apiVersion": route.kind.api_version})

    def _list(self, h: _Handler, store: _Store, route: Route, query: Mapping[str, str]) -> None:
        kind = route.kind
        labels = parse_label_selector(query.get("labelSelector", ""))
        fields = parse_field_selector(query.get("fieldSelector", ""), kind)
        try:
            limit = int(query.get("limit") or 0)
        except ValueError:
            raise BadRequest(f'invalid value for "limit": {query["limit"]!r}') from None
        start = ""
        if token := query.get("continue"):
            rv, start = _read_token(token)
            if rv != store.resource_version:
                raise _Expired(_token(store.resource_version, start))
        prefix = f"{route.namespace}/" if route.namespace else ""
        matched: list[tuple[str, Mapping[str, Any]]] = []
        for key, obj in store.items[kind.kind]:
            if prefix and not key.startswith(prefix):
                continue
            if start and key < start:
                continue
            meta_labels = (obj.get("metadata") or {}).get("labels") or {}
            if labels and not all(r.matches(meta_labels) for r in labels):
                continue
            if fields and not all((_field_value(obj, kind, f) == v) == (op == "=") for f, op, v in fields):
                continue
            matched.append((key, obj))
        meta: dict[str, Any] = {"resourceVersion": str(store.resource_version)}
        page = matched
        if 0 < limit < len(matched):
            page = matched[:limit]
            meta["continue"] = _token(store.resource_version, page[-1][0] + "\x00")
            if not labels and not fields:  # the apiserver counts only unfiltered lists
                meta["remainingItemCount"] = len(matched) - limit
        items = [{k: v for k, v in obj.items() if k not in ("kind", "apiVersion")} for _, obj in page]
        self._json(
            h,
            200,
            {"kind": f"{kind.kind}List", "apiVersion": kind.api_version, "metadata": meta, "items": items},
        )

    def _log(self, h: _Handler, store: _Store, route: Route, query: Mapping[str, str]) -> None:
        pod = store.index.get(("Pod", f"{route.namespace}/{route.name}"))
        if pod is None:
            self._error(h, 404, Route(route.kind, route.namespace, route.name), "")
            return
        spec = pod.get("spec") or {}
        containers = [str(c.get("name")) for c in spec.get("containers") or ()]
        inits = [str(c.get("name")) for c in spec.get("initContainers") or ()]
        ephemeral = [str(c.get("name")) for c in spec.get("ephemeralContainers") or ()]
        container = query.get("container", "")
        # Wording from pkg/registry/core/pod/strategy.go (LogLocation).
        if not container:
            if len(containers) == 1:
                container = containers[0]
            elif not containers:
                raise BadRequest(f"a container name must be specified for pod {route.name}")
            else:
                choose = " ".join(containers)
                msg = f"a container name must be specified for pod {route.name}, choose one of: [{choose}]"
                if inits:
                    msg += f" or one of the init containers: [{' '.join(inits)}]"
                raise BadRequest(msg)
        elif container not in (*containers, *inits, *ephemeral):
            raise BadRequest(f"container {container} is not valid for pod {route.name}")
        previous = query.get("previous", "false") in ("1", "t", "T", "true", "TRUE", "True")
        text = store.logs.get((str(route.namespace), str(route.name), container, previous))
        if text is None:
            # Wording from the kubelet (pkg/kubelet/kubelet_pods.go, validateContainerLogStatus).
            if previous:
                raise BadRequest(
                    f'previous terminated container "{container}" in pod "{route.name}" not found'
                )
            waiting = _waiting_reason(pod, container)
            if waiting:
                raise BadRequest(
                    f'container "{container}" in pod "{route.name}" is waiting to start: {waiting}'
                )
            text = ""
        if "tailLines" in query:
            try:
                tail = int(query["tailLines"])
            except ValueError:
                raise BadRequest(f'invalid value for "tailLines": {query["tailLines"]!r}') from None
            lines = text.splitlines(keepends=True)
            text = "".join(lines[-tail:]) if tail > 0 else ""
        self._send(h, 200, text.encode(), "text/plain")


def _waiting_reason(pod: Mapping[str, Any], container: str) -> str:
    """The waiting reason of a container that never ran (no lastState): the kubelet has no log for it."""
    status = pod.get("status") or {}
    for key in ("containerStatuses", "initContainerStatuses", "ephemeralContainerStatuses"):
        for cs in status.get(key) or ():
            if cs.get("name") != container:
                continue
            if (cs.get("lastState") or {}).get("terminated"):
                return ""
            waiting = (cs.get("state") or {}).get("waiting")
            if waiting is None:
                return ""
            reason = str(waiting.get("reason") or "ContainerCreating")
            if reason == "ErrImagePull":
                return "image can't be pulled"
            if reason == "ImagePullBackOff":
                return "trying and failing to pull image"
            return reason
    return ""


def iter_snapshot_objects(paths: Iterable[str | Path]) -> Iterator[Mapping[str, Any]]:
    """The raw API objects of snapshot files (each with `kind`), for tests that want to edit them."""
    snap = Snapshot.load(paths)
    for objs in snap.objects.values():
        for obj in objs:
            yield obj.raw


def main(argv: Sequence[str] | None = None, *, wait: Callable[[], None] | None = None) -> int:
    """`python -m tests.fakes.kube_api --snapshot examples/cluster --port 8001 [--latency 0.3]`."""
    p = argparse.ArgumentParser(prog="python -m tests.fakes.kube_api", description=__doc__.splitlines()[0])
    p.add_argument(
        "--snapshot", action="append", default=[], metavar="PATH", help="file or folder (repeatable)"
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0, help="0: a free port")
    p.add_argument("--latency", type=float, default=0.0, help="seconds added to every request")
    p.add_argument("--quiet", action="store_true", help="do not log requests")
    args = p.parse_args(argv)
    fake = FakeKube.start(*args.snapshot, host=args.host, port=args.port, verbose=not args.quiet)
    fake.latency = args.latency
    print(f"fake kube-apiserver on {fake.url}", flush=True)
    print(f"kubeconfig: {fake.kubeconfig}", flush=True)
    print(f'try: KUBECONFIG={fake.kubeconfig} k8s-bot ask "why es-0 -n logging"', flush=True)
    try:
        (wait or threading.Event().wait)()
    except KeyboardInterrupt:
        pass
    finally:
        fake.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

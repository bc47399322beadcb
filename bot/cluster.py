"""ClusterView over a live API server, through the official `kubernetes` client.

Reads go through the client's typed API methods with `_preload_content=False` and are parsed with
orjson into plain dicts: the client's model deserialisation is by far the slowest part of a large
list. Lists page with `limit`/`continue`. Errors are mapped at this edge (as httpx maps transport
errors): 404 -> None, 401/403 -> ClusterForbidden, timeouts/connection/5xx -> ClusterUnavailable.
"""

from __future__ import annotations

import builtins
import os
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import orjson
import urllib3
import yaml
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException
from kubernetes.config.kube_config import KUBE_CONFIG_DEFAULT_LOCATION

from bot.cache import gc_paused
from bot.viewbase import BaseView
from handlers.errors import ClusterForbidden, ClusterUnavailable, ConfigError
from handlers.kinds import KINDS
from handlers.objects import Obj

T = TypeVar("T")

#: Page size for list calls: large enough to keep round trips few on 10k-pod clusters, small enough
#: that one page never holds the API server long (kubectl itself uses 500).
PAGE_SIZE = 500


def load_api_client(kubeconfig: str | None, context: str | None) -> tuple[k8s.ApiClient, str, str | None]:
    """An ApiClient for the kubeconfig context (or in-cluster config), its name and default namespace.

    Raises ConfigError with one line naming the file (and line) for a missing or unreadable file,
    invalid YAML, something that is not a kubeconfig, or an unknown/absent context.
    """
    if kubeconfig is None and context is None:
        cfg = k8s.Configuration()
        try:
            k8s_config.load_incluster_config(client_configuration=cfg)  # type: ignore[no-untyped-call]
        except ConfigException:
            pass  # not in a pod: use the kubeconfig, as kubectl does
        else:
            return _client(cfg), "in-cluster", _incluster_namespace()
    # The library resolves $KUBECONFIG (a path list) or ~/.kube/config itself; name the same file.
    where = kubeconfig or str(KUBE_CONFIG_DEFAULT_LOCATION)
    contexts, current = _read_kubeconfig(where)
    chosen = context or current
    have = ", ".join(contexts) or "none"
    if not chosen:
        raise ConfigError(where, f"no current-context set; pass --context (have: {have})")
    if chosen not in contexts:
        raise ConfigError(where, f"no context {chosen!r} (have: {have})")
    cfg = k8s.Configuration()
    try:
        # persist_config=False: a read-only bot never writes refreshed tokens back into the file.
        k8s_config.load_kube_config(  # type: ignore[no-untyped-call]
            config_file=where, context=chosen, client_configuration=cfg, persist_config=False
        )
    except (ConfigException, OSError, ValueError, TypeError, KeyError, AttributeError, yaml.YAMLError) as err:
        raise ConfigError(where, " ".join(str(err).split()) or type(err).__name__) from None
    ns = contexts[chosen].get("namespace")
    return _client(cfg), chosen, str(ns) if ns else None


def _client(cfg: k8s.Configuration) -> k8s.ApiClient:
    # No retries: the client's default (urllib3's 3) would turn one hung or refused request into
    # four, and a chat answer should fail fast and say so. Set before the ApiClient exists: its
    # connection pool copies the setting when it is built.
    cfg.retries = 0
    return k8s.ApiClient(configuration=cfg)


def _read_kubeconfig(where: str) -> tuple[dict[str, Mapping[str, Any]], str | None]:
    """Context name -> context, and current-context, over a $KUBECONFIG-style list of files.

    Merged as kubectl does: the first file to set a context or current-context wins.
    """
    contexts: dict[str, Mapping[str, Any]] = {}
    current: str | None = None
    found = False
    for part in where.split(os.pathsep):
        if not part:
            continue
        path = Path(part).expanduser()
        if not path.is_file():
            continue
        found = True
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except OSError as err:
            raise ConfigError(str(path), f"cannot read: {err.strerror or err}") from None
        except UnicodeDecodeError:
            raise ConfigError(str(path), "not a text file") from None
        except yaml.MarkedYAMLError as err:
            mark = err.problem_mark or err.context_mark
            where_line = f"{path}:{mark.line + 1}" if mark else str(path)
            raise ConfigError(where_line, f"not valid YAML: {err.problem or err.context}") from None
        except yaml.YAMLError as err:
            raise ConfigError(str(path), f"not valid YAML: {err}") from None
        if data is None:
            continue
        if not isinstance(data, dict) or not isinstance(data.get("contexts") or [], list):
            raise ConfigError(str(path), "not a kubeconfig file (expected clusters, contexts and users)")
        for entry in data.get("contexts") or []:
            if isinstance(entry, dict) and entry.get("name"):
                ctx = entry.get("context")
                contexts.setdefault(str(entry["name"]), ctx if isinstance(ctx, dict) else {})
        current = current or (str(data["current-context"]) if data.get("current-context") else None)
    if not found:
        raise ConfigError(where, "no such file")
    return contexts, current


def _incluster_namespace() -> str | None:
    try:
        with open("/var/run/secrets/kubernetes.io/serviceaccount/namespace", encoding="utf-8") as f:
            return f.read().strip() or None
    except OSError:
        return None


#: Set on every object by `kubectl apply`: a full copy of the applied manifest, as large as the spec.
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def slim(raw: dict[str, Any]) -> dict[str, Any]:
    """Drop what no answer reads and what dominates large lists: `metadata.managedFields` (often
    half of a pod's JSON) and the last-applied-configuration annotation. In place; returns `raw`."""
    meta = raw.get("metadata")
    if isinstance(meta, dict):
        meta.pop("managedFields", None)
        annotations = meta.get("annotations")
        if isinstance(annotations, dict):
            annotations.pop(LAST_APPLIED, None)
    return raw


def json_bytes(item: dict[str, Any]) -> bytes:
    """`orjson.dumps`, exactly sized: orjson's result keeps its write buffer (4 KB at least), so
    10,000 small objects would take 40 MB where their JSON needs 10. The copy costs a memcpy."""
    return memoryview(orjson.dumps(item)).tobytes()


class LiveView(BaseView):
    """Read-only view of a live cluster. Thread-safe: one instance may serve concurrent answers."""

    def __init__(
        self,
        api: k8s.ApiClient,
        name: str,
        *,
        timeout: float = 10.0,
        on_request: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__()
        self._api = api
        self._name = name
        # (connect, read) seconds: bounded so a hung API server cannot hold an answer forever.
        self._timeout = (min(timeout, 5.0), timeout)
        self._on_request = on_request

    @property
    def name(self) -> str:
        return self._name

    @property
    def has_data(self) -> bool:
        return True

    @property
    def taken_at(self) -> datetime | None:
        return None

    # -- plumbing -------------------------------------------------------------------------
    def _call(
        self,
        what: str,
        path: str,
        query: builtins.list[tuple[str, str | int]] | None = None,
        *,
        none_for: tuple[int, ...] = (404,),
        paging: bool = False,
    ) -> bytes | None:
        """GET `path` through the client's ApiClient (its auth, TLS and proxy settings) for raw
        bytes; None for the `none_for` statuses; mapped errors otherwise. With `paging`, a 410
        (expired continue token) raises `_ContinueExpired`.

        Requests are built from `Kind.path()` instead of the typed API classes: those load about a
        thousand model classes on first use (1.5-4 s per process) to then not be used."""
        if self._on_request:
            self._on_request(what)
        reason = ""
        try:
            request = self._api.param_serialize(
                "GET",
                path,
                query_params=query or [],
                header_params={"Accept": "application/json, */*"},
                auth_settings=["BearerToken"],
            )
            resp = self._api.call_api(*request, _request_timeout=self._timeout)
            data: bytes = resp.read()  # type: ignore[no-untyped-call]
            status, reason = int(resp.status), str(resp.reason or "")
        except ApiException as err:  # raised by the client itself for 429/503 with Retry-After
            if not err.status:  # the client's own wrapping of TLS errors (status 0)
                raise ClusterUnavailable(self._name, f"{what}: {self._transport(err)}") from None
            body = err.body or b""
            data = body if isinstance(body, bytes) else str(body).encode()
            status, reason = int(err.status), str(err.reason or "")
        except (urllib3.exceptions.HTTPError, OSError) as err:
            raise ClusterUnavailable(self._name, f"{what}: {self._transport(err)}") from None
        if 200 <= status < 300:
            return data
        if status in none_for:
            return None
        if status == 410 and paging:
            raise _ContinueExpired
        message = _status_message(data)
        if status in (401, 403):
            raise ClusterForbidden(self._name, f"{what}: {message or reason}")
        line = f"HTTP {status} {reason}".rstrip() + (f": {message}" if message else "")
        raise ClusterUnavailable(self._name, f"{what}: {line}")

    def _transport(self, err: Exception) -> str:
        """What went wrong on the wire, and with which server (the user checks that address)."""
        host = str(getattr(self._api.configuration, "host", "") or "")
        return f"{_transport_message(err)} ({host})" if host else _transport_message(err)

    # -- ClusterView ----------------------------------------------------------------------
    def get(self, kind: str, namespace: str | None, name: str) -> Obj | None:
        k = KINDS[kind]
        ns = (namespace or "default") if k.namespaced else None
        where = f"{ns}/{name}" if ns else name
        data = self._call(f"get {k.plural} {where}", k.path(ns, name))
        if data is None:
            return None
        raw = slim(orjson.loads(data))
        raw.setdefault("kind", kind)
        return Obj(raw)

    def list(
        self, kind: str, namespace: str | None = None, *, labels: Mapping[str, str] | None = None
    ) -> Sequence[Obj]:
        selector = ",".join(f"{k}={v}" for k, v in labels.items()) if labels else None
        return self._list(kind, namespace, label_selector=selector)

    def _list(
        self,
        kind: str,
        namespace: str | None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> builtins.list[Obj]:
        return self._items(kind, namespace, Obj, label_selector=label_selector, field_selector=field_selector)

    def list_blobs(
        self,
        kind: str,
        namespace: str | None = None,
        *,
        labels: Mapping[str, str] | None = None,
        field_selector: str | None = None,
    ) -> builtins.list[bytes]:
        """`list`, each object as its (slimmed) JSON bytes: what the cache keeps. A page is parsed,
        slimmed and re-serialised before the next is read, so 10,000 pods never exist as dicts at
        once (as dicts they take ~5x their JSON size). Raises ClusterError."""
        selector = ",".join(f"{k}={v}" for k, v in labels.items()) if labels else None
        return self._items(
            kind, namespace, json_bytes, label_selector=selector, field_selector=field_selector
        )

    def _items(
        self,
        kind: str,
        namespace: str | None,
        each: Callable[[dict[str, Any]], T],
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> builtins.list[T]:
        k = KINDS[kind]
        path = k.path(namespace if k.namespaced else None)
        kwargs: dict[str, Any] = {"limit": PAGE_SIZE}
        if label_selector:
            kwargs["labelSelector"] = label_selector
        if field_selector:
            kwargs["fieldSelector"] = field_selector
        out: builtins.list[T] = []
        if not k.namespaced:
            what = f"list {k.plural}"
        else:
            what = f"list {k.plural} {f'-n {namespace}' if namespace else '-A'}"
        while True:
            try:
                data = self._call(what, path, list(kwargs.items()), paging="continue" in kwargs)
            except _ContinueExpired:
                # The continue token outlived etcd's compaction (~5 min) while we paged. As client-go's
                # pager does (FullListIfExpired), fall back to one consistent list without `limit`.
                kwargs.pop("continue")
                kwargs.pop("limit")
                out = []
                continue
            if data is None:  # 404: a resource this server does not serve (an empty namespace is 200)
                return out
            with gc_paused():  # a page of 500 pods is ~25,000 dicts; see bot.cache.gc_paused
                page = orjson.loads(data)
                for item in page.get("items") or ():
                    slim(item)
                    item.setdefault("kind", kind)
                    item.setdefault("apiVersion", k.api_version)
                    out.append(each(item))
            token = (page.get("metadata") or {}).get("continue")
            del page, data  # before the next page arrives: a parsed page of 500 pods is ~35 MB
            if not token:
                return out
            kwargs["continue"] = token

    def list_events(self, obj: Obj) -> Sequence[Obj]:
        """Events about `obj`: one request, filtered by the API server on the object's uid (a
        supported field selector). Raises ClusterError; `events()` is the soft variant."""
        return self._list("Event", obj.namespace or None, field_selector=f"involvedObject.uid={obj.uid}")

    def _events_for(self, obj: Obj) -> Sequence[Obj]:
        if not obj.uid:
            return super()._events_for(obj)
        try:
            return self.list_events(obj)
        except (ClusterUnavailable, ClusterForbidden) as err:
            self.note("PARTIAL-UNREADABLE", kind="Event", ref=obj.ref, detail=err.detail)
            return ()

    def read_log(
        self, namespace: str, pod: str, container: str, *, previous: bool, tail: int = 50
    ) -> str | None:
        """A container's log tail, None when there is none; raises ClusterError (`log()` does not)."""
        query: builtins.list[tuple[str, str | int]] = [("container", container), ("tailLines", tail)]
        if previous:
            query.append(("previous", "true"))
        data = self._call(
            f"logs of {namespace}/{pod} -c {container}",
            KINDS["Pod"].path(namespace, pod) + "/log",
            query,
            # 400 is the normal "there is no such log": `previous terminated container "c" in pod
            # "p" not found`, or `container "c" in pod "p" is waiting to start: ...` (kubelet).
            none_for=(400, 404),
        )
        return None if data is None else data.decode("utf-8", errors="replace")

    def log(self, namespace: str, pod: str, container: str, *, previous: bool, tail: int = 50) -> str | None:
        try:
            return self.read_log(namespace, pod, container, previous=previous, tail=tail)
        except (ClusterUnavailable, ClusterForbidden) as err:
            self.note(
                "PARTIAL-UNREADABLE", kind="log", ref=f"{namespace}/{pod}/{container}", detail=err.detail
            )
            return None

    def namespaces(self) -> Sequence[str]:
        return sorted(o.name for o in self.list("Namespace"))


def _status_message(body: bytes) -> str:
    """The `message` of the API's Status body, or a short plain-text body (the 429 filter's)."""
    if body:
        try:
            msg = orjson.loads(body).get("message")
            if msg:
                return str(msg)
        except (orjson.JSONDecodeError, AttributeError):
            text = body.decode("utf-8", errors="replace").strip()
            if len(text) < 300:
                return text
    return ""


def _transport_message(err: Exception) -> str:
    """One short phrase for a transport failure (urllib3 nests the cause in `reason`)."""
    reason = getattr(err, "reason", None)
    text = str(reason or err)
    low = text.lower()
    if "timed out" in low or isinstance(err, urllib3.exceptions.TimeoutError | TimeoutError):
        return "timed out"
    if "refused" in low:
        return "connection refused"
    if "remotedisconnected" in low or "without response" in low or "connection aborted" in low:
        return "connection closed without a response"
    if "reset by peer" in low:
        return "connection reset"
    if "name or service not known" in low or "nodename nor servname" in low or "resolution" in low:
        return "cannot resolve the server's host name"
    if "certificate verify failed" in low:
        return "TLS certificate verify failed"
    return text.splitlines()[0] if text else type(err).__name__


class _ContinueExpired(Exception):
    """A 410 Expired while paging a list: the continue token is too old."""

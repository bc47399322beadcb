"""ClusterView over a live API server, through the official `kubernetes` client.

Reads go through the client's typed API methods with `_preload_content=False` and are parsed with
orjson into plain dicts: the client's model deserialisation is by far the slowest part of a large
list. Lists page with `limit`/`continue`. Errors are mapped at this edge (as httpx maps transport
errors): 404 -> None, 401/403 -> ClusterForbidden, timeouts/connection/5xx -> ClusterUnavailable.
"""

from __future__ import annotations

import builtins
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson
import urllib3
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException
from kubernetes.config.config_exception import ConfigException

from bot.viewbase import BaseView
from handlers.errors import ClusterForbidden, ClusterUnavailable, ConfigError
from handlers.kinds import KINDS, Kind
from handlers.objects import Obj

#: Page size for list calls: large enough to keep round trips few on 10k-pod clusters, small enough
#: that one page never holds the API server long (kubectl itself uses 500).
PAGE_SIZE = 500

_API_CLASSES: Mapping[str, str] = {
    "": "CoreV1Api",
    "apps": "AppsV1Api",
    "batch": "BatchV1Api",
    "networking.k8s.io": "NetworkingV1Api",
    "discovery.k8s.io": "DiscoveryV1Api",
    "storage.k8s.io": "StorageV1Api",
}


def _snake(kind: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", kind).lower()


def load_api_client(kubeconfig: str | None, context: str | None) -> tuple[k8s.ApiClient, str, str | None]:
    """An ApiClient for the kubeconfig context (or in-cluster config), its name and default namespace."""
    try:
        if kubeconfig is None and context is None:
            try:
                k8s_config.load_incluster_config()  # type: ignore[no-untyped-call]
                return k8s.ApiClient(), "in-cluster", _incluster_namespace()
            except ConfigException:
                pass
        contexts, current = k8s_config.list_kube_config_contexts(config_file=kubeconfig)  # type: ignore[no-untyped-call]
        chosen = current
        if context:
            chosen = next((c for c in contexts if c["name"] == context), None)
            if chosen is None:
                names = ", ".join(c["name"] for c in contexts) or "none"
                raise ConfigError(kubeconfig or "kubeconfig", f"no context {context!r} (have: {names})")
        api = k8s_config.new_client_from_config(  # type: ignore[no-untyped-call]
            config_file=kubeconfig, context=context
        )
    except ConfigError:
        raise
    except (ConfigException, OSError, ValueError, TypeError, KeyError) as err:
        where = kubeconfig or "kubeconfig"
        raise ConfigError(where, str(err).strip() or type(err).__name__) from None
    # The client retries connection errors three times by default; a chat answer should fail fast.
    api.configuration.retries = 0
    name = str(chosen["name"]) if chosen else "default"
    ns = (chosen or {}).get("context", {}).get("namespace")
    return api, name, str(ns) if ns else None


def _incluster_namespace() -> str | None:
    try:
        with open("/var/run/secrets/kubernetes.io/serviceaccount/namespace", encoding="utf-8") as f:
            return f.read().strip() or None
    except OSError:
        return None


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
        self._apis: dict[str, Any] = {}
        self._apis_lock = threading.Lock()
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
    def _group_api(self, kind: Kind) -> Any:
        cls_name = _API_CLASSES[kind.group]
        with self._apis_lock:
            if cls_name not in self._apis:
                self._apis[cls_name] = getattr(k8s, cls_name)(self._api)
            return self._apis[cls_name]

    def _call(self, what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> bytes | None:
        """Call a typed client method for raw bytes; None on 404; mapped errors otherwise."""
        if self._on_request:
            self._on_request(what)
        try:
            resp = fn(*args, _preload_content=False, _request_timeout=self._timeout, **kwargs)
            data: bytes = resp.data
            return data
        except ApiException as err:
            if err.status == 404:
                return None
            detail = _status_message(err)
            if err.status in (401, 403):
                raise ClusterForbidden(self._name, f"{what}: {detail}") from None
            raise ClusterUnavailable(self._name, f"{what}: HTTP {err.status} {detail}") from None
        except urllib3.exceptions.HTTPError as err:
            raise ClusterUnavailable(self._name, f"{what}: {_transport_message(err)}") from None
        except OSError as err:
            raise ClusterUnavailable(self._name, f"{what}: {err}") from None

    # -- ClusterView ----------------------------------------------------------------------
    def get(self, kind: str, namespace: str | None, name: str) -> Obj | None:
        k = KINDS[kind]
        api = self._group_api(k)
        snake = _snake(kind)
        if k.namespaced:
            data = self._call(
                f"get {k.plural} {namespace}/{name}",
                getattr(api, f"read_namespaced_{snake}"),
                name,
                namespace or "default",
            )
        else:
            data = self._call(f"get {k.plural} {name}", getattr(api, f"read_{snake}"), name)
        if data is None:
            return None
        raw = orjson.loads(data)
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
        k = KINDS[kind]
        api = self._group_api(k)
        snake = _snake(kind)
        args: tuple[str, ...] = ()
        if not k.namespaced:
            fn = getattr(api, f"list_{snake}")
        elif namespace:
            fn, args = getattr(api, f"list_namespaced_{snake}"), (namespace,)
        else:
            fn = getattr(api, f"list_{snake}_for_all_namespaces")
        kwargs: dict[str, Any] = {"limit": PAGE_SIZE}
        if label_selector:
            kwargs["label_selector"] = label_selector
        if field_selector:
            kwargs["field_selector"] = field_selector
        out: builtins.list[Obj] = []
        where = namespace or "all namespaces"
        while True:
            data = self._call(f"list {k.plural} in {where}", fn, *args, **kwargs)
            if data is None:  # the namespace does not exist
                return out
            page = orjson.loads(data)
            for item in page.get("items") or ():
                item.setdefault("kind", kind)
                item.setdefault("apiVersion", k.api_version)
                out.append(Obj(item))
            token = (page.get("metadata") or {}).get("continue")
            if not token:
                return out
            kwargs["_continue"] = token

    def _events_for(self, obj: Obj) -> Sequence[Obj]:
        # One request, filtered by the API server on the object's uid (a supported field selector).
        if not obj.uid:
            return super()._events_for(obj)
        try:
            return self._list("Event", obj.namespace or None, field_selector=f"involvedObject.uid={obj.uid}")
        except (ClusterUnavailable, ClusterForbidden) as err:
            self.note("PARTIAL-UNREADABLE", kind="Event", ref=obj.ref, detail=err.detail)
            return ()

    def log(self, namespace: str, pod: str, container: str, *, previous: bool, tail: int = 50) -> str | None:
        api = self._group_api(KINDS["Pod"])
        try:
            data = self._call(
                f"logs of {namespace}/{pod} -c {container}",
                api.read_namespaced_pod_log,
                pod,
                namespace,
                container=container,
                previous=previous,
                tail_lines=tail,
            )
        except (ClusterUnavailable, ClusterForbidden) as err:
            # 400 "previous terminated container not found" is normal: there is no previous log.
            if "HTTP 400" not in err.detail:
                self.note(
                    "PARTIAL-UNREADABLE", kind="log", ref=f"{namespace}/{pod}/{container}", detail=err.detail
                )
            return None
        return None if data is None else data.decode("utf-8", errors="replace")

    def namespaces(self) -> Sequence[str]:
        return sorted(o.name for o in self.list("Namespace"))


def _status_message(err: ApiException) -> str:
    """The `message` of the API's Status body, or the HTTP reason."""
    body = err.body
    if body:
        try:
            msg = orjson.loads(body).get("message")
            if msg:
                return str(msg)
        except (orjson.JSONDecodeError, AttributeError):
            pass
    return str(err.reason or "")


def _transport_message(err: Exception) -> str:
    reason = getattr(err, "reason", None)
    text = str(reason or err)
    if "timed out" in text.lower() or isinstance(err, urllib3.exceptions.TimeoutError):
        return "timed out"
    if "refused" in text.lower():
        return "connection refused"
    return text

"""Which cluster a question reads: a named one from the config, a snapshot, a kubeconfig, or none.

`Clusters.open(name)` gives a fresh ClusterView per answer (notes are per answer); the expensive
parts (parsed snapshots, API clients) are built once and shared.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.config import ClusterConfig, Settings
from bot.snapshot import EmptyView, Snapshot, SnapshotView
from bot.viewbase import BaseView
from handlers.errors import ConfigError, UsageError

if TYPE_CHECKING:
    from bot.cache import Cache


@dataclass(frozen=True, slots=True)
class Opened:
    view: BaseView
    cluster_domain: str
    default_namespace: str | None


class Clusters:
    """Resolves `--cluster NAME` (or the default) to a view factory."""

    def __init__(
        self,
        settings: Settings,
        *,
        snapshot: Sequence[str] = (),
        kubeconfig: str | None = None,
        context: str | None = None,
        offline_ok: bool = True,
        on_request: Callable[[str], None] | None = None,
    ) -> None:
        self._settings = settings
        self._lock = threading.Lock()
        self._snapshots: dict[str, SnapshotView] = {}
        self._apis: dict[str, tuple[Any, str, str | None]] = {}
        self._on_request = on_request
        self._cache: Cache | None = None  # built on the first live view: one per process, all clusters
        clusters = dict(settings.clusters)
        # Command-line sources override the config: one ad-hoc cluster.
        if snapshot or kubeconfig or context:
            adhoc = ClusterConfig(
                name=context or ("snapshot" if snapshot else "kubeconfig"),
                context=context,
                kubeconfig=kubeconfig,
                snapshot=tuple(snapshot),
            )
            clusters = {adhoc.name: adhoc}
            default: str | None = adhoc.name
        else:
            default = settings.default_cluster
        self._default = default
        self._clusters = clusters
        self._offline_ok = offline_ok

    @property
    def names(self) -> list[str]:
        return list(self._clusters)

    @property
    def default(self) -> str | None:
        return self._default

    def config(self, name: str | None) -> ClusterConfig | None:
        key = name or self._default
        if key is None:
            return None
        if key not in self._clusters:
            import difflib

            raise UsageError(
                "unknown_cluster", value=key, close=difflib.get_close_matches(key, list(self._clusters), n=3)
            )
        return self._clusters[key]

    def open(self, name: str | None = None, *, fresh: bool = False) -> Opened:
        """A view for one answer; `fresh` (--fresh, Refresh) reads past the cache and renews it."""
        cfg = self.config(name)
        if cfg is None:
            # Nothing configured and no --snapshot: the live cluster from $KUBECONFIG,
            # ~/.kube/config or the pod's service account, as kubectl (CONTRACT.md). With none of
            # those, offline questions still answer and the others say they need a cluster.
            if self._offline_ok and not self._default_source():
                return Opened(EmptyView(), "cluster.local", None)
            cfg = ClusterConfig(name="kubeconfig")
        if cfg.snapshot:
            return Opened(self._snapshot_view(cfg), cfg.cluster_domain, None)
        return self._live_view(cfg, fresh)

    def _default_source(self) -> bool:
        """True when kubectl would find a cluster: a kubeconfig file, or in-cluster credentials."""
        s = self._settings
        paths = (p for p in s.kubeconfig_path.split(os.pathsep) if p)
        return s.in_cluster or any(Path(p).expanduser().is_file() for p in paths)

    def _snapshot_view(self, cfg: ClusterConfig) -> SnapshotView:
        with self._lock:
            if cfg.name not in self._snapshots:
                self._snapshots[cfg.name] = SnapshotView(Snapshot.load(cfg.snapshot), name=cfg.name)
            shared = self._snapshots[cfg.name]
        # A new view object per answer (its own notes) over the same parsed, immutable snapshot.
        return shared.fork()

    def _live_view(self, cfg: ClusterConfig, fresh: bool) -> Opened:
        from bot.cache import make_cache
        from bot.cached_view import CachedView
        from bot.cluster import LiveView, load_api_client

        with self._lock:
            if cfg.name not in self._apis:
                self._apis[cfg.name] = load_api_client(cfg.kubeconfig, cfg.context)
            api, ctx_name, ns = self._apis[cfg.name]
            if self._cache is None:
                self._cache = make_cache(self._settings)
            cache = self._cache
        name = ctx_name if cfg.name == "kubeconfig" else cfg.name
        view = LiveView(api, name, timeout=self._settings.api_timeout, on_request=self._counter(name))
        s = self._settings
        cached = CachedView(
            view, cache, ttl=s.cache_ttl, prefix=s.cache_prefix, wait=s.cache_wait, fresh=fresh
        )
        return Opened(cached, cfg.cluster_domain, ns)

    def _counter(self, cluster: str) -> Callable[[str], None]:
        """Per API request: the contract's k8sbot_kube_requests_total, then the caller's hook."""
        from bot.metrics import KUBE_REQUESTS

        counter = KUBE_REQUESTS.labels(cluster=cluster)
        extra = self._on_request

        def on_request(what: str) -> None:
            counter.inc()
            if extra is not None:
                extra(what)

        return on_request


__all__ = ["Clusters", "ConfigError", "Opened"]

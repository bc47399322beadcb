"""Settings: built once from the environment (and the `K8SBOT_CONFIG` YAML file), passed down.

Nothing else in the project reads `os.environ`. Secrets are held in `Secret`, whose repr is `'***'`,
so a settings object can be logged safely. Bad settings fail at start, naming the variable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml

from bot.i18n import LANGS
from handlers.kinds import ALIASES, KINDS


class SettingsError(Exception):
    """A setting is missing or malformed; the message names the variable or key."""


@dataclass(frozen=True, slots=True)
class Secret:
    """A credential; never printed."""

    value: str = field(repr=False)

    def __repr__(self) -> str:
        return "'***'"

    def __str__(self) -> str:
        return "***"

    def __bool__(self) -> bool:
        return bool(self.value)


@dataclass(frozen=True, slots=True)
class ClusterConfig:
    """One cluster the bot can answer about."""

    name: str
    context: str | None = None
    """kubeconfig context; None = current context (or in-cluster config when no kubeconfig)."""
    kubeconfig: str | None = None
    """kubeconfig file; None = $KUBECONFIG or ~/.kube/config, as kubectl."""
    snapshot: tuple[str, ...] = ()
    """Snapshot files/folders instead of a live API server (demos, post-mortems)."""
    cluster_domain: str = "cluster.local"
    """The DNS zone of Services (kubelet --cluster-domain); almost every cluster keeps the default."""


#: Seconds a cluster read stays cached, per kind (K8SBOT_CONFIG `cache.ttl.<Kind>`; 0 = never cached).
#: Short on purpose: the cache absorbs bursts (a Slack thread asking about one incident at once,
#: Refresh clicks, a digest and its follow-up questions), it is not a replica of the cluster.
DEFAULT_CACHE_TTL: Mapping[str, float] = MappingProxyType(
    {
        # Pod status moves in seconds (restarts, readiness, CrashLoopBackOff's first back-offs are
        # 10 s and 20 s); someone who just fixed a pod and asks again must see the change.
        "Pod": 10.0,
        # Events arrive with the pod state changes they explain; same freshness as pods.
        "Event": 10.0,
        # Container logs: the last lines change with every restart; same as pods.
        "PodLog": 10.0,
        # Workload status mirrors its pods (ready replicas, rollout progress): a little longer
        # than pods, short enough that `why deploy/x` agrees with the pods it lists.
        "Deployment": 15.0,
        "ReplicaSet": 15.0,
        "StatefulSet": 15.0,
        "DaemonSet": 15.0,
        "Job": 15.0,
        "ReplicationController": 15.0,
        # Services change on deploys; slices follow pod readiness, whose flaps the 10 s pod read
        # already shows. 30 s spares the API server the re-reads of a `trace` burst.
        "Service": 30.0,
        "Endpoints": 30.0,
        "EndpointSlice": 30.0,
        # Claims go Pending -> Bound once; a Pending-pod diagnosis must not wait a minute for it.
        "PersistentVolumeClaim": 30.0,
        "CronJob": 30.0,
        "ConfigMap": 30.0,
        # Edited by people or slow controllers, rarely during an incident. Node conditions only flip
        # after node-monitor-grace-period (40-50 s) anyway, so 60 s adds little staleness.
        "Ingress": 60.0,
        "IngressClass": 60.0,
        "Node": 60.0,
        "StorageClass": 60.0,
        "PersistentVolume": 60.0,
        "Namespace": 60.0,
        "ServiceAccount": 60.0,
        "ControllerRevision": 60.0,
    }
)


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything configurable, with the reason for each default."""

    slack_bot_token: Secret = Secret("")
    slack_signing_secret: Secret = Secret("")
    slack_app_token: Secret = Secret("")
    slack_api_url: str | None = None
    """Web API base URL (tests point it at a fake); None = Slack's."""
    redis_url: str | None = None
    """None = in-process cache, so a newcomer needs no Redis."""
    config_file: str | None = None
    clusters: Mapping[str, ClusterConfig] = field(default_factory=dict)
    default_cluster: str | None = None
    api_timeout: float = 10.0
    """Seconds per API request. A Slack answer must arrive within 30 min, but people wait ~10 s."""
    kubeconfig_path: str = "~/.kube/config"
    """$KUBECONFIG (a path list) or kubectl's default: where the live cluster comes from when no
    cluster is configured and no --snapshot given (the kubernetes client reads the same variable)."""
    in_cluster: bool = False
    """Running in a pod ($KUBERNETES_SERVICE_HOST set): the service account is the credential."""
    raw: Mapping[str, object] = field(default_factory=dict)
    """The parsed K8SBOT_CONFIG document, for sections owned by other modules (channels, digests)."""
    cache_ttl: Mapping[str, float] = field(default_factory=lambda: DEFAULT_CACHE_TTL)
    """Seconds per kind (`cache.ttl.<Kind>`); see DEFAULT_CACHE_TTL for each default's reason."""
    cache_prefix: str = "k8sbot"
    """First part of every cache key (`cache.prefix`): bots sharing a Redis share reads only when
    their prefixes match; tests use a private one."""
    cache_wait: float = 5.0
    """Seconds a question waits for an identical read already in flight (`cache.wait`) before reading
    for itself. A healthy API server lists 10,000 pods in 1-3 s; past 5 s it is struggling."""
    redis_timeout: float = 0.15
    """Socket timeout per Redis command (`cache.redis_timeout`). Redis answers in well under 1 ms on
    a LAN; one that takes 150 ms is failing, and reading the cluster directly is then faster."""
    fake_now: datetime | None = None
    """K8SBOT_FAKE_NOW, for tests only: the digest scheduler's clock starts at this time (ISO 8601)
    and runs on from there at normal speed, so a test can start a bot just before a scheduled fire."""
    lang: str = "en"
    """The language answers are worded in when neither the question, its asker nor its channel says
    (`lang:` in K8SBOT_CONFIG, or $K8SBOT_LANG): `en` or `zh`. Channels and users have their own
    (`channels.<ID>.lang`, `users.<ID>.lang`, bot/access.py)."""
    redis_retry: float = 1.0
    """After a Redis failure, seconds before it is tried again (`cache.redis_retry`): a dead Redis
    costs one timeout a second, not one per read, and caching resumes by itself when it is back."""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, config_file: str | None = None) -> Settings:
        """`config_file` (`serve --config FILE`) takes the place of $K8SBOT_CONFIG."""
        env = os.environ if env is None else env
        raw: dict[str, object] = {}
        config_file = config_file or env.get("K8SBOT_CONFIG") or None
        if config_file:
            raw = _read_config(config_file)
        clusters, default = _clusters(raw, config_file or "K8SBOT_CONFIG")
        cache = _cache(raw, config_file or "K8SBOT_CONFIG")
        redis_url = env.get("REDIS_URL") or None
        if redis_url and not redis_url.startswith(("redis://", "rediss://", "unix://")):
            raise SettingsError("REDIS_URL must start with redis://, rediss:// or unix://")
        try:
            timeout = float(env.get("K8SBOT_API_TIMEOUT", "10"))
        except ValueError:
            raise SettingsError("K8SBOT_API_TIMEOUT must be a number of seconds") from None
        fake_now: datetime | None = None
        if env.get("K8SBOT_FAKE_NOW"):
            try:
                fake_now = datetime.fromisoformat(env["K8SBOT_FAKE_NOW"].replace("Z", "+00:00"))
            except ValueError:
                raise SettingsError(
                    "K8SBOT_FAKE_NOW must be an ISO 8601 time, e.g. 2026-11-25T08:59:50Z"
                ) from None
            if fake_now.tzinfo is None:
                fake_now = fake_now.replace(tzinfo=UTC)
        lang = str(env.get("K8SBOT_LANG") or raw.get("lang") or "en")
        if lang not in LANGS:
            raise SettingsError(f"K8SBOT_LANG / lang: {lang!r} is not one of {', '.join(LANGS)}")
        return cls(
            lang=lang,
            fake_now=fake_now,
            slack_bot_token=Secret(env.get("SLACK_BOT_TOKEN", "")),
            slack_signing_secret=Secret(env.get("SLACK_SIGNING_SECRET", "")),
            slack_app_token=Secret(env.get("SLACK_APP_TOKEN", "")),
            slack_api_url=env.get("SLACK_API_URL") or None,
            redis_url=redis_url,
            config_file=config_file,
            clusters=MappingProxyType(clusters),
            default_cluster=default,
            api_timeout=timeout,
            kubeconfig_path=env.get("KUBECONFIG") or "~/.kube/config",
            in_cluster=bool(env.get("KUBERNETES_SERVICE_HOST")),
            raw=MappingProxyType(raw),
            **cache,
        )


def _read_config(path: str) -> dict[str, object]:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except OSError as err:
        raise SettingsError(f"K8SBOT_CONFIG={path}: {err.strerror or err}") from None
    except yaml.YAMLError as err:
        raise SettingsError(f"K8SBOT_CONFIG={path}: not valid YAML: {err}") from None
    if not isinstance(data, dict):
        raise SettingsError(f"K8SBOT_CONFIG={path}: expected a mapping at the top level")
    return data


def _clusters(raw: Mapping[str, object], where: str) -> tuple[dict[str, ClusterConfig], str | None]:
    section = raw.get("clusters") or {}
    if not isinstance(section, dict):
        raise SettingsError(f"{where}: `clusters` must be a mapping of name -> settings")
    out: dict[str, ClusterConfig] = {}
    for name, given in section.items():
        spec = given or {}
        if not isinstance(spec, dict):
            raise SettingsError(f"{where}: clusters.{name} must be a mapping")
        snap = spec.get("snapshot") or ()
        out[str(name)] = ClusterConfig(
            name=str(name),
            context=spec.get("context"),
            kubeconfig=spec.get("kubeconfig"),
            snapshot=(snap,) if isinstance(snap, str) else tuple(str(s) for s in snap),
            cluster_domain=str(spec.get("cluster_domain", "cluster.local")),
        )
    default = raw.get("default_cluster")
    if default is not None and str(default) not in out:
        raise SettingsError(f"{where}: default_cluster {default!r} is not under `clusters`")
    if default is None and out:
        default = next(iter(out))
    return out, None if default is None else str(default)


def _seconds(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise SettingsError(f"{where} must be a number of seconds")
    try:
        number = float(value)
    except ValueError:
        raise SettingsError(f"{where} must be a number of seconds") from None
    if number < 0:
        raise SettingsError(f"{where} must not be negative")
    return number


def _cache(raw: Mapping[str, object], where: str) -> dict[str, Any]:
    """The `cache` section: `ttl: {Kind: seconds}`, `prefix`, `wait`, `redis_timeout`, `redis_retry`."""
    section = raw.get("cache") or {}
    if not isinstance(section, dict):
        raise SettingsError(f"{where}: `cache` must be a mapping")
    out: dict[str, Any] = {}
    ttl_section = section.get("ttl") or {}
    if not isinstance(ttl_section, dict):
        raise SettingsError(f"{where}: cache.ttl must be a mapping of Kind -> seconds")
    if ttl_section:
        ttl = dict(DEFAULT_CACHE_TTL)
        for name, value in ttl_section.items():
            kind = (
                str(name) if str(name) in KINDS or str(name) == "PodLog" else ALIASES.get(str(name).lower())
            )
            if kind is None:
                raise SettingsError(f"{where}: cache.ttl.{name}: not a kind the bot reads")
            ttl[kind] = _seconds(value, f"{where}: cache.ttl.{name}")
        out["cache_ttl"] = MappingProxyType(ttl)
    if "prefix" in section:
        prefix = str(section["prefix"] or "")
        if not prefix:
            raise SettingsError(f"{where}: cache.prefix must not be empty")
        out["cache_prefix"] = prefix
    for key, attr in (
        ("wait", "cache_wait"),
        ("redis_timeout", "redis_timeout"),
        ("redis_retry", "redis_retry"),
    ):
        if key in section:
            out[attr] = _seconds(section[key], f"{where}: cache.{key}")
    return out

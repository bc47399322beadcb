"""Settings: built once from the environment (and the `K8SBOT_CONFIG` YAML file), passed down.

Nothing else in the project reads `os.environ`. Secrets are held in `Secret`, whose repr is `'***'`,
so a settings object can be logged safely. Bad settings fail at start, naming the variable.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import yaml


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
    raw: Mapping[str, object] = field(default_factory=dict)
    """The parsed K8SBOT_CONFIG document, for sections owned by other modules (channels, digests)."""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        raw: dict[str, object] = {}
        config_file = env.get("K8SBOT_CONFIG") or None
        if config_file:
            raw = _read_config(config_file)
        clusters, default = _clusters(raw, config_file or "K8SBOT_CONFIG")
        try:
            timeout = float(env.get("K8SBOT_API_TIMEOUT", "10"))
        except ValueError:
            raise SettingsError("K8SBOT_API_TIMEOUT must be a number of seconds") from None
        return cls(
            slack_bot_token=Secret(env.get("SLACK_BOT_TOKEN", "")),
            slack_signing_secret=Secret(env.get("SLACK_SIGNING_SECRET", "")),
            slack_app_token=Secret(env.get("SLACK_APP_TOKEN", "")),
            slack_api_url=env.get("SLACK_API_URL") or None,
            redis_url=env.get("REDIS_URL") or None,
            config_file=config_file,
            clusters=MappingProxyType(clusters),
            default_cluster=default,
            api_timeout=timeout,
            raw=MappingProxyType(raw),
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

"""Who may ask what, and from where: workspaces, channel bindings, user and user-group allow lists.

Read from the `K8SBOT_CONFIG` YAML (`Settings.raw`). Every key is optional::

    slack:
      allowed_team_ids: [T0123ABCD]      # workspaces whose requests are answered. Absent: only the
                                         # bot's own workspace (the team_id auth.test returns).
    channels:                            # channel bindings, by channel ID (names change, IDs don't)
      C0123ABCD:
        cluster: prod                    # a name under `clusters`: questions here read this cluster,
                                         # and `--cluster other` is refused. Absent: the default.
        namespace: logging               # bound namespace: bare names are looked up here first
        allowed_namespaces: [logging, monitoring]   # absent: every namespace (permissions permitting)
        lang: zh                         # answers here in Chinese (absent: the bot's `lang`, default en)
    users:                               # per-user settings, by Slack user ID
      U0123ABCD: {lang: zh}              # this user's answers in Chinese, in every channel
    permissions:                         # absent: anyone in an allowed workspace may ask anything.
      - cluster: prod                    # present: only what a rule grants ("*" = every cluster)
        namespaces: [logging]            # absent or "*" = every namespace of that cluster
        users: [U0123ABCD]               # Slack user IDs
        user_groups: [S0123ABCD]         # Slack user-group IDs (needs the usergroups:read scope)

What a user may read in a channel is the intersection of what their rules grant and what the
channel allows. Asking with `-n` outside it is refused with a message naming the scope and nothing
about the object (it is not even looked up). Asking without `-n` searches only inside it: the
answer's ClusterView is fenced (`FencedView`), so objects elsewhere are simply invisible.

The language of an answer (bot/i18n.py `choose`): `--lang`, else the question's own language (a
question in Chinese is answered in Chinese), else the user's `lang`, else the channel's, else the bot's.
`help` and questions that do not parse need no permission: they read nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from bot.clusters import Clusters, Opened
from bot.config import ClusterConfig, Settings, SettingsError
from bot.i18n import LANGS
from bot.viewbase import BaseView, WrappingView
from handlers.errors import QueryError
from handlers.kinds import KINDS
from handlers.objects import Obj

ANY = "*"
#: The name rules use for the cluster when none is configured (kubeconfig or in-cluster), as
#: bot/clusters.py names it.
IMPLICIT_CLUSTER = "default"


@dataclass(frozen=True, slots=True)
class ChannelBinding:
    """One entry under `channels`."""

    channel: str
    cluster: str | None = None
    namespace: str | None = None
    allowed_namespaces: frozenset[str] | None = None
    """None: no channel-level restriction."""
    lang: str | None = None


@dataclass(frozen=True, slots=True)
class Grant:
    """One rule under `permissions`: these users and groups may read these namespaces of a cluster."""

    cluster: str
    namespaces: frozenset[str] | None
    """None: every namespace."""
    users: frozenset[str] = frozenset()
    user_groups: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Scope:
    """Where one question may read: a cluster and a set of namespaces (None: all)."""

    cluster: str | None
    bound_namespace: str | None = None
    namespaces: frozenset[str] | None = None

    def allows(self, namespace: str) -> bool:
        return self.namespaces is None or namespace in self.namespaces


class AccessDenied(QueryError):
    """The asker may not ask this here. Worded by templates/errors/refused.txt.j2 (by `problem`),
    which names the scope (workspace, cluster, namespaces) and never the object asked about."""

    template: ClassVar[str] = "refused"

    def __init__(self, problem: str, **fields: object) -> None:
        super().__init__(f"access denied: {problem}")
        self.problem = problem
        self._fields = fields

    def fields(self) -> dict[str, object]:
        return {"problem": self.problem, **self._fields}


@dataclass(frozen=True, slots=True)
class Asker:
    """Who asked, from where (IDs as Slack sends them)."""

    team_id: str
    user_id: str
    channel_id: str


#: user-group ID -> whether the asker belongs to it (resolved lazily, only when a rule needs it).
MemberOf = Callable[[str], bool]


@dataclass(frozen=True, slots=True)
class Policy:
    """The access rules, parsed and checked once at start."""

    allowed_team_ids: frozenset[str] | None = None
    channels: Mapping[str, ChannelBinding] = field(default_factory=dict)
    grants: tuple[Grant, ...] | None = None
    """None: no `permissions` section, everyone may ask about everything."""
    user_langs: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, settings: Settings, cluster_names: Sequence[str] | None = None) -> Policy:
        where = settings.config_file or "K8SBOT_CONFIG"
        raw = settings.raw
        slack = _mapping(raw.get("slack"), f"{where}: slack")
        teams = slack.get("allowed_team_ids")
        known = list(settings.clusters) if cluster_names is None else list(cluster_names)
        channels: dict[str, ChannelBinding] = {}
        for channel, spec in _mapping(raw.get("channels"), f"{where}: channels").items():
            spec_map = _mapping(spec, f"{where}: channels.{channel}")
            cluster = spec_map.get("cluster")
            if cluster is not None and known and str(cluster) not in known:
                raise SettingsError(
                    f"{where}: channels.{channel}.cluster {cluster!r} is not under `clusters`"
                    f" (have: {', '.join(known)})"
                )
            allowed = spec_map.get("allowed_namespaces")
            channels[str(channel)] = ChannelBinding(
                channel=str(channel),
                cluster=None if cluster is None else str(cluster),
                namespace=None if spec_map.get("namespace") is None else str(spec_map["namespace"]),
                allowed_namespaces=_names(allowed, f"{where}: channels.{channel}.allowed_namespaces"),
                lang=_lang(spec_map.get("lang"), f"{where}: channels.{channel}.lang"),
            )
        user_langs: dict[str, str] = {}
        for user, spec in _mapping(raw.get("users"), f"{where}: users").items():
            lang = _lang(_mapping(spec, f"{where}: users.{user}").get("lang"), f"{where}: users.{user}.lang")
            if lang:
                user_langs[user] = lang
        grants: tuple[Grant, ...] | None = None
        if "permissions" in raw:
            rules = raw.get("permissions") or []
            if not isinstance(rules, list):
                raise SettingsError(f"{where}: `permissions` must be a list of rules")
            out: list[Grant] = []
            for i, rule in enumerate(rules):
                r = _mapping(rule, f"{where}: permissions[{i}]")
                if "cluster" not in r:
                    raise SettingsError(f'{where}: permissions[{i}] needs `cluster` (a name or "*")')
                users = _names(r.get("users"), f"{where}: permissions[{i}].users") or frozenset()
                groups = _names(r.get("user_groups"), f"{where}: permissions[{i}].user_groups") or frozenset()
                if not users and not groups:
                    raise SettingsError(f"{where}: permissions[{i}] names no `users` or `user_groups`")
                out.append(
                    Grant(
                        cluster=str(r["cluster"]),
                        namespaces=_names(r.get("namespaces"), f"{where}: permissions[{i}].namespaces"),
                        users=users,
                        user_groups=groups,
                    )
                )
            grants = tuple(out)
        return cls(
            allowed_team_ids=_names(teams, f"{where}: slack.allowed_team_ids"),
            channels=channels,
            grants=grants,
            user_langs=user_langs,
        )

    # -- decisions -----------------------------------------------------------------------------

    def team_allowed(self, team_id: str, own_team: str | None) -> bool:
        """Requests from a workspace we were not configured for are refused."""
        if self.allowed_team_ids is not None:
            return team_id in self.allowed_team_ids
        return own_team is None or team_id == own_team

    def binding(self, channel_id: str) -> ChannelBinding | None:
        return self.channels.get(channel_id)

    def langs(self, asker: Asker) -> tuple[str | None, str | None]:
        """The asker's and the channel's configured languages (None: not set)."""
        binding = self.channels.get(asker.channel_id)
        return self.user_langs.get(asker.user_id), binding.lang if binding else None

    def scope(
        self,
        asker: Asker,
        *,
        cluster_asked: str | None,
        namespace_asked: str | None,
        default_cluster: str | None,
        member_of: MemberOf,
    ) -> Scope | AccessDenied:
        """Where this asker may read for this question, or why not at all."""
        binding = self.binding(asker.channel_id)
        if binding is not None and binding.cluster is not None:
            if cluster_asked is not None and cluster_asked != binding.cluster:
                return AccessDenied("channel_cluster", cluster=binding.cluster, asked=cluster_asked)
            cluster: str | None = binding.cluster
        else:
            cluster = cluster_asked or default_cluster
        # No configured clusters: the kubeconfig's or in-cluster one, which Clusters names "default".
        user_ns = self._granted(asker.user_id, cluster or IMPLICIT_CLUSTER, member_of)
        if isinstance(user_ns, AccessDenied):
            return user_ns
        channel_ns = binding.allowed_namespaces if binding else None
        if user_ns is None:
            allowed = channel_ns
        elif channel_ns is None:
            allowed = user_ns
        else:
            allowed = user_ns & channel_ns
        if allowed is not None and not allowed:
            return AccessDenied("no_namespace_here", cluster=cluster or IMPLICIT_CLUSTER)
        # `-n a,b` (digest scopes) asks about each namespace: all of them must be allowed.
        asked = [ns for ns in (namespace_asked or "").split(",") if ns]
        outside = [ns for ns in asked if ns not in allowed] if allowed is not None else []
        if allowed is not None and outside:
            return AccessDenied(
                "namespace",
                namespace=",".join(outside),
                cluster=cluster or IMPLICIT_CLUSTER,
                allowed=tuple(sorted(allowed)),
            )
        return Scope(cluster, binding.namespace if binding else None, allowed)

    def _granted(self, user: str, cluster: str, member_of: MemberOf) -> frozenset[str] | AccessDenied | None:
        if self.grants is None:
            return None  # no `permissions` section: everyone may read everything
        rules = [g for g in self.grants if g.cluster in (ANY, cluster)]
        matched = [g for g in rules if user in g.users]
        # Group lookups cost an API call (cached): only for rules the user is not named in directly.
        matched += [
            g for g in rules if g not in matched and any(member_of(grp) for grp in sorted(g.user_groups))
        ]
        if not matched:
            return AccessDenied("cluster", cluster=cluster)
        if any(g.namespaces is None or ANY in g.namespaces for g in matched):
            return None
        out: set[str] = set()
        for g in matched:
            out |= g.namespaces or frozenset()
        return frozenset(out)


def _mapping(value: object, where: str) -> Mapping[str, object]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise SettingsError(f"{where} must be a mapping")
    return {str(k): v for k, v in value.items()}


def _lang(value: object, where: str) -> str | None:
    if value is None:
        return None
    if str(value) not in LANGS:
        raise SettingsError(f"{where} must be one of {', '.join(LANGS)}")
    return str(value)


def _names(value: object, where: str) -> frozenset[str] | None:
    """A list of names (or one name); None when absent or "*"."""
    if value is None:
        return None
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise SettingsError(f"{where} must be a list of names")
    names = frozenset(str(v) for v in items)
    return None if ANY in names else names


# -- the fence: a ClusterView that shows only the allowed namespaces -----------------------------


class FencedView(WrappingView):
    """Wraps a view so objects outside `namespaces` do not exist (cluster-scoped kinds stay visible,
    except Namespaces and PersistentVolumes, which name namespaces)."""

    def __init__(self, inner: BaseView, namespaces: frozenset[str]) -> None:
        super().__init__(inner)
        self._allowed = namespaces

    def _visible(self, obj: Obj) -> bool:
        if obj.kind == "Namespace":
            return obj.name in self._allowed
        if obj.kind == "PersistentVolume":
            claim_ns = obj.text("spec", "claimRef", "namespace")
            return not claim_ns or claim_ns in self._allowed
        return not obj.namespace or obj.namespace in self._allowed

    def get(self, kind: str, namespace: str | None, name: str) -> Obj | None:
        k = KINDS.get(kind)
        if k is not None and k.namespaced and (namespace or "default") not in self._allowed:
            return None
        if kind == "Namespace" and name not in self._allowed:
            return None
        obj = self._inner.get(kind, namespace, name)
        return obj if obj is None or self._visible(obj) else None

    def list(
        self, kind: str, namespace: str | None = None, *, labels: Mapping[str, str] | None = None
    ) -> Sequence[Obj]:
        k = KINDS.get(kind)
        if namespace is not None and k is not None and k.namespaced:
            return self._inner.list(kind, namespace, labels=labels) if namespace in self._allowed else []
        if namespace is None and k is not None and k.namespaced and len(self._allowed) <= 5:
            # A few namespaces: ask for each rather than list the whole cluster and throw most away.
            return [o for ns in sorted(self._allowed) for o in self._inner.list(kind, ns, labels=labels)]
        return [o for o in self._inner.list(kind, namespace, labels=labels) if self._visible(o)]

    def _events_for(self, obj: Obj) -> Sequence[Obj]:
        if not self._visible(obj):
            return ()
        return [e for e in self._inner.events(obj) if self._visible(e)]

    def log(self, namespace: str, pod: str, container: str, *, previous: bool, tail: int = 50) -> str | None:
        if namespace not in self._allowed:
            return None
        return self._inner.log(namespace, pod, container, previous=previous, tail=tail)

    def namespaces(self) -> Sequence[str]:
        return [ns for ns in self._inner.namespaces() if ns in self._allowed]


class ScopedClusters(Clusters):
    """The configured clusters as one asker in one channel may see them: the scope's cluster by
    default, and a FencedView when the scope limits namespaces. Passed to `dispatch.ask`."""

    def __init__(self, inner: Clusters, scope: Scope) -> None:
        # Deliberately no super().__init__(): this is a view over `inner`, which owns the state.
        self._inner = inner
        self._scope = scope

    @property
    def names(self) -> list[str]:
        return self._inner.names

    @property
    def default(self) -> str | None:
        return self._scope.cluster or self._inner.default

    def config(self, name: str | None) -> ClusterConfig | None:
        return self._inner.config(name or self._scope.cluster)

    def open(self, name: str | None = None, *, fresh: bool = False) -> Opened:
        opened = self._inner.open(name or self._scope.cluster, fresh=fresh)
        if self._scope.namespaces is None:
            return opened
        return Opened(
            FencedView(opened.view, self._scope.namespaces), opened.cluster_domain, opened.default_namespace
        )

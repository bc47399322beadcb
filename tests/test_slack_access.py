"""bot/access.py's rules, decided in-process: what one asker may read in one channel."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.access import AccessDenied, Asker, Policy, Scope
from bot.config import Settings, SettingsError

RULES = {
    "clusters": {
        "prod": {"snapshot": "tests/fixtures/slack"},
        "staging": {"snapshot": "tests/fixtures/slack"},
    },
    "slack": {"allowed_team_ids": ["T0FAKE", "T0SISTER"]},
    "channels": {
        "C0LOGGING": {
            "cluster": "prod",
            "namespace": "logging",
            "allowed_namespaces": ["logging", "monitoring"],
        },
        "C0ANY": {"namespace": "shop"},
    },
    "permissions": [
        {"cluster": "prod", "namespaces": ["logging", "shop"], "users": ["U0ANN"]},
        {"cluster": "*", "namespaces": "*", "user_groups": ["S0SRE"]},
        {"cluster": "staging", "users": ["U0ANN"]},
    ],
}


def _policy(tmp_path: Path, rules: dict[str, object]) -> Policy:
    path = tmp_path / "k8sbot.yaml"
    path.write_text(yaml.safe_dump(rules), encoding="utf-8")
    return Policy.from_settings(Settings.from_env({"K8SBOT_CONFIG": str(path)}))


def _scope(
    policy: Policy,
    user: str,
    channel: str,
    *,
    ns: str | None = None,
    cluster: str | None = None,
    groups: tuple[str, ...] = (),
) -> Scope | AccessDenied:
    return policy.scope(
        Asker("T0FAKE", user, channel),
        cluster_asked=cluster,
        namespace_asked=ns,
        default_cluster="prod",
        member_of=lambda g: g in groups,
    )


def test_a_user_reads_what_their_rules_and_the_channel_both_allow(tmp_path: Path) -> None:
    policy = _policy(tmp_path, RULES)
    assert _scope(policy, "U0ANN", "C0LOGGING") == Scope("prod", "logging", frozenset({"logging"}))
    assert _scope(policy, "U0ANN", "C0OPS") == Scope("prod", None, frozenset({"logging", "shop"}))
    assert _scope(policy, "U0ANN", "C0OPS", cluster="staging") == Scope("staging", None, None)
    assert _scope(policy, "U0SRE", "C0ANY", groups=("S0SRE",)) == Scope("prod", "shop", None)


def test_refusals_name_the_scope(tmp_path: Path) -> None:
    policy = _policy(tmp_path, RULES)
    denied = _scope(policy, "U0ANN", "C0LOGGING", ns="monitoring")
    assert isinstance(denied, AccessDenied)
    assert denied.fields() == {
        "problem": "namespace",
        "namespace": "monitoring",
        "cluster": "prod",
        "allowed": ("logging",),
    }
    bob = _scope(policy, "U0BOB", "C0OPS")
    assert isinstance(bob, AccessDenied) and bob.fields() == {"problem": "cluster", "cluster": "prod"}
    other = _scope(policy, "U0ANN", "C0LOGGING", cluster="staging")
    assert isinstance(other, AccessDenied) and other.problem == "channel_cluster"


def test_group_membership_is_only_looked_up_when_a_rule_needs_it(tmp_path: Path) -> None:
    policy = _policy(tmp_path, RULES)
    asked: list[str] = []
    policy.scope(
        Asker("T0FAKE", "U0ANN", "C0OPS"),
        cluster_asked="staging",
        namespace_asked=None,
        default_cluster="prod",
        member_of=lambda g: asked.append(g) or False,
    )
    assert asked == ["S0SRE"]  # the "*" group rule could widen U0ANN's grant; it had to be checked


def test_without_permissions_everyone_reads_everything_but_channels_still_fence(tmp_path: Path) -> None:
    rules = {k: v for k, v in RULES.items() if k != "permissions"}
    policy = _policy(tmp_path, rules)
    assert _scope(policy, "U0ANYONE", "C0OPS", ns="kube-system") == Scope("prod", None, None)
    denied = _scope(policy, "U0ANYONE", "C0LOGGING", ns="kube-system")
    assert isinstance(denied, AccessDenied) and denied.fields()["allowed"] == ("logging", "monitoring")


def test_workspaces(tmp_path: Path) -> None:
    policy = _policy(tmp_path, RULES)
    assert policy.team_allowed("T0SISTER", own_team="T0FAKE")
    assert not policy.team_allowed("T0STRANGER", own_team="T0FAKE")
    default = _policy(tmp_path, {})
    assert default.team_allowed("T0FAKE", own_team="T0FAKE")
    assert not default.team_allowed("T0STRANGER", own_team="T0FAKE")


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ({"permissions": {"U0ANN": "prod"}}, "`permissions` must be a list of rules"),
        ({"permissions": [{"users": ["U0ANN"]}]}, "permissions[0] needs `cluster`"),
        ({"permissions": [{"cluster": "prod"}]}, "permissions[0] names no `users` or `user_groups`"),
        ({"channels": {"C1": ["logging"]}}, "channels.C1 must be a mapping"),
        ({"slack": {"allowed_team_ids": {"T1": 1}}}, "slack.allowed_team_ids must be a list of names"),
    ],
)
def test_bad_rules_fail_at_start_naming_the_key(
    tmp_path: Path, rules: dict[str, object], message: str
) -> None:
    with pytest.raises(SettingsError, match=message.replace("[", r"\[").replace("]", r"\]")):
        _policy(tmp_path, rules)

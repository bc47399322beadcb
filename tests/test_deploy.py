"""deploy/: the image and the kustomize manifests are what issue 9 promises, and stay so.

Every kustomization under deploy/kustomize renders (with `kubectl kustomize` where kubectl is
installed, else with the small kustomize subset below, which is checked against kubectl wherever
both exist) and validates offline against the Kubernetes OpenAPI schemas (kubernetes-validate,
strict: unknown fields are errors). The RBAC is read-only, grants nothing on secrets and grants
exactly the kinds of handlers/kinds.py, read from that table at test time, so a kind added there
without RBAC fails here. The Dockerfile is built where a Docker daemon answers.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator, Mapping
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from handlers.kinds import KINDS
from tests.conftest import ROOT, clean_env, run_cli

DEPLOY = ROOT / "deploy"
KUSTOMIZE = DEPLOY / "kustomize"
DOCKERFILE = DEPLOY / "Dockerfile"
SLACK_MANIFEST = DEPLOY / "slack-app-manifest.yaml"
OPERATIONS = ROOT / "docs" / "operations.md"

#: Every kustomization we ship, relative to deploy/kustomize.
TARGETS = (
    "base",
    "overlays/http",
    "overlays/socket",
    "overlays/external-redis",
    "overlays/namespaced",
)
#: The targets that run `serve --http` (the base's mode) and those that bind the ClusterRole.
HTTP_TARGETS = ("base", "overlays/http", "overlays/external-redis", "overlays/namespaced")
CLUSTER_WIDE = ("base", "overlays/http", "overlays/socket", "overlays/external-redis")

READ = frozenset({"get", "list", "watch"})
NAMESPACE = "k8s-bot"
SERVICE_ACCOUNT = {"kind": "ServiceAccount", "name": "k8s-bot", "namespace": NAMESPACE}
#: `FencedView.list` (bot/access.py) reads namespace by namespace up to this many allowed
#: namespaces; beyond, it lists across all namespaces, which no Role can grant.
FENCE_PER_NAMESPACE_MAX = 5


# -- a kustomize subset: exactly what our kustomizations use ----------------------------------
# resources (files and directories), patches (strategic merge without lists, or JSON6902 with
# add/remove/replace/test and a target), labels (metadata only) and images. Anything else in a
# kustomization.yaml fails loudly here, so the overlays stay simple enough to render without kubectl.


class KustomizeError(Exception):
    """A kustomization uses something this subset does not implement, or a patch does not apply."""


def _docs(path: Path) -> list[Any]:
    return [d for d in yaml.safe_load_all(path.read_text(encoding="utf-8")) if d is not None]


def _group_version(obj: Mapping[str, Any]) -> tuple[str, str]:
    group, _, version = str(obj.get("apiVersion", "")).rpartition("/")
    return group, version


def identity(obj: Mapping[str, Any]) -> tuple[str, str, str, str]:
    meta = obj.get("metadata") or {}
    return (obj["apiVersion"], obj["kind"], meta.get("namespace") or "", meta["name"])


def _selected(obj: Mapping[str, Any], target: Mapping[str, str]) -> bool:
    unknown = set(target) - {"group", "version", "kind", "name", "namespace"}
    if unknown:
        raise KustomizeError(f"target selector keys not supported: {sorted(unknown)}")
    group, version = _group_version(obj)
    have = {
        "group": group,
        "version": version,
        "kind": obj.get("kind"),
        "name": obj["metadata"]["name"],
        "namespace": obj["metadata"].get("namespace"),
    }
    return all(have[k] == v for k, v in target.items())


def _pointer(path: str) -> list[str]:
    if not path.startswith("/"):
        raise KustomizeError(f"not a JSON pointer: {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _walk(doc: Any, parts: list[str]) -> Any:
    for part in parts:
        doc = doc[int(part)] if isinstance(doc, list) else doc[part]
    return doc


def json_patch(obj: dict[str, Any], ops: list[Mapping[str, Any]]) -> None:
    """RFC 6902 add/remove/replace/test, in place; KustomizeError when an op does not apply."""
    for op in ops:
        parts = _pointer(op["path"])
        try:
            parent = _walk(obj, parts[:-1])
            last = parts[-1]
            if op["op"] == "test":
                if _walk(parent, [last]) != op["value"]:
                    raise KustomizeError(f"test failed at {op['path']}")
            elif op["op"] == "remove":
                del parent[int(last) if isinstance(parent, list) else last]
            elif op["op"] == "replace":
                key = int(last) if isinstance(parent, list) else last
                _ = parent[key]  # it must exist: `replace` never adds
                parent[key] = copy.deepcopy(op["value"])
            elif op["op"] == "add":
                value = copy.deepcopy(op["value"])
                if isinstance(parent, list):
                    parent.insert(len(parent) if last == "-" else int(last), value)
                else:
                    parent[last] = value
            else:
                raise KustomizeError(f"JSON patch op {op['op']!r} not supported")
        except (KeyError, IndexError, ValueError, TypeError) as err:
            raise KustomizeError(f"{op['op']} {op['path']}: {err!r}") from None


def _merge(into: dict[str, Any], patch: Mapping[str, Any], where: str) -> None:
    for key, value in patch.items():
        if key.startswith("$"):
            raise KustomizeError(f"{where}.{key}: directive not supported here")
        if value is None:
            into.pop(key, None)
        elif isinstance(value, list):
            raise KustomizeError(f"{where}.{key}: lists need merge keys; use a JSON6902 patch")
        elif isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value, f"{where}.{key}")
        else:
            into[key] = copy.deepcopy(value)


def strategic_merge(objects: list[dict[str, Any]], patch: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Merge a patch object into the object with its kind and name, or delete it (`$patch: delete`)."""
    patch = dict(patch)
    directive = patch.pop("$patch", None)
    meta = patch.get("metadata") or {}
    target = {"kind": patch["kind"], "name": meta["name"]}
    if meta.get("namespace"):
        target["namespace"] = meta["namespace"]
    group, version = _group_version(patch)
    target.update(group=group, version=version)
    hits = [o for o in objects if _selected(o, target)]
    if len(hits) != 1:
        raise KustomizeError(f"patch for {target} matches {len(hits)} objects")
    if directive == "delete":
        return [o for o in objects if o is not hits[0]]
    if directive is not None:
        raise KustomizeError(f"$patch: {directive} not supported")
    _merge(hits[0], patch, patch["kind"])
    return objects


def _containers(obj: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    pod = ((obj.get("spec") or {}).get("template") or {}).get("spec") or {}
    yield from pod.get("initContainers") or ()
    yield from pod.get("containers") or ()


def _image_name(image: str) -> str:
    image = image.split("@", 1)[0]
    head, _, tail = image.rpartition(":")
    return head if head and "/" not in tail else image


def kustomize_lite(directory: Path) -> list[dict[str, Any]]:
    spec = yaml.safe_load((directory / "kustomization.yaml").read_text(encoding="utf-8"))
    unknown = set(spec) - {"apiVersion", "kind", "resources", "patches", "labels", "images"}
    if unknown:
        raise KustomizeError(f"{directory}: fields not supported: {sorted(unknown)}")
    objects: list[dict[str, Any]] = []
    for entry in spec.get("resources") or ():
        path = directory / entry
        objects += kustomize_lite(path) if path.is_dir() else _docs(path)
    for patch in spec.get("patches") or ():
        if set(patch) - {"path", "target"}:
            raise KustomizeError(f"{directory}: patch fields not supported: {sorted(patch)}")
        docs = _docs(directory / patch["path"])
        if len(docs) == 1 and isinstance(docs[0], list):
            hits = [o for o in objects if _selected(o, patch.get("target") or {})]
            if not patch.get("target") or not hits:
                raise KustomizeError(f"{patch['path']}: a JSON patch needs a target that matches")
            for obj in hits:
                json_patch(obj, docs[0])
        else:
            for doc in docs:
                objects = strategic_merge(objects, doc)
    for label in spec.get("labels") or ():
        if set(label) - {"pairs", "includeSelectors"} or label.get("includeSelectors"):
            raise KustomizeError(f"{directory}: only metadata labels are supported")
        for obj in objects:
            obj.setdefault("metadata", {}).setdefault("labels", {}).update(label["pairs"])
    for image in spec.get("images") or ():
        for obj in objects:
            for c in _containers(obj):
                if _image_name(c["image"]) == image["name"]:
                    c["image"] = f"{image.get('newName', image['name'])}:{image['newTag']}"
    return objects


# -- rendering --------------------------------------------------------------------------------


def _kubectl_with_kustomize_v4() -> str | None:
    """kubectl, if its built-in kustomize knows `labels` and `patches` (v4.1+, kubectl 1.22+).
    Debian bookworm's kubernetes-client is 1.20 (kustomize v2): the subset renders instead."""
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        return None
    run = subprocess.run(
        [kubectl, "version", "--client", "-o", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    try:
        version = json.loads(run.stdout).get("kustomizeVersion", "")
    except ValueError:
        return None
    found = re.match(r"v(\d+)\.(\d+)", version)
    return kubectl if found and (int(found[1]), int(found[2])) >= (4, 1) else None


KUBECTL = _kubectl_with_kustomize_v4()


@cache
def _kubectl_render(target: str) -> str:
    assert KUBECTL is not None
    run = subprocess.run(
        [KUBECTL, "kustomize", str(KUSTOMIZE / target)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=clean_env(),
    )
    assert run.returncode == 0, f"kubectl kustomize {target} failed:\n{run.stderr}"
    return run.stdout


def render(target: str) -> list[dict[str, Any]]:
    """The objects `kubectl apply -k` would send (kubectl's own renderer when it is installed)."""
    if KUBECTL is not None:
        return _docs_from_text(_kubectl_render(target))
    return kustomize_lite(KUSTOMIZE / target)


def _docs_from_text(text: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(text) if d is not None]


def by_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind]


def one(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    (hit,) = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    return hit


def container(deployment: Mapping[str, Any], name: str) -> dict[str, Any]:
    (hit,) = [c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == name]
    return hit


def env_of(c: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["name"]: e for e in c.get("env") or ()}


def config_of(objects: list[dict[str, Any]]) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(one(objects, "ConfigMap", "k8s-bot-config")["data"]["config.yaml"])
    return data


# -- the manifests render and are valid Kubernetes objects ----------------------------------------


@pytest.mark.parametrize("target", TARGETS)
def test_every_kustomization_renders_to_distinct_named_objects(target: str) -> None:
    objects = render(target)
    assert len(objects) >= 10
    ids = [identity(o) for o in objects]
    assert len(ids) == len(set(ids)), "two objects with the same identity"
    namespaced = {k.kind for k in KINDS.values() if k.namespaced} | {
        "Role",
        "RoleBinding",
        "NetworkPolicy",
        "PodDisruptionBudget",
    }
    for obj in objects:
        if obj["kind"] in namespaced:
            # Never silently in `default`: every namespaced object names its namespace.
            assert obj["metadata"].get("namespace"), identity(obj)
        assert obj["metadata"]["labels"]["app.kubernetes.io/part-of"] == "k8s-bot", identity(obj)
    # No credentials are ever committed: the Slack tokens come from a Secret made by the operator.
    assert not by_kind(objects, "Secret")


@pytest.mark.parametrize("target", TARGETS)
def test_the_kustomize_subset_renders_exactly_as_kubectl_does(target: str) -> None:
    if KUBECTL is None:
        pytest.skip("no kubectl with kustomize v4.1+: the manifests are rendered by the subset alone")
    ours = {identity(o): o for o in kustomize_lite(KUSTOMIZE / target)}
    theirs = {identity(o): o for o in _docs_from_text(_kubectl_render(target))}
    assert sorted(ours) == sorted(theirs)
    for key, obj in theirs.items():
        assert ours[key] == obj, key


def test_the_kustomize_subset_refuses_what_it_does_not_implement(tmp_path: Path) -> None:
    (tmp_path / "cm.yaml").write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n")
    (tmp_path / "kustomization.yaml").write_text("resources: [cm.yaml]\nnamePrefix: x-\n")
    with pytest.raises(KustomizeError, match="namePrefix"):
        kustomize_lite(tmp_path)
    obj = {"spec": {"env": [{"name": "A"}]}}
    with pytest.raises(KustomizeError, match="test failed"):
        json_patch(obj, [{"op": "test", "path": "/spec/env/0/name", "value": "B"}])


@pytest.mark.parametrize("target", TARGETS)
def test_the_manifests_validate_offline_against_the_kubernetes_schemas(target: str) -> None:
    # kubernetes-validate ships the OpenAPI schemas of each Kubernetes release: no network needed.
    # It is a dev dependency (pyproject.toml); an ImportError here means `make install` is stale.
    import kubernetes_validate

    oldest = "1.25"  # policy/v1 PDBs, seccompProfile and the namespace name label are all older
    for version in (oldest, kubernetes_validate.latest_version()):
        for obj in render(target):
            try:
                kubernetes_validate.validate(obj, version, strict=True)
            except kubernetes_validate.ValidationError as err:
                pytest.fail(f"{identity(obj)} invalid for Kubernetes {version}: {err.message}")


def test_the_schema_check_rejects_an_unknown_field() -> None:
    import kubernetes_validate

    deployment = copy.deepcopy(one(render("base"), "Deployment", "k8s-bot"))
    container(deployment, "bot")["securityContext"]["readOnlyRootFileSystem"] = True  # sic: capital S
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, kubernetes_validate.latest_version(), strict=True)


# -- RBAC: read-only, no secrets, exactly the kinds the code reads ----------------------------------


def grants(rules: list[Mapping[str, Any]]) -> set[tuple[str, str, str]]:
    """(apiGroup, resource, verb) triples a list of policy rules grants."""
    return {
        (group, resource, verb)
        for rule in rules
        for group in rule.get("apiGroups") or ()
        for resource in rule.get("resources") or ()
        for verb in rule.get("verbs") or ()
    }


def rbac_problems(objects: list[dict[str, Any]]) -> list[str]:
    """Everything that would make the RBAC more than read-only, or touch secrets."""
    problems: list[str] = []
    roles = {(o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]) for o in objects}
    for obj in by_kind(objects, "ClusterRole") + by_kind(objects, "Role"):
        name = f"{obj['kind']} {obj['metadata']['name']}"
        if obj.get("aggregationRule"):
            problems.append(f"{name}: aggregationRule pulls in rules from elsewhere")
        for rule in obj.get("rules") or ():
            if rule.get("nonResourceURLs"):
                problems.append(f"{name}: nonResourceURLs {rule['nonResourceURLs']}")
            for verb in rule.get("verbs") or ():
                if verb not in READ:
                    problems.append(f"{name}: verb {verb!r}")
            for field in ("apiGroups", "resources"):
                if "*" in (rule.get(field) or ()):
                    problems.append(f"{name}: `*` in {field}")
            for resource in rule.get("resources") or ():
                if resource.split("/")[0] == "secrets":
                    problems.append(f"{name}: {resource}")
    for obj in by_kind(objects, "ClusterRoleBinding") + by_kind(objects, "RoleBinding"):
        ref = obj["roleRef"]
        ns = obj["metadata"].get("namespace") if ref["kind"] == "Role" else None
        if (ref["kind"], ns, ref["name"]) not in roles:
            # e.g. the built-in `view` or `cluster-admin`: rules we cannot see or check.
            problems.append(f"{obj['kind']} {obj['metadata']['name']}: binds {ref['kind']} {ref['name']}")
        if obj.get("subjects") != [SERVICE_ACCOUNT]:
            problems.append(f"{obj['kind']} {obj['metadata']['name']}: subjects {obj.get('subjects')}")
    return problems


def test_the_rbac_check_catches_wildcards_writes_and_secrets() -> None:
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": "x"},
        "rules": [
            {"apiGroups": [""], "resources": ["*"], "verbs": ["get"]},
            {"apiGroups": ["*"], "resources": ["pods"], "verbs": ["*"]},
            {"apiGroups": [""], "resources": ["secrets"], "verbs": ["list"]},
            {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": ["patch"]},
        ],
    }
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": "y"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "view"},
        "subjects": [SERVICE_ACCOUNT],
    }
    found = "\n".join(rbac_problems([role, binding]))
    for expected in ("`*` in resources", "`*` in apiGroups", "verb '*'", "secrets", "'patch'", "view"):
        assert expected in found


@pytest.mark.parametrize("target", TARGETS)
def test_the_rbac_is_read_only_and_grants_nothing_on_secrets(target: str) -> None:
    objects = render(target)
    assert by_kind(objects, "ClusterRole") + by_kind(objects, "Role"), "no RBAC rendered at all"
    assert rbac_problems(objects) == []


def expected_grants(*, namespaced_only: bool) -> set[tuple[str, str, str]]:
    """From handlers/kinds.py: get/list/watch on every kind the bot reads, plus get on pods/log."""
    kinds = [k for k in KINDS.values() if k.namespaced or not namespaced_only]
    return {(k.group, k.plural, verb) for k in kinds for verb in READ} | {("", "pods/log", "get")}


@pytest.mark.parametrize("target", CLUSTER_WIDE)
def test_the_clusterrole_grants_exactly_the_kinds_the_code_reads(target: str) -> None:
    objects = render(target)
    (role,) = by_kind(objects, "ClusterRole")
    assert grants(role["rules"]) == expected_grants(namespaced_only=False)
    (binding,) = by_kind(objects, "ClusterRoleBinding")
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io",
        "kind": "ClusterRole",
        "name": role["metadata"]["name"],
    }
    assert not by_kind(objects, "Role") and not by_kind(objects, "RoleBinding")


def test_the_namespaced_overlay_grants_every_namespaced_kind_in_each_watched_namespace() -> None:
    objects = render("overlays/namespaced")
    assert not by_kind(objects, "ClusterRole") and not by_kind(objects, "ClusterRoleBinding")
    roles = by_kind(objects, "Role")
    watched = {r["metadata"]["namespace"] for r in roles}
    assert len(roles) == len(watched) >= 1
    for role in roles:
        assert grants(role["rules"]) == expected_grants(namespaced_only=True), role["metadata"]
    bound = {
        (b["metadata"]["namespace"], b["roleRef"]["name"])
        for b in by_kind(objects, "RoleBinding")
        if b["roleRef"]["kind"] == "Role"
    }
    assert bound == {(r["metadata"]["namespace"], r["metadata"]["name"]) for r in roles}
    # The example config keeps every channel inside the watched namespaces, few enough that the
    # bot reads them one by one instead of listing the whole cluster.
    channels = config_of(objects)["channels"]
    assert channels
    for channel, binding in channels.items():
        allowed = set(binding["allowed_namespaces"])
        assert allowed <= watched, channel
        assert 0 < len(allowed) <= FENCE_PER_NAMESPACE_MAX, channel
        assert binding["namespace"] in allowed, channel


def test_the_operator_docs_name_every_kind_the_namespaced_install_cannot_read() -> None:
    text = OPERATIONS.read_text(encoding="utf-8")
    section = text[text.index("## Namespaced RBAC") :]
    section = section[: section.find("\n## ", 1) if "\n## " in section[1:] else None].lower()
    for k in KINDS.values():
        if not k.namespaced:
            assert k.plural in section, f"docs/operations.md does not say what happens to {k.plural}"


def _route(path: str, query: Mapping[str, str]) -> tuple[str, str, str] | None:
    """(group, resource, verb) of an API request; None for discovery (allowed to every user)."""
    from tests.fakes.kube_api import parse_path

    route = parse_path(path)
    if isinstance(route, tuple):
        return None
    if route is None:
        return ("?", path, "?")  # not a kind the fake (and so handlers/kinds.py) knows
    if route.sub == "log":
        return (route.kind.group, "pods/log", "get")
    verb = "get" if route.name else ("watch" if query.get("watch") in ("1", "true") else "list")
    return (route.kind.group, route.kind.plural, verb)


def test_every_request_the_bot_makes_answering_questions_is_granted(fake_kube: Any) -> None:
    """From the outside: questions like the README's against a live (fake) API server, and every
    request they cause checked against the rendered ClusterRole."""
    fake_kube.serve(ROOT / "examples" / "cluster")
    # Between them these read every kind the verbs use: the digest lists nearly all of them.
    questions = [
        "digest",
        "why es-2 -n logging",
        "exit es-2 -n logging",
        "trace shop.example.com/cart",
        "dns redis-cluster 0 -n wiseco",
        "endpoints checkout -n shop",
    ]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "bot", "ask", q],
            cwd=ROOT,
            env=fake_kube.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for q in questions
    ]
    for q, proc in zip(questions, procs, strict=True):
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, f"{q}: {err}"
    (role,) = by_kind(render("base"), "ClusterRole")
    allowed = grants(role["rules"])
    asked = {r for req in fake_kube.requests if (r := _route(req.path, req.query)) is not None}
    # pods/log: the previous log tail of es-2's crashed container; the rest of the digest's lists.
    assert {("", "pods/log", "get"), ("", "pods", "list"), ("", "nodes", "list")} <= asked
    assert asked - allowed == set()


# -- the bot Deployment ---------------------------------------------------------------------------


@pytest.mark.parametrize("target", TARGETS)
def test_the_bot_runs_hardened_with_its_tokens_from_a_secret(target: str) -> None:
    objects = render(target)
    deployment = one(objects, "Deployment", "k8s-bot")
    assert deployment["spec"]["replicas"] == 2
    pod = deployment["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "k8s-bot"
    assert pod["automountServiceAccountToken"] is True  # it reads the API with that token
    pod_sc = pod["securityContext"]
    assert pod_sc["runAsNonRoot"] is True
    assert isinstance(pod_sc["runAsUser"], int) and pod_sc["runAsUser"] > 0
    assert pod_sc["seccompProfile"] == {"type": "RuntimeDefault"}
    bot = container(deployment, "bot")
    sc = bot["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert sc["runAsNonRoot"] is True and sc["runAsUser"] == pod_sc["runAsUser"]
    assert sc["seccompProfile"] == {"type": "RuntimeDefault"}
    assert sc["runAsUser"] == _dockerfile_user()[0], "the manifests and the image disagree on the user"
    assert bot["image"] != "k8s-bot", "the images: transformer did not apply"
    for kind in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(bot["resources"][kind])
    # The only writable place is an emptyDir at /tmp, where HOME and TMPDIR point.
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in bot["volumeMounts"]}
    assert "emptyDir" in volumes[mounts["/tmp"]]
    env = env_of(bot)
    assert env["HOME"]["value"] == env["TMPDIR"]["value"] == "/tmp"
    config = mounts[str(Path(env["K8SBOT_CONFIG"]["value"]).parent)]
    assert volumes[config]["configMap"]["name"] == "k8s-bot-config"
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN"):
        ref = env[name]["valueFrom"]["secretKeyRef"]
        assert "value" not in env[name]
        assert ref["name"] == "k8s-bot-slack" and ref["key"] == name
    assert env["SLACK_BOT_TOKEN"]["valueFrom"]["secretKeyRef"].get("optional") in (None, False)
    for e in bot["env"]:
        assert not str(e.get("value", "")).startswith(("xox", "xapp")), "a token in the manifest"
    pdb = one(objects, "PodDisruptionBudget", "k8s-bot")
    assert pdb["spec"]["minAvailable"] == 1
    assert pdb["spec"]["selector"]["matchLabels"] == deployment["spec"]["selector"]["matchLabels"]


@pytest.mark.parametrize("target", HTTP_TARGETS)
def test_http_mode_probes_healthz_and_announces_its_metrics(target: str) -> None:
    objects = render(target)
    deployment = one(objects, "Deployment", "k8s-bot")
    bot = container(deployment, "bot")
    assert bot["args"][0] == "--http"
    port = int(bot["args"][bot["args"].index("--port") + 1])
    (http,) = bot["ports"]
    assert (http["name"], http["containerPort"]) == ("http", port)
    for probe in ("livenessProbe", "readinessProbe"):
        assert bot[probe]["httpGet"] == {"path": "/healthz", "port": "http"}, probe
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations == {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": str(port),
        "prometheus.io/path": "/metrics",
    }
    policy = one(objects, "NetworkPolicy", "k8s-bot")
    assert policy["spec"]["ingress"] == [{"ports": [{"port": port, "protocol": "TCP"}]}]
    if target != "base":  # the http overlay (and those built on it): the signing secret is required
        ref = env_of(bot)["SLACK_SIGNING_SECRET"]["valueFrom"]["secretKeyRef"]
        assert ref["optional"] is False


def test_socket_mode_listens_nowhere_and_needs_the_app_token() -> None:
    objects = render("overlays/socket")
    deployment = one(objects, "Deployment", "k8s-bot")
    bot = container(deployment, "bot")
    assert bot["args"] == ["--socket"]
    for absent in ("ports", "livenessProbe", "readinessProbe"):
        assert absent not in bot
    assert not deployment["spec"]["template"]["metadata"].get("annotations")
    assert not [o for o in by_kind(objects, "Service") if o["metadata"]["name"] == "k8s-bot"]
    assert not by_kind(objects, "Ingress")
    policy = one(objects, "NetworkPolicy", "k8s-bot")
    assert "Ingress" in policy["spec"]["policyTypes"] and policy["spec"]["ingress"] == []
    assert env_of(bot)["SLACK_APP_TOKEN"]["valueFrom"]["secretKeyRef"]["optional"] is False


def test_the_ingress_publishes_only_slack_events_on_the_slack_apps_url() -> None:
    objects = render("overlays/http")
    (ingress,) = by_kind(objects, "Ingress")
    (rule,) = ingress["spec"]["rules"]
    (path,) = rule["http"]["paths"]
    assert (path["path"], path["pathType"]) == ("/slack/events", "Exact")
    backend = path["backend"]["service"]
    service = one(objects, "Service", backend["name"])
    assert backend["port"]["name"] in {p["name"] for p in service["spec"]["ports"]}
    deployment = one(objects, "Deployment", "k8s-bot")
    assert service["spec"]["selector"] == deployment["spec"]["selector"]["matchLabels"]
    target_port = next(
        p["targetPort"] for p in service["spec"]["ports"] if p["name"] == backend["port"]["name"]
    )
    assert target_port in {p["name"] for p in container(deployment, "bot")["ports"]}
    assert rule["host"] in ingress["spec"]["tls"][0]["hosts"]
    if SLACK_MANIFEST.exists():  # the Slack helper's file: the app must call this very URL
        manifest = yaml.safe_load(SLACK_MANIFEST.read_text(encoding="utf-8"))
        urls = {c["url"] for c in manifest["features"]["slash_commands"]} | {
            manifest["settings"]["event_subscriptions"]["request_url"],
            manifest["settings"]["interactivity"]["request_url"],
        }
        assert urls == {f"https://{rule['host']}{path['path']}"}


@pytest.mark.parametrize("target", TARGETS)
def test_the_network_policy_lets_the_bot_reach_dns_the_api_redis_and_slack_only(target: str) -> None:
    objects = render(target)
    policy = one(objects, "NetworkPolicy", "k8s-bot")["spec"]
    assert set(policy["policyTypes"]) == {"Ingress", "Egress"}
    dns, api, redis, slack = policy["egress"]
    assert dns["to"] == [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
        }
    ]
    assert sorted((p["port"], p["protocol"]) for p in dns["ports"]) == [(53, "TCP"), (53, "UDP")]
    assert sorted(p["port"] for p in api["ports"]) == [443, 6443]
    assert [p["port"] for p in slack["ports"]] == [443]
    bundled = [d for d in by_kind(objects, "Deployment") if d["metadata"]["name"] == "k8s-bot-redis"]
    url = env_of(container(one(objects, "Deployment", "k8s-bot"), "bot"))["REDIS_URL"]
    if bundled:
        redis_labels = bundled[0]["spec"]["template"]["metadata"]["labels"]
        assert redis["to"] == [{"podSelector": {"matchLabels": redis_labels}}]
        service = one(objects, "Service", "k8s-bot-redis")
        assert (
            url["value"] == f"redis://{service['metadata']['name']}:{service['spec']['ports'][0]['port']}/0"
        )
        assert service["spec"]["selector"] == redis_labels
        # Redis: reachable from the bot only, reaching nothing.
        own = one(objects, "NetworkPolicy", "k8s-bot-redis")["spec"]
        bot_labels = one(objects, "Deployment", "k8s-bot")["spec"]["template"]["metadata"]["labels"]
        assert own["ingress"] == [
            {
                "from": [{"podSelector": {"matchLabels": bot_labels}}],
                "ports": [{"port": 6379, "protocol": "TCP"}],
            }
        ]
        assert own["egress"] == [] and set(own["policyTypes"]) == {"Ingress", "Egress"}
    else:
        assert target == "overlays/external-redis"
        assert url["valueFrom"]["secretKeyRef"] == {"name": "k8s-bot-redis", "key": "REDIS_URL"}
        assert 6379 in [p["port"] for p in redis["ports"]]
        assert not [o for o in objects if "redis" in o["metadata"]["name"] and o["kind"] != "Deployment"]


@pytest.mark.parametrize("target", ("base", "overlays/socket", "overlays/namespaced"))
def test_the_bundled_redis_is_ephemeral_non_root_and_read_only(target: str) -> None:
    deployment = one(render(target), "Deployment", "k8s-bot-redis")
    pod = deployment["spec"]["template"]["spec"]
    redis = container(deployment, "redis")
    args = redis["args"]
    assert args[args.index("--save") + 1] == "" and args[args.index("--appendonly") + 1] == "no"
    assert pod["automountServiceAccountToken"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] > 0
    sc = redis["securityContext"]
    assert sc["readOnlyRootFilesystem"] is True and sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"] == {"drop": ["ALL"]}
    data = next(m for m in redis["volumeMounts"] if m["mountPath"] == "/data")
    assert "emptyDir" in next(v for v in pod["volumes"] if v["name"] == data["name"])


@pytest.mark.parametrize("target", ("base", "overlays/namespaced"))
def test_the_example_config_is_accepted_by_the_bot(target: str, tmp_path: Path) -> None:
    """The ConfigMap's K8SBOT_CONFIG through the code's own parsers (what `serve` runs at start)."""
    from bot.access import Policy
    from bot.config import Settings
    from bot.ratelimit import RateLimitConfig
    from bot.scheduler import load_schedules

    path = tmp_path / "config.yaml"
    path.write_text(one(render(target), "ConfigMap", "k8s-bot-config")["data"]["config.yaml"])
    settings = Settings.from_env({"K8SBOT_CONFIG": str(path)})
    policy = Policy.from_settings(settings)
    load_schedules(settings)
    RateLimitConfig.from_settings(settings)
    assert settings.default_cluster in settings.clusters
    assert policy.channels and all(b.cluster in settings.clusters for b in policy.channels.values())
    # In the pod no kubeconfig exists: a cluster without context/kubeconfig means in-cluster.
    assert all(c.context is None and c.kubeconfig is None for c in settings.clusters.values())


# -- the image ----------------------------------------------------------------------------------


def _stages() -> list[list[str]]:
    """The Dockerfile's instructions (continuations joined, comments dropped), per stage."""
    lines: list[str] = []
    pending = ""
    for raw in DOCKERFILE.read_text(encoding="utf-8").splitlines():
        if raw.strip().startswith("#"):
            continue
        pending += raw.rstrip("\\").strip() + " " if raw.endswith("\\") else raw.strip()
        if not raw.endswith("\\"):
            if pending.strip():
                lines.append(pending.strip())
            pending = ""
    stages: list[list[str]] = []
    for line in lines:
        if line.upper().startswith("FROM "):
            stages.append([])
        if stages:
            stages[-1].append(line)
    return stages


def _dockerfile_user() -> tuple[int, int]:
    (user,) = [i.split()[1] for i in _stages()[-1] if i.upper().startswith("USER ")]
    uid, _, gid = user.partition(":")
    return int(uid), int(gid or uid)


def test_the_dockerfile_is_multi_stage_non_root_and_runs_serve() -> None:
    stages = _stages()
    assert len(stages) >= 2
    final = stages[-1]
    text = "\n".join(final)
    uid, gid = _dockerfile_user()
    assert uid > 0 and gid > 0, "a numeric non-root user: runAsNonRoot can only verify a number"
    assert 'ENTRYPOINT ["k8s-bot", "serve"]' in final
    assert 'CMD ["--http"]' in final
    assert not any(i.upper().startswith("HEALTHCHECK") for i in final)
    for setting in ("PYTHONDONTWRITEBYTECODE=1", "HOME=/tmp", "TMPDIR=/tmp"):
        assert setting in text
    # No compilers or build tools are installed into the final stage, and pip is removed.
    assert not re.search(r"\b(gcc|g\+\+|build-essential|make|clang)\b", text)
    assert "pip uninstall" in text
    assert any(i.startswith("COPY --from=") for i in final)
    assert any("pip wheel" in i for i in stages[0])


def test_the_image_layout_answers_offline(tmp_path: Path) -> None:
    """Without Docker: the wheel's packages plus exactly the folders the Dockerfile copies beside
    them answer questions, so the image lacks no data file the code reads."""
    (copy_line,) = [i for i in _stages()[0] if '"$site"/' in i]
    extra = re.search(r"cp -r (.+?) \"\$site\"/", copy_line)
    assert extra is not None
    site = tmp_path / "site-packages"
    for package in ("bot", "handlers"):  # pyproject.toml [tool.setuptools.packages.find]
        shutil.copytree(ROOT / package, site / package)
    for folder in extra.group(1).split():
        shutil.copytree(ROOT / folder, site / folder)
    env = clean_env(PYTHONPATH=str(site), HOME=str(tmp_path))
    boot = "import sys, bot; print(bot.__file__, file=sys.stderr); from bot.cli import main; sys.exit(main())"
    outputs = []
    for args in (["ask", "exit 137", "--format", "json"], ["demo"]):
        run = subprocess.run(
            [sys.executable, "-c", boot, *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert run.returncode == 0, run.stderr[-2000:]
        assert run.stderr.startswith(str(site)), "the copy under test was not the one imported"
        outputs.append(run.stdout)
    assert json.loads(outputs[0])["findings"], "no finding: the catalogue was not found"


def _docker() -> str:
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("no Docker daemon: the docker CLI is not installed")
    info = subprocess.run([docker, "info"], capture_output=True, text=True, timeout=60, check=False)
    if info.returncode != 0:
        reason = (info.stderr.strip().splitlines() or ["`docker info` failed"])[-1]
        pytest.skip(f"no Docker daemon: {reason}")
    return docker


def test_the_image_builds_and_runs_as_the_manifests_run_it() -> None:
    docker = _docker()
    tag = f"k8s-bot-test:{uuid.uuid4().hex[:12]}"
    build = subprocess.run(
        [docker, "build", "-f", str(DOCKERFILE), "-t", tag, str(ROOT)],
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    try:
        assert build.returncode == 0, build.stderr[-4000:]
        inspect = subprocess.run(
            [docker, "image", "inspect", tag], capture_output=True, text=True, timeout=60, check=True
        )
        config = json.loads(inspect.stdout)[0]["Config"]
        assert config["Entrypoint"] == ["k8s-bot", "serve"] and config["Cmd"] == ["--http"]
        assert config["User"] == "{}:{}".format(*_dockerfile_user())
        hardened = ["--rm", "--read-only", "--tmpfs", "/tmp", "--cap-drop", "ALL"]
        hardened += ["--security-opt", "no-new-privileges"]

        def run(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [docker, "run", *hardened, *args], capture_output=True, text=True, timeout=300, check=False
            )

        asked = run("--entrypoint", "k8s-bot", tag, "ask", "exit 137", "--format", "json")
        assert asked.returncode == 0, asked.stderr
        assert json.loads(asked.stdout)["findings"]
        # The default command is `serve --http`, which refuses to start without its secret.
        served = run(tag)
        assert served.returncode == 2 and "SLACK_SIGNING_SECRET" in served.stderr
        tools = run("--entrypoint", "sh", tag, "-c", "for t in gcc cc g++ make pip; do command -v $t; done")
        assert tools.stdout.strip() == "", f"build tools in the final image: {tools.stdout}"
    finally:
        subprocess.run([docker, "image", "rm", "-f", tag], capture_output=True, timeout=120, check=False)


def test_the_docker_context_leaves_out_everything_but_the_sources() -> None:
    lines = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    patterns = [s.strip() for s in lines if s.strip() and not s.strip().startswith("#")]
    assert patterns[0] == "*", "an allow list: exclude everything, then re-include the sources"
    copied = {
        source
        for instruction in _stages()[0]
        if instruction.startswith("COPY ") and not instruction.startswith("COPY --")
        for source in instruction.split()[1:-1]
    }
    assert copied == {"pyproject.toml", "README.md", "bot", "handlers", "templates", "examples"}
    for source in copied:
        assert f"!{source}" in patterns or f"!{source}/" in patterns, source


@pytest.mark.parametrize(
    ("target", "missing"), (("overlays/http", "SLACK_SIGNING_SECRET"), ("overlays/socket", "SLACK_APP_TOKEN"))
)
def test_serve_understands_the_arguments_the_manifests_pass(target: str, missing: str) -> None:
    """Run as the pod would, minus its Secret: the arguments parse, the mode is the one the overlay
    means, and the bot stops at once naming the missing setting (exit 2), before any network call."""
    args = container(one(render(target), "Deployment", "k8s-bot"), "bot")["args"]
    run = run_cli("serve", *args)
    assert run.returncode == 2, run.stderr
    assert missing in run.stderr and "unrecognized" not in run.stderr


# -- the operator docs say what the code does ---------------------------------------------------


def _doc_default(key: str) -> str:
    """The Default cell of the docs/operations.md table row for `key`."""
    for line in OPERATIONS.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 2 and cells[0] == f"`{key}`":
            return cells[1]
    raise AssertionError(f"docs/operations.md has no table row for `{key}`")


def _seconds(value: float) -> str:
    return f"{value:g}"


def test_the_configuration_reference_states_the_codes_defaults() -> None:
    from bot.config import DEFAULT_CACHE_TTL, Settings
    from bot.ratelimit import DEFAULT_QUESTIONS, DEFAULT_WINDOW_S
    from bot.scheduler import DEFAULT_GRACE, DEFAULT_TICK_S
    from bot.slack_app import DEFAULT_ANSWER_THREADS

    defaults = Settings()
    expected = {
        "K8SBOT_API_TIMEOUT": f"`{_seconds(defaults.api_timeout)}`",
        "slack.rate_limit.questions": str(DEFAULT_QUESTIONS),
        "slack.rate_limit.per_seconds": str(DEFAULT_WINDOW_S),
        "slack.answer_threads": str(DEFAULT_ANSWER_THREADS),
        "digest_tick": _seconds(DEFAULT_TICK_S),
        "digests[].grace": f"{int(DEFAULT_GRACE.total_seconds() // 60)}m",
        "cache.prefix": f"`{defaults.cache_prefix}`",
        "cache.wait": _seconds(defaults.cache_wait),
        "cache.redis_timeout": _seconds(defaults.redis_timeout),
        "cache.redis_retry": _seconds(defaults.redis_retry),
        "clusters.<name>.cluster_domain": "`cluster.local`",
    }
    expected.update({kind: _seconds(ttl) for kind, ttl in DEFAULT_CACHE_TTL.items()})
    assert {key: _doc_default(key) for key in expected} == expected


def test_the_metrics_list_names_every_metric_the_bot_exports() -> None:
    from bot.metrics import REGISTRY

    text = OPERATIONS.read_text(encoding="utf-8")
    documented = set(re.findall(r"^\| `(k8sbot_[a-z_]+)` \|", text, flags=re.MULTILINE))
    exported = {m.name + "_total" if m.type == "counter" else m.name for m in REGISTRY.collect()}
    assert documented == exported

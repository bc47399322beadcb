"""The message parsers `why` relies on, fed the exact texts kube-scheduler, the kubelet and container
runtimes write (FACTS.md §4, §9). Pure functions: tested directly, quickly, one message per case."""

from __future__ import annotations

from decimal import Decimal

import pytest

from handlers import configrefs, images, quantity, scheduling
from handlers.configrefs import ConfigProblem
from handlers.images import PullProblem
from handlers.objects import Obj
from handlers.pod_diagnosis import log_tail
from handlers.scheduling import Cause

# -- FailedScheduling -------------------------------------------------------------------------


def test_fit_error_with_counts_taint_and_preemption() -> None:
    msg = (
        "0/5 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, "
        "2 Insufficient memory, 2 node(s) didn't match Pod's node affinity/selector. preemption: 0/5 nodes "
        "are available: 2 No preemption victims found for incoming pod, 3 Preemption is not helpful for "
        "scheduling."
    )
    fit = scheduling.parse(msg)
    assert fit is not None
    assert (fit.available, fit.total) == (0, 5)
    assert [(r.count, r.cause) for r in fit.reasons] == [
        (1, Cause.TAINT),
        (2, Cause.INSUFFICIENT),
        (2, Cause.NODE_AFFINITY),
    ]
    assert fit.reasons[0].taint_key == "node-role.kubernetes.io/control-plane"
    assert fit.reasons[0].taint_value == ""
    assert fit.reasons[1].resource == "memory"
    assert fit.preemption.startswith("0/5 nodes are available: 2 No preemption victims")


@pytest.mark.parametrize(
    ("item", "cause", "key", "value"),
    [
        (
            "3 node(s) had taint {dedicated: gpu}, that the pod didn't tolerate",
            Cause.TAINT,
            "dedicated",
            "gpu",
        ),
        ("3 node(s) had untolerated taint {dedicated: gpu}", Cause.TAINT, "dedicated", "gpu"),
        ("1 node(s) had untolerated taint {node.kubernetes.io/unschedulable: }", Cause.UNSCHEDULABLE, "", ""),
        ("2 node(s) didn't match node selector", Cause.NODE_AFFINITY, "", ""),
        ("2 node(s) didn't match Pod's node affinity", Cause.NODE_AFFINITY, "", ""),
        ("1 node(s) had volume node affinity conflict", Cause.VOLUME_NODE_AFFINITY, "", ""),
        ("4 Too many pods", Cause.TOO_MANY_PODS, "", ""),
        ("1 node(s) didn't have free ports for the requested pod ports", Cause.PORTS, "", ""),
        ("3 node(s) didn't match pod anti-affinity rules", Cause.POD_ANTI_AFFINITY, "", ""),
        ("3 node(s) didn't match pod affinity rules", Cause.POD_AFFINITY, "", ""),
        ("1 node(s) were unschedulable", Cause.UNSCHEDULABLE, "", ""),
        ("2 node(s) didn't match pod topology spread constraints", Cause.TOPOLOGY_SPREAD, "", ""),
        ("1 node(s) didn't find available persistent volumes to bind", Cause.NO_PV, "", ""),
        ("5 Insufficient nvidia.com/gpu", Cause.INSUFFICIENT, "", ""),
    ],
)
def test_each_reason_form(item: str, cause: Cause, key: str, value: str) -> None:
    fit = scheduling.parse(f"0/9 nodes are available: {item}.")
    assert fit is not None
    (reason,) = fit.reasons
    assert reason.cause is cause
    if cause is Cause.TAINT:
        assert (reason.taint_key, reason.taint_value) == (key, value)
    if cause is Cause.INSUFFICIENT:
        assert reason.resource == "nvidia.com/gpu"


def test_prefilter_message_has_no_count() -> None:
    fit = scheduling.parse(
        "0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: "
        "0/3 nodes are available: 3 Preemption is not helpful for scheduling."
    )
    assert fit is not None
    assert [(r.count, r.cause) for r in fit.reasons] == [(None, Cause.UNBOUND_PVC)]


def test_older_count_form_of_unbound_claims() -> None:
    fit = scheduling.parse("0/3 nodes are available: 3 pod has unbound immediate PersistentVolumeClaims.")
    assert fit is not None
    assert [(r.count, r.cause) for r in fit.reasons] == [(3, Cause.UNBOUND_PVC)]


def test_not_a_fit_error() -> None:
    assert scheduling.parse("no nodes available to schedule pods") is None


# -- image pulls ------------------------------------------------------------------------------

_NOT_FOUND = (
    'Failed to pull image "shop/cart:1.9.9": rpc error: code = NotFound desc = failed to pull and unpack '
    'image "docker.io/shop/cart:1.9.9": failed to resolve reference "docker.io/shop/cart:1.9.9": '
    "docker.io/shop/cart:1.9.9: not found"
)


@pytest.mark.parametrize(
    ("message", "problem"),
    [
        (_NOT_FOUND, PullProblem.NOT_FOUND),
        (
            'Failed to pull image "registry.example.com/shop/cart:1.2": rpc error: code = Unknown desc = '
            'failed to pull and unpack image "registry.example.com/shop/cart:1.2": failed to resolve '
            'reference "registry.example.com/shop/cart:1.2": unexpected status from HEAD request to '
            "https://registry.example.com/v2/shop/cart/manifests/1.2: 401 Unauthorized",
            PullProblem.UNAUTHORIZED,
        ),
        (
            'Failed to pull image "private/app:1": rpc error: code = Unknown desc = failed to pull and '
            'unpack image "docker.io/private/app:1": failed to resolve reference "docker.io/private/app:1": '
            "pull access denied, repository does not exist or may require authorization: server message: "
            "insufficient_scope: authorization failed",
            PullProblem.UNAUTHORIZED,
        ),
        (
            'Failed to pull image "registry.internal:5000/app:1": rpc error: code = Unknown desc = failed to '
            'pull and unpack image "registry.internal:5000/app:1": failed to resolve reference '
            '"registry.internal:5000/app:1": failed to do request: Head '
            '"https://registry.internal:5000/v2/app/manifests/1": dial tcp: lookup registry.internal on '
            "10.96.0.10:53: no such host",
            PullProblem.UNREACHABLE,
        ),
        (
            'Failed to pull image "nginx:1.27": rpc error: code = Unknown desc = failed to pull and '
            'unpack image "docker.io/library/nginx:1.27": failed to copy: httpReadSeeker: failed open: '
            "unexpected status code https://registry-1.docker.io/v2/library/nginx/manifests/sha256:abc: "
            "429 Too Many Requests - Server message: toomanyrequests: You have reached your pull rate limit.",
            PullProblem.RATE_LIMITED,
        ),
        (
            'Failed to pull image "app:1": rpc error: code = NotFound desc = failed to pull and unpack image '
            '"docker.io/library/app:1": no match for platform in manifest: not found',
            PullProblem.PLATFORM,
        ),
    ],
)
def test_pull_failure_classes(message: str, problem: PullProblem) -> None:
    assert images.classify(message).problem is problem


def test_pull_failure_details() -> None:
    pf = images.classify(_NOT_FOUND)
    assert pf.image == "shop/cart:1.9.9"
    tls = images.classify(
        'Failed to pull image "r.example.com/a:1": ... tls: failed to verify certificate: x509: certificate '
        "signed by unknown authority"
    )
    assert (tls.problem, tls.network) == (PullProblem.UNREACHABLE, "tls")
    ambiguous = images.classify("pull access denied, repository does not exist or may require authorization")
    assert ambiguous.maybe_missing
    assert images.registry_of("shop/cart:1") == "docker.io"
    assert images.registry_of("registry.example.com:5000/a/b:1") == "registry.example.com:5000"
    assert images.missing_pull_secrets(
        "Unable to retrieve some image pull secrets (regcred, other); "
        "attempting to pull the image may not succeed."
    ) == ["regcred", "other"]


# -- CreateContainerConfigError / FailedMount ----------------------------------------------------


@pytest.mark.parametrize(
    ("message", "problem", "name", "key"),
    [
        ('configmap "api-config" not found', ConfigProblem.MISSING_CONFIGMAP, "api-config", ""),
        ('configmaps "api-config" not found', ConfigProblem.MISSING_CONFIGMAP, "api-config", ""),
        (
            "couldn't find key DB_HOST in ConfigMap shop/api-config",
            ConfigProblem.MISSING_CONFIGMAP_KEY,
            "api-config",
            "DB_HOST",
        ),
        ('secret "db-creds" not found', ConfigProblem.MISSING_SECRET, "db-creds", ""),
        ('secrets "db-creds" not found', ConfigProblem.MISSING_SECRET, "db-creds", ""),
        (
            "couldn't find key password in Secret shop/db-creds",
            ConfigProblem.MISSING_SECRET_KEY,
            "db-creds",
            "password",
        ),
    ],
)
def test_config_messages(message: str, problem: ConfigProblem, name: str, key: str) -> None:
    err = configrefs.parse(message)
    assert (err.problem, err.name, err.key) == (problem, name, key)


def test_mount_message_names_the_volume() -> None:
    err = configrefs.parse('MountVolume.SetUp failed for volume "config" : configmap "web-config" not found')
    assert (err.problem, err.name, err.volume) == (ConfigProblem.MISSING_CONFIGMAP, "web-config", "config")
    key = configrefs.parse(
        'MountVolume.SetUp failed for volume "config" : '
        "configmap references non-existent config key: app.yaml"
    )
    assert (key.problem, key.key, key.volume) == (ConfigProblem.MISSING_CONFIGMAP_KEY, "app.yaml", "config")


def test_run_as_non_root_variants() -> None:
    root = configrefs.parse(
        "container has runAsNonRoot and image will run as root "
        '(pod: "api-5f7d8c9b6d-x2x9k_shop(uid)", container: api)'
    )
    assert (root.problem, root.variant) == (ConfigProblem.RUN_AS_NON_ROOT, "root")
    named = configrefs.parse(
        "container has runAsNonRoot and image has non-numeric user (nginx), cannot verify user is non-root "
        '(pod: "web_shop(uid)", container: web)'
    )
    assert (named.variant, named.user) == ("non-numeric", "nginx")


def test_spec_references_with_optional() -> None:
    pod = Obj(
        {
            "spec": {
                "containers": [
                    {
                        "name": "api",
                        "env": [
                            {
                                "name": "DB_HOST",
                                "valueFrom": {"configMapKeyRef": {"name": "api-config", "key": "DB_HOST"}},
                            },
                            {
                                "name": "DB_PASS",
                                "valueFrom": {"secretKeyRef": {"name": "db", "key": "pw", "optional": True}},
                            },
                        ],
                        "envFrom": [{"configMapRef": {"name": "api-config"}}],
                    }
                ],
                "volumes": [
                    {"name": "cfg", "configMap": {"name": "api-config", "items": [{"key": "a", "path": "a"}]}}
                ],
            }
        }
    )
    refs = configrefs.references(pod)
    texts = [r.text() for r in refs]
    assert (
        "env DB_HOST (configMapKeyRef) of container api -> ConfigMap api-config key DB_HOST (required)"
        in texts
    )
    assert any(r.kind == "Secret" and r.optional for r in refs)
    err = configrefs.parse("couldn't find key DB_HOST in ConfigMap shop/api-config")
    where = [r.where for r in configrefs.matching(refs, err, "api")]
    assert where == ["env DB_HOST (configMapKeyRef) of container api"]


# -- quantities and logs ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("500m", Decimal("0.5")),
        ("2", Decimal(2)),
        ("1Gi", Decimal(1024**3)),
        ("512Mi", Decimal(512 * 1024**2)),
        ("1e3", Decimal(1000)),
        ("2G", Decimal(2 * 10**9)),
        ("1.5Gi", Decimal("1.5") * 1024**3),
        ("100k", Decimal(100_000)),
    ],
)
def test_quantities(text: str, value: Decimal) -> None:
    assert quantity.parse(text) == value


def test_quantity_display() -> None:
    assert quantity.show("cpu", Decimal("0.25")) == "250m"
    assert quantity.show("memory", Decimal(3 * 1024**3)) == "3Gi"
    assert quantity.show("memory", Decimal("1.5") * 1024**3) == "1.5Gi"
    assert quantity.parse("lots") is None


def test_log_tail_keeps_the_exception_above_a_long_trace_and_redacts() -> None:
    lines = ["starting", "java.lang.IllegalStateException: cannot connect password=hunter2"]
    lines += [f"\tat com.example.Frame{i}(Frame.java:{i})" for i in range(20)]
    out = log_tail("\n".join(lines))
    assert out[0].startswith("java.lang.IllegalStateException")
    assert "hunter2" not in out[0]
    assert out[1] == "…"
    assert len(out) == 10

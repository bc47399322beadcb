"""`name <pod-name>`: decoding generated names offline and confirming them on a snapshot."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import EXAMPLE, FIXTURES, run_cli
from tests.fakes.kube_api import FakeKube

SNAPSHOT = str(FIXTURES / "dns" / "cluster")


def ask(query: str, *extra: str) -> dict[str, Any]:
    run = run_cli("ask", query, "--format", "json", *extra)
    assert run.returncode == 0, run.stderr
    answer: dict[str, Any] = run.json()
    return answer


def codes(answer: dict[str, Any]) -> list[str]:
    return [f["code"] for f in answer["findings"]]


def finding(answer: dict[str, Any], code: str) -> dict[str, Any]:
    found = [f for f in answer["findings"] if f["code"] == code]
    assert found, f"{code} not in {codes(answer)}"
    return found[0]


# SafeEncodeString maps digit d to "bcdfghjklmnpqrstvwxz2456789"[ord(d) % 27] (rand.go): computed
# here by hand from the ASCII codes, independently of handlers/name.py.
ENCODED = {"0": "4", "1": "5", "2": "6", "3": "7", "4": "8", "5": "9", "6": "b", "7": "c", "8": "d", "9": "f"}


def encode(decimal: str) -> str:
    return "".join(ENCODED[c] for c in decimal)


# -- offline readings -----------------------------------------------------------------------------


def test_deployment_pod_ranked_before_daemonset_reading() -> None:
    answer = ask("name web-7d4b9c8f6d-x2x9k")
    assert codes(answer) == ["NAME-DEPLOYMENT-POD", "NAME-OWNER-POD"]
    first, second = answer["findings"]
    assert first["title"] == "Most likely: a pod of Deployment `web`, through ReplicaSet `web-7d4b9c8f6d`"
    assert "(3806574928)" in first["detail"]  # the FNV sum behind 7d4b9c8f6d
    assert encode("3806574928") == "7d4b9c8f6d"
    assert "`x2x9k`" in first["detail"]
    assert second["title"].startswith(
        "Also possible (2 of 2): a pod created with generateName `web-7d4b9c8f6d-`"
    )
    assert "kubectl get rs -A --field-selector metadata.name=web-7d4b9c8f6d -o wide" in first["next_steps"]
    assert answer["notes"] == ["No cluster or snapshot given: answered from knowledge only."]


@pytest.mark.parametrize(
    "name",
    [
        "web-4d4b9c8f6d-x2x9k",  # a hash never starts with 4 (a leading zero) unless it is just "4"
        "web-fffffffff5-x2x9k",  # decodes to 9999999991 > 4294967295
        "web-7d4b9c8f6d4-x2x9k",  # 11 characters: more than a uint32 has digits
        "web-7d4b9g8f6d-x2x9k",  # g is not a hash character
    ],
)
def test_impossible_hashes_are_not_read_as_deployment_pods(name: str) -> None:
    answer = ask(f"name {name}")
    assert "NAME-DEPLOYMENT-POD" not in codes(answer)
    assert codes(answer)[0] == "NAME-OWNER-POD"


def test_short_number_prefers_indexed_job_over_tiny_hash() -> None:
    answer = ask("name render-5-bq7xz")
    assert codes(answer) == ["NAME-INDEXED-JOB-POD", "NAME-OWNER-POD", "NAME-DEPLOYMENT-POD"]
    assert answer["findings"][0]["title"] == "Most likely: a pod of Indexed Job `render`, completion index 5"
    assert "less likely" in answer["findings"][2]["detail"]


def test_statefulset_pod() -> None:
    answer = ask("name redis-cluster-0")
    assert codes(answer) == ["NAME-STATEFULSET-POD"]
    f = answer["findings"][0]
    assert f["title"] == "Decoded: pod 0 of StatefulSet `redis-cluster`"
    assert "apps.kubernetes.io/pod-index=0" in f["detail"]


def test_cronjob_job_decodes_unix_minutes() -> None:
    # 2024-01-15 10:30 UTC = 1705314600 s = 28421910 min
    answer = ask("name backup-28421910")
    assert codes(answer)[0] == "NAME-CRONJOB-JOB"
    f = answer["findings"][0]
    assert (
        f["title"]
        == "Most likely: Job `backup-28421910` of CronJob `backup`, scheduled for 2024-01-15 10:30 UTC"
    )
    assert "minutes since 1970-01-01 UTC" in f["detail"]
    assert "NAME-NOT-GENERATED" not in codes(answer)


def test_cronjob_pod() -> None:
    answer = ask("name backup-28421910-x7k2p")
    assert codes(answer)[0] == "NAME-CRONJOB-POD"
    f = answer["findings"][0]
    assert "Job `backup-28421910`, created by CronJob `backup` for 2024-01-15 10:30 UTC" in f["title"]
    assert "28421910 × 60 s = 2024-01-15 10:30 UTC" in f["detail"]


def test_old_cronjob_seconds_form_told_apart_by_magnitude() -> None:
    answer = ask("name backup-1500000000")
    assert codes(answer)[0] == "NAME-CRONJOB-JOB"
    f = answer["findings"][0]
    assert "scheduled for 2017-07-14 02:40 UTC" in f["title"]
    assert "read as Unix seconds" in f["detail"] and "old CronJob controller" in f["detail"]
    assert "NAME-NOT-GENERATED" not in codes(answer)


def test_future_minutes_are_not_a_cronjob() -> None:
    # 99999999 minutes is the year 2160: no CronJob has scheduled that yet.
    answer = ask("name backup-99999999")
    assert "NAME-CRONJOB-JOB" not in codes(answer)


def test_legacy_decimal_hash_pod() -> None:
    answer = ask("name wordpress-mysql-1894417608-vljsm")
    assert codes(answer)[0] == "NAME-LEGACY-HASH-POD"
    f = answer["findings"][0]
    assert "before Kubernetes 1.8 (decimal hash 1894417608)" in f["title"]
    assert f"`{encode('1894417608')}`" in f["detail"]
    assert "`wordpress-mysql-5df885cb4d`" in f["detail"]


def test_decimal_label_value_encodes() -> None:
    answer = ask("name 41035808")
    assert codes(answer) == ["NAME-HASH-DECIMAL"]
    assert answer["findings"][0]["title"] == "`41035808` as a decimal pod-template-hash encodes to `85479d4d`"
    assert encode("41035808") == "85479d4d"


def test_encoded_hash_decodes() -> None:
    f = ask("name 85479d4d")["findings"][0]
    assert f["code"] == "NAME-HASH-ENCODED"
    assert "is the decimal FNV sum 41035808" in f["title"]


def test_cut_at_58_characters_deployment() -> None:
    name = "payment-reconciliation-service-for-european-markets-7d4b9cx2x9k"
    assert len(name) == 63
    answer = ask(f"name {name}")
    assert codes(answer)[0] == "NAME-DEPLOYMENT-POD"
    f = answer["findings"][0]
    assert "Deployment `payment-reconciliation-service-for-european-markets`" in f["title"]
    assert "ReplicaSet `payment-reconciliation-service-for-european-markets-7d4b9c…`" in f["title"]
    assert "only its first 6 characters (`7d4b9c`)" in f["detail"]
    assert any("get deploy -A --field-selector" in s for s in f["next_steps"])


def test_cut_at_58_characters_owner_may_be_longer() -> None:
    name = "a-very-long-daemonset-name-for-the-node-log-shipper-agent-qz7xk"
    assert len(name) == 63 and name[57] == "-"
    answer = ask(f"name {name}")
    f = finding(answer, "NAME-OWNER-POD")
    assert "may be longer" in f["detail"]


def test_indexed_job_cut_keeps_index() -> None:
    job = "nightly-feature-extraction-for-recommendation-models-ru"  # cut to 55 characters
    name = f"{job}-7-bq7xz"
    assert len(name) == 63
    f = ask(f"name {name}")["findings"][0]
    assert f["code"] == "NAME-INDEXED-JOB-POD"
    assert f"Indexed Job `{job}…`, completion index 7" in f["title"]


@pytest.mark.parametrize(
    ("name", "bad", "length_problem"),
    [
        ("web-abcde", "ae", False),  # vowels
        ("web-7d4b9c8f6d-x2x91", "1", False),  # 1 is not in the alphabet
        ("web-7d4b9c8f6d-x2x03", "03", False),
        ("web-7d4b9c8f6d-x2x9", "", True),  # 4 characters
        ("web-7d4b9c8f6d-x2x9kk", "", True),  # 6 characters
    ],
)
def test_impossible_suffix_is_called_out(name: str, bad: str, length_problem: bool) -> None:
    answer = ask(f"name {name}")
    f = finding(answer, "NAME-NOT-GENERATED")
    assert f["title"] == f"`{name}` has no generated part: probably named by hand"
    if bad:
        assert f"it contains `{bad}`, which the generator never uses" in f["detail"]
    if length_problem:
        assert "generated suffixes always have exactly 5" in f["detail"]
    if "7d4b9c8f6d" in name:
        assert "looks like a Deployment pod name" in f["detail"]


def test_plain_name_is_hand_named() -> None:
    assert codes(ask("name nginx")) == ["NAME-NOT-GENERATED"]


def test_static_pod_offline() -> None:
    answer = ask("name kube-apiserver-node1")
    assert codes(answer)[0] == "NAME-STATIC-POD"
    f = answer["findings"][0]
    assert "the mirror of static pod `kube-apiserver` on node `node1`" in f["title"]
    assert "assumes `node1` is a node name" in f["detail"]


def test_invalid_name() -> None:
    f = ask("name Web-1")["findings"][0]
    assert f["code"] == "NAME-INVALID"
    assert "`W` cannot appear" in f["detail"]


def test_usage_errors() -> None:
    assert run_cli("ask", "name").returncode == 2
    assert run_cli("ask", "name a b").returncode == 2


def test_no_double_spaces() -> None:
    for name in ("web-7d4b9c8f6d-x2x9k", "web-abcde", "debug-shell", "backup-28421910-x7k2p", "41035808"):
        for f in ask(f"name {name}")["findings"]:
            assert "  " not in f["title"] + f["detail"], f


# -- confirmed against a snapshot -----------------------------------------------------------------


def test_snapshot_confirms_deployment_chain_and_hash_label() -> None:
    answer = ask("name web-7d4b9c8f6d-x2x9k", "--snapshot", SNAPSHOT)
    assert codes(answer) == ["NAME-CONFIRMED", "NAME-DEPLOYMENT-POD", "NAME-OWNER-POD"]
    assert answer["target"] == {"kind": "Pod", "namespace": "shop", "name": "web-7d4b9c8f6d-x2x9k"}
    c = answer["findings"][0]
    assert c["title"] == (
        "In the cluster: Pod shop/web-7d4b9c8f6d-x2x9k → ReplicaSet web-7d4b9c8f6d → Deployment web"
    )
    assert "confirm the most likely reading" in c["detail"]
    assert "pod-template-hash label `7d4b9c8f6d` matches" in c["detail"]
    assert "label pod-template-hash=7d4b9c8f6d" in c["evidence"]
    # The readings' commands now name the namespace.
    assert "kubectl -n shop get rs web-7d4b9c8f6d -o wide" in answer["findings"][1]["next_steps"]


def test_snapshot_decimal_label_of_old_cluster() -> None:
    c = ask("name example-deploy-85479d4d-tq9zx", "--snapshot", SNAPSHOT)["findings"][0]
    assert c["code"] == "NAME-CONFIRMED"
    assert "label is the decimal `41035808`" in c["detail"]
    assert "encoded it is `85479d4d`" in c["detail"]


def test_snapshot_real_owner_differs_from_most_likely_reading() -> None:
    answer = ask("name checkout-v2-6c9f8d7b5c-p4q6r -n apps", "--snapshot", SNAPSHOT)
    c = answer["findings"][0]
    assert c["title"] == (
        "In the cluster: Pod apps/checkout-v2-6c9f8d7b5c-p4q6r → ReplicaSet checkout-v2-6c9f8d7b5c"
        " → Rollout checkout-v2"
    )
    assert "reading 2 below, not the most likely one" in c["detail"]


def test_snapshot_statefulset_and_mirror_pod() -> None:
    sts = ask("name redis-cluster-0", "--snapshot", SNAPSHOT)["findings"][0]
    assert sts["title"] == "In the cluster: Pod wiseco/redis-cluster-0 → StatefulSet redis-cluster"
    assert "label apps.kubernetes.io/pod-index=0" in sts["evidence"]
    mirror = ask("name kube-apiserver-cp-1", "--snapshot", SNAPSHOT)
    assert codes(mirror)[:2] == ["NAME-CONFIRMED", "NAME-STATIC-POD"]
    assert mirror["findings"][0]["title"] == "In the cluster: Pod kube-system/kube-apiserver-cp-1 → Node cp-1"
    assert "Node `cp-1` exists in this cluster" in mirror["findings"][1]["detail"]


def test_snapshot_static_reading_uses_real_node_names() -> None:
    answer = ask("name etcd-node-b", "--snapshot", SNAPSHOT)
    assert codes(answer)[:2] == ["NAME-NOT-IN-CLUSTER", "NAME-STATIC-POD"]
    assert "on node `node-b`" in answer["findings"][1]["title"]


def test_snapshot_cronjob_pod_and_job() -> None:
    pod = ask("name backup-29926620-x7k2p", "--snapshot", SNAPSHOT)
    assert codes(pod)[:2] == ["NAME-CONFIRMED", "NAME-CRONJOB-POD"]
    assert pod["findings"][0]["title"].endswith("→ Job backup-29926620 → CronJob backup")
    assert "2026-11-25 09:00 UTC" in pod["findings"][1]["title"]
    assert any(
        "cronjob-scheduled-timestamp=2026-11-25T09:00:00Z" in e for e in pod["findings"][0]["evidence"]
    )
    job = ask("name backup-29926620", "--snapshot", SNAPSHOT)
    assert job["target"] == {"kind": "Job", "namespace": "batch", "name": "backup-29926620"}
    assert codes(job)[:2] == ["NAME-CONFIRMED", "NAME-CRONJOB-JOB"]
    assert "confirm the most likely reading" in job["findings"][0]["detail"]


def test_snapshot_indexed_job_pod() -> None:
    c = ask("name render-3-bq7xz", "--snapshot", SNAPSHOT)["findings"][0]
    assert c["title"] == "In the cluster: Pod batch/render-3-bq7xz → Job render"
    assert "label batch.kubernetes.io/job-completion-index=3" in c["evidence"]


def test_snapshot_bare_pod_has_no_owner() -> None:
    answer = ask("name debug-shell", "--snapshot", SNAPSHOT)
    assert codes(answer) == ["NAME-CONFIRMED", "NAME-NOT-GENERATED"]
    assert answer["findings"][0]["title"] == "In the cluster: Pod shop/debug-shell has no owner"


def test_snapshot_pod_not_there_says_rules_only() -> None:
    answer = ask("name web-7d4b9c8f6d-zzzzz -n shop", "--snapshot", SNAPSHOT)
    assert codes(answer)[0] == "NAME-NOT-IN-CLUSTER"
    assert answer["findings"][0]["title"] == "No pod, Job or ReplicaSet named `web-7d4b9c8f6d-zzzzz` in shop"
    assert "from the naming rules only" in answer["findings"][0]["detail"]


def test_text_and_slack_formats() -> None:
    text = run_cli("ask", "name web-7d4b9c8f6d-x2x9k", "--snapshot", SNAPSHOT)
    assert text.returncode == 0
    assert "[info] In the cluster: Pod shop/web-7d4b9c8f6d-x2x9k → ReplicaSet web-7d4b9c8f6d" in text.stdout
    slack = run_cli("ask", "name web-7d4b9c8f6d-x2x9k", "--format", "slack")
    assert slack.returncode == 0
    assert "Most likely: a pod of Deployment `web`" in slack.stdout


# -- the example snapshot and the live path (fake API server) -------------------------------------


def test_example_snapshot_cronjob_and_daemonset_pods() -> None:
    cron = ask("name report-29926575-pc4rg", "--snapshot", str(EXAMPLE))
    assert codes(cron)[:2] == ["NAME-CONFIRMED", "NAME-CRONJOB-POD"]
    assert cron["findings"][0]["title"].endswith("→ Job report-29926575 → CronJob report")
    assert "2026-11-25 08:15 UTC" in cron["findings"][1]["title"]
    ds = ask("name fluent-bit-cddgf", "--snapshot", str(EXAMPLE))
    assert codes(ds) == ["NAME-CONFIRMED", "NAME-OWNER-POD"]
    assert ds["findings"][0]["title"] == "In the cluster: Pod logging/fluent-bit-cddgf → DaemonSet fluent-bit"
    assert ds["findings"][1]["title"].startswith("Decoded: a pod created with generateName `fluent-bit-`")


def test_live_cluster_confirms_owner_chain(fake_kube: FakeKube) -> None:
    fake_kube.serve(SNAPSHOT)
    run = run_cli("ask", "name web-7d4b9c8f6d-x2x9k -n shop", "--format", "json", env=fake_kube.env())
    assert run.returncode == 0, run.stderr
    c = run.json()["findings"][0]
    assert c["title"] == (
        "In the cluster: Pod shop/web-7d4b9c8f6d-x2x9k → ReplicaSet web-7d4b9c8f6d → Deployment web"
    )
    assert fake_kube.received("GET", "/apis/apps/v1/namespaces/shop/replicasets/web-7d4b9c8f6d") == 1
    assert fake_kube.received("GET", "/apis/apps/v1/namespaces/shop/deployments/web") == 1


def test_live_cluster_missing_pod(fake_kube: FakeKube) -> None:
    fake_kube.serve(SNAPSHOT)
    run = run_cli("ask", "name web-7d4b9c8f6d-zzzzz -n shop", "--format", "json", env=fake_kube.env())
    assert run.returncode == 0, run.stderr
    assert codes(run.json())[0] == "NAME-NOT-IN-CLUSTER"

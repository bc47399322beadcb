"""`k8s-bot digest` and the `digest` verb, driven through the CLI: the example snapshot, the dedupe of a
30-pod failure, scopes, what it asks the API server, partial reads, and Slack's Block Kit limits.

The scheduled side (state, new/ongoing/resolved, exactly once) is in test_digest_schedule.py and
test_digest_serve.py.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from datetime import timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from bot.digest import Diff, DigestState, Remembered, current, diff
from bot.snapshot import Snapshot, SnapshotView
from handlers.digest import summarise
from handlers.model import Request
from tests.conftest import EXAMPLE, FIXTURES, ROOT, run_cli
from tests.fakes.kube_api import FakeKube
from tests.fakes.slack_api import check_message, texts

DIGEST_FIXTURES = FIXTURES / "digest"


def fixture_builder() -> ModuleType:
    """tests/fixtures/digest/cluster.py, which wrote the state fixtures and builds other shapes."""
    spec = importlib.util.spec_from_file_location("digest_fixture_cluster", DIGEST_FIXTURES / "cluster.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def codes(answer: dict[str, Any]) -> list[str]:
    return [f["code"] for f in answer["findings"]]


def titles(answer: dict[str, Any], code: str) -> list[str]:
    return [f["title"] for f in answer["findings"] if f["code"] == code]


# -- the example snapshot ---------------------------------------------------------------------------


def test_example_snapshot_digest_through_the_cli() -> None:
    run = run_cli("digest", "--snapshot", str(EXAMPLE), "--format", "json")
    assert run.returncode == 0, run.stderr
    answer = run.json()
    assert set(answer) == {"query", "verb", "target", "status", "findings", "partial", "notes"}
    assert answer["verb"] == "digest" and answer["partial"] is False
    assert codes(answer)[0] == "DIGEST-SUMMARY"
    assert titles(answer, "DIGEST-SUMMARY") == [
        "snapshot (all 8 namespaces): 10 problems (7 errors) — pods 21/28 running, nodes 3/3 ready"
    ]
    assert titles(answer, "DIGEST-CRASHLOOP") == [
        "deploy/web in shop: 1/4 pods CrashLoopBackOff, exit 1 (app error)"
    ]
    assert titles(answer, "DIGEST-OOMKILLED") == ["sts/es in logging: 1/3 pods OOMKilled (memory limit 2Gi)"]
    assert titles(answer, "DIGEST-IMAGE-PULL") == [
        "deploy/cart in shop: 1/3 pods cannot pull shop/cart:2.31 (ImagePullBackOff)"
    ]
    assert titles(answer, "DIGEST-POD-STATUS") == ["deploy/api in shop: 1/1 pod CreateContainerConfigError"]
    (pending,) = titles(answer, "DIGEST-PENDING")
    assert pending.startswith("deploy/recommender in shop: 1/1 pod Pending for 41m: 2 Insufficient cpu")
    assert titles(answer, "DIGEST-SVC-NO-ENDPOINTS") == [
        "svc/checkout in shop: no ready endpoints (selector app=check-out matches no pod)"
    ]
    stuck = titles(answer, "DIGEST-ROLLOUT-STUCK")
    assert len(stuck) == 4 and all("rollout stuck (ProgressDeadlineExceeded)" in t for t in stuck)
    # Errors first; each problem's first next step is the question to ask next, with real names.
    severities = [f["severity"] for f in answer["findings"][1:]]
    assert severities == sorted(severities, key=["error", "warning", "info"].index)
    crash = next(f for f in answer["findings"] if f["code"] == "DIGEST-CRASHLOOP")
    assert crash["next_steps"][0] == "/k8s why web-7f47f6554f-q6kf9 -n shop"
    assert "kubectl -n shop logs web-7f47f6554f-q6kf9 -c web --previous --tail=50" in crash["next_steps"]
    # The Job pod that failed belongs to a CronJob whose newest run succeeded: not a problem.
    assert not titles(answer, "DIGEST-JOB-FAILED")

    text = run_cli("digest", "--snapshot", str(EXAMPLE))
    assert text.returncode == 0, text.stderr
    assert text.stdout.startswith("Cluster health: snapshot (all 8 namespaces): 10 problems")
    assert "[error] deploy/web in shop: 1/4 pods CrashLoopBackOff, exit 1 (app error)\n" in text.stdout
    assert "    /k8s why es-2 -n logging\n" in text.stdout


def test_the_ask_verb_answers_digest_too() -> None:
    run = run_cli("ask", "digest -n logging", "--snapshot", str(EXAMPLE), "--format", "json")
    assert run.returncode == 0, run.stderr
    answer = run.json()
    assert answer["query"] == "digest -n logging"
    assert codes(answer) == ["DIGEST-SUMMARY", "DIGEST-OOMKILLED"]
    assert titles(answer, "DIGEST-SUMMARY")[0].startswith("snapshot (logging): 1 problem (1 error)")


# -- grouping --------------------------------------------------------------------------------------


def write_snapshot(directory: Path, objs: list[dict[str, Any]]) -> Path:
    fixture_builder().write(directory, objs)
    return directory


def test_thirty_pods_failing_one_way_are_one_problem(tmp_path: Path) -> None:
    b = fixture_builder()
    web = b.deployment_pods(
        "shop",
        "web",
        image="registry.example.com/shop/web:1.5.0",
        replicas=30,
        now=b.T1,
        states=["crashloop"] * 30,
    )
    pods = [o for o in web if o["kind"] == "Pod"]
    snap = write_snapshot(
        tmp_path / "snap",
        [b.namespace("shop"), *(b.node(n, b.T1) for n in b.NODES), *web, *b.service("shop", "web", pods)],
    )

    run = run_cli("digest", "--snapshot", str(snap), "--format", "json")
    assert run.returncode == 0, run.stderr
    answer = run.json()
    assert codes(answer) == ["DIGEST-SUMMARY", "DIGEST-CRASHLOOP", "DIGEST-SVC-NO-ENDPOINTS"]
    (crash,) = [f for f in answer["findings"] if f["code"] == "DIGEST-CRASHLOOP"]
    assert crash["title"] == "deploy/web in shop: 30/30 pods CrashLoopBackOff, exit 1 (app error)"
    assert crash["next_steps"][0] == "/k8s why deploy/web -n shop"
    assert len(crash["evidence"]) == 5  # three pods quoted, "... and 27 more", the last termination
    assert crash["evidence"][3] == "... and 27 more pods"
    assert crash["evidence"][4] == "web: Last State: Terminated, Reason: Error, Exit Code: 1"
    # The Deployment (0/30 available) is not reported again: its pods say why.
    assert titles(answer, "DIGEST-SVC-NO-ENDPOINTS") == [
        "svc/web in shop: no ready endpoints (30 pods match app=web, 0 ready)"
    ]


def test_one_owner_failing_two_ways_is_two_problems_and_keys_are_stable(tmp_path: Path) -> None:
    """Same Deployment, exit 1 on some pods and OOMKilled on others: grouped by owner AND reason."""
    b = fixture_builder()
    objs = b.deployment_pods(
        "shop",
        "web",
        image="registry.example.com/shop/web:1.5.0",
        replicas=4,
        now=b.T1,
        states=["crashloop"] * 4,
    )
    pods = [o for o in objs if o["kind"] == "Pod"]
    for p in pods[:2]:
        term = p["status"]["containerStatuses"][0]["lastState"]["terminated"]
        term.update(exitCode=137, reason="OOMKilled")
    snap = write_snapshot(tmp_path / "snap", [b.namespace("shop"), *objs])
    view = SnapshotView(Snapshot.load([snap]), name="t")
    result = summarise(Request("digest", now=b.T1), view)
    keys = {str(f.fields["key"]): f.code for f in result.findings[1:]}
    assert keys == {
        "crashloop:shop:Deployment/web:exit=1": "DIGEST-CRASHLOOP",
        "oomkilled:shop:Deployment/web": "DIGEST-OOMKILLED",
    }
    # Asked again later, the pods restarted more: same keys (the identity does not move).
    later = summarise(Request("digest", now=b.T1 + timedelta(hours=3)), view)
    assert {str(f.fields["key"]) for f in later.findings[1:]} == set(keys)


# -- scope ----------------------------------------------------------------------------------------


def test_namespaces_limit_the_digest_and_a_typo_gets_did_you_mean() -> None:
    run = run_cli("digest", "--snapshot", str(EXAMPLE), "--namespaces", "logging,wiseco", "--format", "json")
    assert run.returncode == 0, run.stderr
    answer = run.json()
    assert codes(answer) == ["DIGEST-SUMMARY", "DIGEST-OOMKILLED"]
    assert titles(answer, "DIGEST-SUMMARY")[0].startswith("snapshot (logging, wiseco): 1 problem")

    typo = run_cli("digest", "--snapshot", str(EXAMPLE), "-n", "shoop")
    assert typo.returncode == 1
    assert "`shoop`" in typo.stderr and "Did you mean `shop`?" in typo.stderr
    assert "Traceback" not in typo.stderr

    extra = run_cli("ask", "digest shop", "--snapshot", str(EXAMPLE))
    assert extra.returncode == 2
    assert "does not take `shop`" in extra.stderr


# -- what it reads -----------------------------------------------------------------------------------


DIGEST_LISTS = (
    "/api/v1/namespaces",
    "/api/v1/pods",
    "/api/v1/nodes",
    "/apis/apps/v1/deployments",
    "/apis/apps/v1/statefulsets",
    "/apis/apps/v1/daemonsets",
    "/apis/batch/v1/jobs",
    "/api/v1/services",
    "/apis/discovery.k8s.io/v1/endpointslices",
)


def test_all_namespaces_cost_one_list_per_kind(fake_kube: FakeKube) -> None:
    fake_kube.serve(EXAMPLE)
    run = run_cli(
        "digest", "--kubeconfig", str(fake_kube.kubeconfig), "--format", "json", env=fake_kube.env()
    )
    assert run.returncode == 0, run.stderr
    answer = run.json()
    assert titles(answer, "DIGEST-CRASHLOOP") == [
        "deploy/web in shop: 1/4 pods CrashLoopBackOff, exit 1 (app error)"
    ]
    resources = [
        r for r in fake_kube.requests if r.path.startswith(("/api/v1/", "/apis/")) and r.path.count("/") > 2
    ]
    paths = [r.path for r in resources]
    for path in DIGEST_LISTS:
        assert paths.count(path) == 1, (path, paths)
    assert sorted(paths) == sorted(DIGEST_LISTS), "no per-namespace lists, no gets, no events, no logs"


def test_named_namespaces_cost_one_list_per_kind_and_namespace(fake_kube: FakeKube) -> None:
    fake_kube.serve(EXAMPLE)
    run = run_cli(
        "digest",
        "--kubeconfig",
        str(fake_kube.kubeconfig),
        "-n",
        "shop,logging",
        "--format",
        "json",
        env=fake_kube.env(),
    )
    assert run.returncode == 0, run.stderr
    for ns in ("shop", "logging"):
        assert fake_kube.received("GET", f"/api/v1/namespaces/{ns}/pods") == 1
        assert fake_kube.received("GET", f"/apis/apps/v1/namespaces/{ns}/deployments") == 1
    assert fake_kube.received("GET", "/api/v1/pods") == 0
    assert fake_kube.received("GET", "/api/v1/namespaces/wiseco/pods") == 0


def test_an_unreadable_kind_is_said_and_reports_nothing_false(fake_kube: FakeKube) -> None:
    fake_kube.serve(EXAMPLE)
    fake_kube.fail("/apis/discovery.k8s.io/v1/endpointslices", 403)
    run = run_cli(
        "digest", "--kubeconfig", str(fake_kube.kubeconfig), "--format", "json", env=fake_kube.env()
    )
    assert run.returncode == 0, run.stderr
    answer = run.json()
    assert answer["partial"] is True
    assert any("Could not read EndpointSlice in any namespace" in n for n in answer["notes"])
    assert not titles(answer, "DIGEST-SVC-NO-ENDPOINTS")  # unknown, not "no endpoints"
    assert "Could not read EndpointSlice" in answer["findings"][0]["detail"]


def test_problems_of_an_unread_kind_are_neither_ongoing_nor_resolved() -> None:
    view = SnapshotView(Snapshot.load([EXAMPLE]), name="example")
    assert view.taken_at is not None
    now = current(summarise(Request("digest", now=view.taken_at), view))
    earlier = now.problems[0].rendered  # any title will do
    state = DigestState(
        problems={
            "node-not-ready:k8s-worker-9": Remembered(
                "node-not-ready:k8s-worker-9", earlier.title, "error", "", view.taken_at, ("Node",)
            ),
            "no-endpoints:shop:Service/gone": Remembered(
                "no-endpoints:shop:Service/gone",
                "svc/gone",
                "error",
                "",
                view.taken_at,
                ("Service", "EndpointSlice", "Pod"),
            ),
        }
    )
    d: Diff = diff(state, now)
    assert [r.key for r in d.resolved] == ["node-not-ready:k8s-worker-9", "no-endpoints:shop:Service/gone"]
    unread = type(now)(
        now.result, now.summary, {**now.summary_fields, "unread": ("EndpointSlice",)}, now.problems, ()
    )
    d2 = diff(state, unread)
    assert [r.key for r in d2.resolved] == ["node-not-ready:k8s-worker-9"]
    assert [r.key for r in d2.kept] == ["no-endpoints:shop:Service/gone"]


# -- Slack -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [1, 80])
def test_slack_messages_keep_block_kit_limits(tmp_path: Path, n: int) -> None:
    """One summary message whatever the number of problems; the detail split over thread messages."""
    b = fixture_builder()
    objs: list[dict[str, Any]] = [b.namespace("shop"), *(b.node(x, b.T1) for x in b.NODES)]
    for i in range(n):
        objs += b.deployment_pods(
            "shop",
            f"app-{i:02d}-" + "x" * 40,
            image=f"registry.example.com/shop/app-{i}:1.0.{i}",
            replicas=2,
            now=b.T1,
            states=["crashloop"] * 2,
            exit_code=1 + i % 120,
        )
    snap = write_snapshot(tmp_path / "snap", objs)
    run = run_cli("digest", "--snapshot", str(snap), "--format", "slack")
    assert run.returncode == 0, run.stderr
    messages = json.loads(run.stdout)
    check_message(messages["summary"])
    assert len(messages["summary"]["blocks"]) <= 6
    for m in messages["thread"]:
        check_message(m)
    shown = texts(messages["summary"])
    assert f"*Problems ({n})*" in shown
    if n > 8:
        assert f"…and {n - 8} more in the thread" in shown
        assert len(messages["thread"]) == -(-3 * n // 50)  # three blocks a problem, 50 a message
    all_text = "\n".join(texts(m) for m in messages["thread"])
    assert all_text.count("CrashLoopBackOff, exit") == n


# -- every kind of problem ----------------------------------------------------------------------------


def assorted(b: ModuleType) -> list[dict[str, Any]]:
    """One cluster with a problem of each kind the fixtures of the three mornings do not have."""
    now = b.T1
    objs: list[dict[str, Any]] = [b.namespace("shop")]
    nodes = [b.node(n, now) for n in b.NODES]
    ready = nodes[1]["status"]["conditions"][3]
    ready.update(
        status="Unknown",
        reason="NodeStatusUnknown",
        message="Kubelet stopped posting node status.",
        lastTransitionTime=b.ts(now - timedelta(minutes=25)),
    )
    nodes[2]["status"]["conditions"][1].update(
        status="True",
        reason="KubeletHasDiskPressure",
        message="kubelet has disk pressure",
        lastTransitionTime=b.ts(now - timedelta(minutes=12)),
    )
    objs += nodes

    def deploy(name: str, states: list[str], replicas: int | None = None) -> list[dict[str, Any]]:
        return list(
            b.deployment_pods(
                "shop",
                name,
                image=f"registry.example.com/shop/{name}:1.0.0",
                replicas=replicas or len(states),
                now=now,
                states=states,
            )
        )

    def pods_of(group: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [o for o in group if o["kind"] == "Pod"]

    # Evicted: the kubelet's status and message (FACTS.md §4).
    ev = deploy("ledger", ["running", "running"])
    p = pods_of(ev)[0]
    p["status"] = {
        "message": "The node was low on resource: memory. Threshold quantity: 100Mi, available: 91232Ki. "
        "Container ledger was using 1268612Ki, request is 256Mi, has larger consumption of memory. ",
        "phase": "Failed",
        "reason": "Evicted",
        "startTime": p["status"]["startTime"],
    }
    # Running but not Ready for 20 minutes: a failing readiness probe.
    nr = deploy("quote", ["running"])
    p = pods_of(nr)[0]
    for c in p["status"]["conditions"]:
        if c["type"] in ("Ready", "ContainersReady"):
            c.update(
                status="False",
                reason="ContainersNotReady",
                message="containers with unready status: [quote]",
                lastTransitionTime=b.ts(now - timedelta(minutes=20)),
            )
    p["status"]["containerStatuses"][0]["ready"] = False
    # Below desired with no pod to blame: 1 of 3 pods exists (a quota refused the others).
    dg = deploy("mailer", ["running"], replicas=3)
    dep = dg[0]
    dep["status"]["conditions"].append(
        {
            "lastTransitionTime": b.ts(now - timedelta(hours=1)),
            "lastUpdateTime": b.ts(now - timedelta(hours=1)),
            "message": 'pods "mailer-6d8f7c9b5-x2x9k" is forbidden: exceeded quota: compute, requested: '
            "requests.memory=256Mi, used: requests.memory=3840Mi, limited: requests.memory=4Gi",
            "reason": "FailedCreate",
            "status": "True",
            "type": "ReplicaFailure",
        }
    )
    # A top restarter: running and ready now, 9 restarts, the last 3 hours ago with exit 2.
    rs = deploy("pricing", ["running"])
    cs = pods_of(rs)[0]["status"]["containerStatuses"][0]
    cs["restartCount"] = 9
    cs["lastState"] = {
        "terminated": {
            "containerID": cs["containerID"],
            "exitCode": 2,
            "finishedAt": b.ts(now - timedelta(hours=3)),
            "reason": "Error",
            "startedAt": b.ts(now - timedelta(hours=3, minutes=2)),
        }
    }
    # OOM-killed 20 minutes ago, running again.
    om = deploy("thumbs", ["running"])
    cs = pods_of(om)[0]["status"]["containerStatuses"][0]
    cs["restartCount"] = 1
    cs["lastState"] = {
        "terminated": {
            "containerID": cs["containerID"],
            "exitCode": 137,
            "finishedAt": b.ts(now - timedelta(minutes=20)),
            "reason": "OOMKilled",
            "startedAt": b.ts(now - timedelta(hours=5)),
        }
    }
    # ContainerCreating for 10 minutes (a volume that does not mount).
    cc = deploy("uploads", ["running"])
    p = pods_of(cc)[0]
    p["metadata"]["creationTimestamp"] = b.ts(now - timedelta(minutes=10))
    p["status"]["phase"] = "Pending"
    p["status"].pop("podIP")
    p["status"].pop("podIPs")
    p["status"]["containerStatuses"][0].update(
        ready=False, started=False, state={"waiting": {"reason": "ContainerCreating"}}
    )
    p["status"]["containerStatuses"][0].pop("containerID")
    # A standalone Job that failed.
    job = b.cronjob_runs("shop", "migrate", [(now - timedelta(hours=2), False)], now)
    for o in job:
        if o["kind"] == "Job":
            o["metadata"]["ownerReferences"] = []
    job = [o for o in job if o["kind"] != "CronJob"]
    return objs + ev + nr + dg + rs + om + cc + job


def test_every_kind_of_problem_is_found_and_worded(tmp_path: Path) -> None:
    b = fixture_builder()
    snap = write_snapshot(tmp_path / "snap", assorted(b))
    run = run_cli("digest", "--snapshot", str(snap), "--format", "json")
    assert run.returncode == 0, run.stderr
    answer = run.json()
    by_code = {f["code"]: f for f in answer["findings"]}
    got = {f["code"]: f["title"] for f in answer["findings"][1:]}
    assert got == {
        "DIGEST-NODE-NOT-READY": "node k8s-worker-2 NotReady (Ready=Unknown, NodeStatusUnknown) for 24m",
        "DIGEST-POD-STATUS": "deploy/uploads in shop: 1/1 pod ContainerCreating for 9m50s",
        "DIGEST-JOB-FAILED": "job/migrate-29540580 in shop failed (BackoffLimitExceeded, 3 failed pods)",
        "DIGEST-WORKLOAD-DEGRADED": "deploy/mailer in shop: 1/3 ready, 1 available",
        "DIGEST-OOMKILLED": "deploy/thumbs in shop: 1/1 pod OOMKilled (memory limit 256Mi), running again",
        "DIGEST-NOT-READY": "deploy/quote in shop: 1/1 pod running but not Ready for 19m",
        "DIGEST-EVICTED": "deploy/ledger in shop: 1 evicted pod",
        "DIGEST-NODE-PRESSURE": "node k8s-worker-3 under DiskPressure for 11m",
        "DIGEST-RESTARTS": "deploy/pricing in shop: 9 restarts in 1/1 pod, last exit 2 (Error)",
    }
    assert [f["severity"] for f in answer["findings"][1:]] == ["error"] * 3 + ["warning"] * 6
    assert "ReplicaFailure=True, Reason: FailedCreate" in "\n".join(
        by_code["DIGEST-WORKLOAD-DEGRADED"]["evidence"]
    )
    assert any("The node was low on resource: memory." in e for e in by_code["DIGEST-EVICTED"]["evidence"])
    assert by_code["DIGEST-NODE-NOT-READY"]["next_steps"] == [
        "kubectl describe node k8s-worker-2",
        "kubectl get pods -A --field-selector spec.nodeName=k8s-worker-2",
    ]
    assert by_code["DIGEST-JOB-FAILED"]["next_steps"][0] == "/k8s why job/migrate-29540580 -n shop"


def test_the_catalogue_has_exactly_the_codes_the_digest_emits() -> None:
    import yaml

    from handlers.digest import CODES

    catalogue = yaml.safe_load((ROOT / "templates" / "knowledge" / "findings" / "digest.yaml").read_text())
    assert set(catalogue) == {"DIGEST-SUMMARY", *CODES.values()}
    for code, entry in catalogue.items():
        assert entry["severity"] in ("error", "warning", "info") and entry["since"] == "0.1.0", code

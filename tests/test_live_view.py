"""`bot.cluster.LiveView` through the real `kubernetes` client against the fake API server: reads,
paging, selectors, events, logs, and every failure mapped to the error a user can act on."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from bot.cluster import PAGE_SIZE, LiveView, load_api_client
from handlers.errors import ClusterForbidden, ClusterUnavailable, ConfigError
from tests.conftest import FIXTURES
from tests.fakes.kube_api import FakeKube

BASIC = FIXTURES / "basic"
CRASHING = "web-7d4b9c8f6d-q8l5m"
CRASHING_UID = "6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
RUNNING = "web-7d4b9c8f6d-x2x9k"
SHOP_PODS = "/api/v1/namespaces/shop/pods"


def view_of(kube: FakeKube, *, timeout: float = 5.0, context: str | None = None, **kw: Any) -> LiveView:
    api, name, _ = load_api_client(str(kube.kubeconfig), context)
    return LiveView(api, name, timeout=timeout, **kw)


@pytest.fixture
def kube(fake_kube: FakeKube) -> FakeKube:
    fake_kube.serve(BASIC)
    return fake_kube


@pytest.fixture
def view(kube: FakeKube) -> LiveView:
    return view_of(kube)


def pod(i: int, ns: str = "big") -> dict[str, Any]:
    name = f"worker-{i:05d}"
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": ns,
            "uid": f"00000000-0000-4000-8000-{i:012d}",
            "labels": {"app": "worker", "shard": str(i % 3)},
        },
        "spec": {"nodeName": f"node-{i % 7}", "containers": [{"name": "worker", "image": "busybox:1.36"}]},
        "status": {"phase": "Running"},
    }


# -- the kubeconfig -------------------------------------------------------------------------


def test_the_current_context_has_no_namespace_and_fake_ns_binds_logging(kube: FakeKube) -> None:
    _, name, ns = load_api_client(str(kube.kubeconfig), None)
    assert (name, ns) == ("fake", None)
    _, name, ns = load_api_client(str(kube.kubeconfig), "fake-ns")
    assert (name, ns) == ("fake-ns", "logging")


def test_the_client_does_not_retry(kube: FakeKube) -> None:
    api, _, _ = load_api_client(str(kube.kubeconfig), None)
    assert api.configuration.retries == 0
    assert api.rest_client.pool_manager.connection_pool_kw["retries"].total == 0


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "no such file"),
        ("apiVersion: v1\nclusters: [\n  - name: x\n", "not valid YAML"),
        ("just a string\n", "not a kubeconfig file"),
        ("- a\n- b\n", "not a kubeconfig file"),
        (
            "apiVersion: v1\nkind: Config\ncontexts:\n- name: one\n  context: {cluster: c, user: u}\n",
            "pass --context",
        ),
    ],
    ids=["missing", "garbage-yaml", "a-string", "a-list", "no-current-context"],
)
def test_bad_kubeconfigs_are_one_clear_line(tmp_path: Path, content: str | None, expected: str) -> None:
    path = tmp_path / "kubeconfig"
    if content is not None:
        path.write_text(content)
    with pytest.raises(ConfigError) as caught:
        load_api_client(str(path), None)
    err = caught.value
    assert expected in err.detail
    assert str(path) in err.cluster
    assert "\n" not in str(err)
    if expected == "not valid YAML":
        assert err.cluster.endswith(":3")  # the line of the `-` the flow sequence cannot hold
    if expected == "pass --context":
        assert "(have: one)" in err.detail


def test_an_unknown_context_names_the_ones_there_are(kube: FakeKube) -> None:
    with pytest.raises(ConfigError) as caught:
        load_api_client(str(kube.kubeconfig), "prod")
    assert caught.value.detail == "no context 'prod' (have: fake, fake-ns)"


# -- reads ----------------------------------------------------------------------------------


def test_get_by_name(kube: FakeKube, view: LiveView) -> None:
    pod_ = view.get("Pod", "shop", CRASHING)
    assert pod_ is not None
    assert (pod_.kind, pod_.uid, pod_.namespace) == ("Pod", CRASHING_UID, "shop")
    deploy = view.get("Deployment", "shop", "web")
    assert deploy is not None and deploy.text("apiVersion") == "apps/v1"
    ns = view.get("Namespace", None, "shop")
    assert ns is not None and ns.name == "shop"
    assert kube.received("GET", f"{SHOP_PODS}/{CRASHING}") == 1
    assert kube.received("GET", "/apis/apps/v1/namespaces/shop/deployments/web") == 1
    assert kube.received("GET", "/api/v1/namespaces/shop") == 1


def test_a_missing_object_is_none(view: LiveView) -> None:
    assert view.get("Pod", "shop", "nope") is None
    assert view.get("Node", None, "node-x") is None
    assert view.notes() == ()


def test_list_in_a_namespace_and_everywhere(kube: FakeKube, view: LiveView) -> None:
    in_shop = view.list("Pod", "shop")
    assert [p.name for p in in_shop] == ["report", CRASHING, RUNNING]
    assert all(p.kind == "Pod" and p.text("apiVersion") == "v1" for p in in_shop)
    assert len(view.list("Event")) == 10
    assert list(view.namespaces()) == ["shop"]
    assert kube.received("GET", "/api/v1/events") == 1


def test_list_by_labels_asks_the_server_to_filter(kube: FakeKube, view: LiveView) -> None:
    web = view.list("Pod", "shop", labels={"app": "web", "pod-template-hash": "7d4b9c8f6d"})
    assert [p.name for p in web] == [CRASHING, RUNNING]
    [(_, _, query)] = [r for r in kube.requests if r.path == SHOP_PODS]
    assert query["labelSelector"] == "app=web,pod-template-hash=7d4b9c8f6d"


def test_a_large_list_pages_with_limit_and_continue(fake_kube: FakeKube) -> None:
    count = 2 * PAGE_SIZE + 201
    fake_kube.serve_objects([pod(i) for i in range(count)])
    pods = view_of(fake_kube).list("Pod", "big")
    assert len(pods) == count
    assert len({p.name for p in pods}) == count
    requests = [r for r in fake_kube.requests if r.path == "/api/v1/namespaces/big/pods"]
    assert len(requests) == 3
    assert [r.query.get("limit") for r in requests] == [str(PAGE_SIZE)] * 3
    assert ["continue" in r.query for r in requests] == [False, True, True]


def test_an_expired_continue_token_falls_back_to_one_full_list(fake_kube: FakeKube) -> None:
    count = PAGE_SIZE + 50
    fake_kube.serve_objects([pod(i) for i in range(count)])
    calls: list[str] = []

    def on_request(what: str) -> None:
        calls.append(what)
        if len(calls) == 2:  # between the first and second page, as an etcd compaction would
            fake_kube.expire_continue_tokens()

    pods = view_of(fake_kube, on_request=on_request).list("Pod", "big")
    assert sorted(p.name for p in pods) == [f"worker-{i:05d}" for i in range(count)]
    requests = [r.query for r in fake_kube.requests if r.path == "/api/v1/namespaces/big/pods"]
    assert len(requests) == 3
    assert "continue" in requests[1]
    assert "limit" not in requests[2] and "continue" not in requests[2]


def test_events_are_one_request_filtered_by_uid(kube: FakeKube, view: LiveView) -> None:
    crashing = view.get("Pod", "shop", CRASHING)
    assert crashing is not None
    kube.reset_requests()
    events = view.events(crashing)
    assert [e.text("reason") for e in events] == ["Scheduled", "Pulled", "Created", "Started", "BackOff"]
    assert all(e.text("involvedObject", "uid") == CRASHING_UID for e in events)
    assert [(r.path, r.query.get("fieldSelector")) for r in kube.requests] == [
        ("/api/v1/namespaces/shop/events", f"involvedObject.uid={CRASHING_UID}")
    ]


def test_logs_current_previous_and_tail(view: LiveView) -> None:
    current = view.log("shop", RUNNING, "web", previous=False)
    assert current is not None and current.splitlines()[-1].endswith("listening on :8080")
    previous = view.log("shop", CRASHING, "web", previous=True, tail=2)
    assert previous is not None
    assert previous.splitlines() == [
        "2024-06-11T10:02:41.004Z ERROR database: dial tcp 10.96.88.4:5432: connect: connection refused",
        "2024-06-11T10:02:41.005Z FATAL cannot start without a database, exiting with status 1",
    ]


def test_no_previous_log_is_none_without_a_note(kube: FakeKube, view: LiveView) -> None:
    assert view.log("shop", RUNNING, "web", previous=True) is None
    assert view.log("shop", "report", "report", previous=False) is None  # waiting to start
    assert view.log("shop", "gone", "web", previous=False) is None
    assert view.notes() == ()
    assert kube.received("GET", f"{SHOP_PODS}/{RUNNING}/log") == 1


def test_concurrent_reads_share_one_view(kube: FakeKube, view: LiveView) -> None:
    with ThreadPoolExecutor(max_workers=8) as pool:
        found = list(pool.map(lambda i: view.get("Pod", "shop", [CRASHING, RUNNING][i % 2]), range(40)))
    assert all(p is not None for p in found)
    assert kube.received("GET", f"{SHOP_PODS}/{CRASHING}") == 20


# -- failures -------------------------------------------------------------------------------


def test_403_is_cluster_forbidden_with_the_servers_words(kube: FakeKube, view: LiveView) -> None:
    kube.fail("/api/v1/namespaces/kube-system/pods", 403)
    with pytest.raises(ClusterForbidden) as caught:
        view.list("Pod", "kube-system")
    assert caught.value.cluster == "fake"
    assert 'cannot list resource "pods" in API group "" in the namespace "kube-system"' in caught.value.detail


def test_401_is_cluster_forbidden(kube: FakeKube, view: LiveView) -> None:
    kube.fail("/api/v1/nodes", 401)
    with pytest.raises(ClusterForbidden) as caught:
        view.list("Node")
    assert caught.value.detail.endswith("Unauthorized")


@pytest.mark.parametrize(
    ("status", "words"), [(500, "etcdserver"), (503, "unable to handle"), (429, "Too Many")]
)
def test_server_errors_are_cluster_unavailable(
    kube: FakeKube, view: LiveView, status: int, words: str
) -> None:
    kube.fail(SHOP_PODS, status)
    with pytest.raises(ClusterUnavailable) as caught:
        view.get("Pod", "shop", CRASHING)
    assert f"HTTP {status}" in caught.value.detail
    assert words in caught.value.detail
    assert kube.received("GET", f"{SHOP_PODS}/{CRASHING}") == 1  # no retries


def test_a_dropped_connection_is_unavailable_once(kube: FakeKube, view: LiveView) -> None:
    kube.drop(SHOP_PODS, times=1)
    with pytest.raises(ClusterUnavailable) as caught:
        view.list("Pod", "shop")
    assert "connection closed without a response" in caught.value.detail
    assert kube.url in caught.value.detail
    assert kube.received("GET", SHOP_PODS) == 1
    assert len(view.list("Pod", "shop")) == 3  # the next read recovers


def test_a_hung_server_times_out(kube: FakeKube) -> None:
    kube.hang(SHOP_PODS)
    view = view_of(kube, timeout=0.5)
    with pytest.raises(ClusterUnavailable) as caught:
        view.get("Pod", "shop", RUNNING)
    assert "timed out" in caught.value.detail
    assert kube.received("GET", f"{SHOP_PODS}/{RUNNING}") == 1


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port with nothing listening: bound (so no one else takes it) but never listen()ed."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    yield sock.getsockname()[1]
    sock.close()


def test_nothing_listening_is_connection_refused(kube: FakeKube, closed_port: int, tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(kube.kubeconfig.read_text().replace(kube.url, f"http://127.0.0.1:{closed_port}"))
    api, name, _ = load_api_client(str(kubeconfig), None)
    with pytest.raises(ClusterUnavailable) as caught:
        LiveView(api, name).list("Namespace")
    assert caught.value.detail == f"list namespaces: connection refused (http://127.0.0.1:{closed_port})"


def test_soft_reads_give_notes_instead_of_errors(kube: FakeKube, view: LiveView) -> None:
    kube.fail("/api/v1/", 500)
    assert view.soft_get("Pod", "shop", CRASHING) is None
    assert view.soft_list("Service", "shop") == ()
    notes = view.notes()
    assert [n.code for n in notes] == ["PARTIAL-UNREADABLE", "PARTIAL-UNREADABLE"]
    assert (notes[0].fields["kind"], notes[0].fields["ref"]) == ("Pod", f"shop/{CRASHING}")
    assert (notes[1].fields["kind"], notes[1].fields["ref"]) == ("Service", "shop")
    assert "HTTP 500" in str(notes[0].fields["detail"])


def test_unreadable_events_and_logs_are_notes(kube: FakeKube, view: LiveView) -> None:
    crashing = view.get("Pod", "shop", CRASHING)
    assert crashing is not None
    kube.fail("/api/v1/namespaces/shop/events", 403)
    kube.fail(f"{SHOP_PODS}/{CRASHING}/log", 403)
    assert view.events(crashing) == []
    assert view.log("shop", CRASHING, "web", previous=True) is None
    assert [(n.fields["kind"], n.fields["ref"]) for n in view.notes()] == [
        ("Event", f"shop/{CRASHING}"),
        ("log", f"shop/{CRASHING}/web"),
    ]
    with pytest.raises(ClusterForbidden):
        view.read_log("shop", CRASHING, "web", previous=True)

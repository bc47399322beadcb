"""The fake API server answers like kube-apiserver: paths, list shapes, selectors, paging, Status
bodies, auth. Checked over plain HTTP (urllib) and through the official `kubernetes` client, whose
typed models must deserialise every answer (proof the shapes are right)."""

from __future__ import annotations

import http.client
import json
import re
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client as k8s
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException

from handlers.kinds import KINDS, Kind
from tests.conftest import FIXTURES, ROOT
from tests.fakes.kube_api import FakeKube, parse_label_selector

BASIC = FIXTURES / "basic"
CRASHING = "web-7d4b9c8f6d-q8l5m"
CRASHING_UID = "6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"
RUNNING = "web-7d4b9c8f6d-x2x9k"


class Answer:
    def __init__(self, status: int, body: bytes, headers: Mapping[str, str]) -> None:
        self.status, self.body, self.headers = status, body, headers

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode()


def call(kube: FakeKube, path: str, *, method: str = "GET", token: str | None = "") -> Answer:
    """One request with urllib; token "" means the kubeconfig's, None means no Authorization."""
    headers = {} if token is None else {"Authorization": f"Bearer {token or kube.token}"}
    req = urllib.request.Request(kube.url + path, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return Answer(resp.status, resp.read(), dict(resp.headers))
    except urllib.error.HTTPError as err:
        return Answer(err.code, err.read(), dict(err.headers))


def names(answer: Answer) -> list[str]:
    return [i["metadata"]["name"] for i in answer.json()["items"]]


@pytest.fixture
def basic(fake_kube: FakeKube) -> FakeKube:
    fake_kube.serve(BASIC)
    return fake_kube


def pod(name: str, ns: str, labels: Mapping[str, str] | None = None, node: str = "node-a") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": ns, "uid": f"uid-{ns}-{name}", "labels": dict(labels or {})},
        "spec": {"nodeName": node, "containers": [{"name": "app", "image": "busybox:1.36"}]},
        "status": {"phase": "Running"},
    }


# -- lists and gets -------------------------------------------------------------------------


def test_a_list_has_the_servers_shape_items_without_kind(basic: FakeKube) -> None:
    answer = call(basic, "/api/v1/namespaces/shop/pods")
    assert answer.status == 200
    assert answer.headers["Content-Type"] == "application/json"
    body = answer.json()
    assert (body["kind"], body["apiVersion"]) == ("PodList", "v1")
    assert re.fullmatch(r"\d+", body["metadata"]["resourceVersion"])
    assert "continue" not in body["metadata"]
    assert names(answer) == ["report", CRASHING, RUNNING]  # etcd key order
    assert all("kind" not in i and "apiVersion" not in i for i in body["items"])


def test_a_get_has_kind_and_api_version(basic: FakeKube) -> None:
    body = call(basic, "/apis/apps/v1/namespaces/shop/deployments/web").json()
    assert (body["kind"], body["apiVersion"], body["metadata"]["name"]) == ("Deployment", "apps/v1", "web")
    ns = call(basic, "/api/v1/namespaces/shop").json()
    assert (ns["kind"], ns["metadata"]["name"]) == ("Namespace", "shop")


@pytest.mark.parametrize("kind", list(KINDS.values()), ids=lambda k: k.kind)
def test_every_readable_kind_is_served_at_its_real_path(basic: FakeKube, kind: Kind) -> None:
    body = call(basic, kind.path()).json()
    assert (body["kind"], body["apiVersion"]) == (f"{kind.kind}List", kind.api_version)
    if kind.namespaced:
        scoped = call(basic, kind.path("shop")).json()
        assert scoped["kind"] == f"{kind.kind}List"
        assert call(basic, kind.path("shop", "nope")).status == 404
    else:
        assert call(basic, kind.path(None, "nope")).status == 404


def test_all_namespaces_list_and_namespaced_list(fake_kube: FakeKube) -> None:
    fake_kube.serve_objects([pod("a", "one"), pod("b", "two"), pod("c", "one")])
    assert names(call(fake_kube, "/api/v1/pods")) == ["a", "c", "b"]
    assert names(call(fake_kube, "/api/v1/namespaces/one/pods")) == ["a", "c"]
    assert names(call(fake_kube, "/api/v1/namespaces/empty/pods")) == []  # 200, as the real server


def test_serve_replaces_what_is_served(basic: FakeKube) -> None:
    assert len(names(call(basic, "/api/v1/pods"))) == 3
    basic.serve_objects([pod("only", "x")])
    assert names(call(basic, "/api/v1/pods")) == ["only"]
    basic.serve()
    assert names(call(basic, "/api/v1/pods")) == []


def test_unknown_paths_are_404_status(basic: FakeKube) -> None:
    for path in ("/api/v1/pods/web", "/apis/apps/v1/widgets", "/apis/example.com/v1/things", "/api/v2/pods"):
        answer = call(basic, path)
        assert answer.status == 404, path
        assert answer.json()["message"] == "the server could not find the requested resource"


# -- errors ---------------------------------------------------------------------------------


def test_not_found_is_the_real_status_body(basic: FakeKube) -> None:
    answer = call(basic, "/api/v1/namespaces/shop/pods/x")
    assert answer.status == 404
    assert answer.json() == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'pods "x" not found',
        "reason": "NotFound",
        "details": {"name": "x", "kind": "pods"},
        "code": 404,
    }
    apps = call(basic, "/apis/apps/v1/namespaces/shop/deployments/x").json()
    assert apps["message"] == 'deployments.apps "x" not found'
    assert apps["details"] == {"name": "x", "group": "apps", "kind": "deployments"}


def test_forbidden_words_the_user_verb_resource_and_namespace(basic: FakeKube) -> None:
    basic.fail("/api/v1/namespaces/kube-system/pods", 403)
    answer = call(basic, "/api/v1/namespaces/kube-system/pods")
    assert answer.status == 403
    body = answer.json()
    assert body["message"] == (
        'pods is forbidden: User "system:serviceaccount:k8s-bot:k8s-bot" cannot list resource "pods" '
        'in API group "" in the namespace "kube-system"'
    )
    assert (body["reason"], body["code"], body["details"]) == ("Forbidden", 403, {"kind": "pods"})
    basic.fail("/apis/apps/v1/deployments", 403)
    cluster_wide = call(basic, "/apis/apps/v1/deployments").json()["message"]
    assert cluster_wide.endswith(
        'cannot list resource "deployments" in API group "apps" at the cluster scope'
    )
    basic.fail("/api/v1/namespaces/shop/pods/web-7d4b9c8f6d-q8l5m/log", 403)
    log = call(basic, f"/api/v1/namespaces/shop/pods/{CRASHING}/log").json()["message"]
    assert log.startswith(f'pods "{CRASHING}" is forbidden:')
    assert 'cannot get resource "pods/log" in API group "" in the namespace "shop"' in log


def test_fail_answers_times_then_recovers(basic: FakeKube) -> None:
    basic.fail("/api/v1/namespaces/shop/pods", 500, times=2)
    first = call(basic, "/api/v1/namespaces/shop/pods")
    assert first.status == 500
    assert first.json()["reason"] == "InternalError"
    assert first.json()["message"].startswith("Internal error occurred: ")
    assert call(basic, "/api/v1/namespaces/shop/pods").status == 500
    assert call(basic, "/api/v1/namespaces/shop/pods").status == 200
    assert call(basic, "/api/v1/namespaces/shop/services").status == 200


def test_429_is_plain_text_with_retry_after_like_the_apiservers_filter(basic: FakeKube) -> None:
    basic.fail("/api/", 429, retry_after=7)
    answer = call(basic, "/api/v1/pods")
    assert answer.status == 429
    assert answer.headers["Retry-After"] == "7"
    assert answer.headers["Content-Type"].startswith("text/plain")
    assert answer.text == "Too many requests, please try again later.\n"


def test_writes_are_405(basic: FakeKube) -> None:
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        answer = call(basic, "/api/v1/namespaces/shop/pods", method=method)
        assert answer.status == 405, method
        assert answer.json()["reason"] == "MethodNotAllowed"
    assert basic.received("DELETE", "/api/v1/namespaces/shop/pods") == 1


def test_credentials_are_required(basic: FakeKube) -> None:
    for token in (None, "wrong"):
        answer = call(basic, "/api/v1/pods", token=token)
        assert answer.status == 401
        assert answer.json()["reason"] == "Unauthorized"
        assert answer.json()["message"] == "Unauthorized"
    assert call(basic, "/version", token=None).status == 200  # public, as system:public-info-viewer


def test_discovery(basic: FakeKube) -> None:
    assert call(basic, "/api").json()["versions"] == ["v1"]
    groups = {g["name"]: g["preferredVersion"]["groupVersion"] for g in call(basic, "/apis").json()["groups"]}
    assert groups == {k.group: k.api_version for k in KINDS.values() if k.group}
    core = {r["name"] for r in call(basic, "/api/v1").json()["resources"]}
    assert {"pods", "pods/log", "events", "namespaces"} <= core
    apps = call(basic, "/apis/apps/v1").json()
    assert apps["groupVersion"] == "apps/v1"
    assert {"deployments", "statefulsets"} <= {r["name"] for r in apps["resources"]}
    assert call(basic, "/version").json()["gitVersion"].startswith("v1.")


# -- paging ---------------------------------------------------------------------------------


def test_limit_and_continue_page_through_everything_once(fake_kube: FakeKube) -> None:
    fake_kube.serve_objects([pod(f"p{i:02d}", "ns") for i in range(5)])
    first = call(fake_kube, "/api/v1/namespaces/ns/pods?limit=2").json()
    assert [i["metadata"]["name"] for i in first["items"]] == ["p00", "p01"]
    assert first["metadata"]["remainingItemCount"] == 3
    seen = [i["metadata"]["name"] for i in first["items"]]
    token = first["metadata"]["continue"]
    pages = 1
    while token:
        page = call(fake_kube, f"/api/v1/namespaces/ns/pods?limit=2&continue={token}").json()
        seen += [i["metadata"]["name"] for i in page["items"]]
        token = page["metadata"].get("continue")
        pages += 1
    assert seen == [f"p{i:02d}" for i in range(5)]
    assert pages == 3
    assert fake_kube.received("GET", "/api/v1/namespaces/ns/pods") == 3


def test_an_expired_continue_token_is_410_with_an_inconsistent_token(fake_kube: FakeKube) -> None:
    fake_kube.serve_objects([pod(f"p{i}", "ns") for i in range(4)])
    token = call(fake_kube, "/api/v1/pods?limit=2").json()["metadata"]["continue"]
    fake_kube.expire_continue_tokens()
    answer = call(fake_kube, f"/api/v1/pods?limit=2&continue={token}")
    assert answer.status == 410
    body = answer.json()
    assert (body["reason"], body["code"]) == ("Expired", 410)
    assert body["message"].startswith(
        "The provided continue parameter is too old to display a consistent list"
    )
    rest = call(fake_kube, f"/api/v1/pods?limit=2&continue={body['metadata']['continue']}")
    assert names(rest) == ["p2", "p3"]


def test_a_garbage_continue_token_is_400_as_etcd3_says(fake_kube: FakeKube) -> None:
    answer = call(fake_kube, "/api/v1/pods?limit=2&continue=not-a-token")
    assert answer.status == 400
    assert answer.json()["message"].startswith("invalid continue token: ")


# -- selectors ------------------------------------------------------------------------------

LABELLED = [
    pod("a", "ns", {"app": "web", "tier": "front"}),
    pod("b", "ns", {"app": "web", "tier": "back"}),
    pod("c", "ns", {"app": "db"}),
    pod("d", "ns", {"rank": "3"}),
]


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("app=web", ["a", "b"]),
        ("app==web", ["a", "b"]),
        ("app!=web", ["c", "d"]),
        ("app in (web,db)", ["a", "b", "c"]),
        ("app in ( db )", ["c"]),
        ("tier notin (front)", ["b", "c", "d"]),
        ("tier", ["a", "b"]),
        ("!tier", ["c", "d"]),
        ("app=web,tier=back", ["b"]),
        ("app in (web),!tier", []),
        ("rank>2", ["d"]),
        ("rank<3", []),
        ("", ["a", "b", "c", "d"]),
    ],
)
def test_label_selectors(fake_kube: FakeKube, selector: str, expected: list[str]) -> None:
    fake_kube.serve_objects(LABELLED)
    answer = call(fake_kube, "/api/v1/namespaces/ns/pods?labelSelector=" + urllib.request.quote(selector))
    assert names(answer) == expected


@pytest.mark.parametrize("selector", ["app in web", "a b=c", "=x", "app=(x", "app in (a b)"])
def test_bad_label_selectors_are_400(fake_kube: FakeKube, selector: str) -> None:
    answer = call(fake_kube, "/api/v1/pods?labelSelector=" + urllib.request.quote(selector))
    assert answer.status == 400
    assert answer.json()["reason"] == "BadRequest"
    assert answer.json()["message"].startswith("unable to parse requirement")


def test_label_selector_parser_keeps_set_values() -> None:
    [req] = parse_label_selector("env notin (prod, staging)")
    assert (req.key, req.op, req.values) == ("env", "notin", ("prod", "staging"))


@pytest.mark.parametrize(
    ("path", "selector", "expected"),
    [
        ("/api/v1/namespaces/shop/events", f"involvedObject.uid={CRASHING_UID}", 5),
        ("/api/v1/events", f"involvedObject.name={RUNNING}", 3),
        ("/api/v1/events", "involvedObject.kind=Pod,involvedObject.namespace=shop", 10),
        ("/api/v1/events", "reason=BackOff", 1),
        ("/api/v1/events", "type=Warning", 2),
        ("/api/v1/events", "type!=Warning", 8),
        ("/api/v1/events", "source=default-scheduler", 3),
        ("/api/v1/pods", "spec.nodeName=node-a", 2),
        ("/api/v1/pods", "status.phase=Pending", 1),
        ("/api/v1/pods", "status.phase==Running,spec.nodeName=node-b", 1),
        ("/api/v1/pods", "metadata.name=report", 1),
        ("/api/v1/namespaces/shop/services", "metadata.namespace=shop", 1),
    ],
)
def test_field_selectors(basic: FakeKube, path: str, selector: str, expected: int) -> None:
    answer = call(basic, f"{path}?fieldSelector={urllib.request.quote(selector)}")
    assert answer.status == 200
    assert len(names(answer)) == expected


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/v1/events", "involvedObject.color"),
        ("/api/v1/pods", "spec.containers"),
        ("/api/v1/services", "spec.nodeName"),
    ],
)
def test_unsupported_field_labels_are_400_like_the_real_server(
    basic: FakeKube, path: str, field: str
) -> None:
    answer = call(basic, f"{path}?fieldSelector={field}%3Dx")
    assert answer.status == 400
    assert answer.json() == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": f"field label not supported: {field}",
        "reason": "BadRequest",
        "code": 400,
    }


# -- logs -----------------------------------------------------------------------------------


def test_pod_logs_current_previous_and_tail(basic: FakeKube) -> None:
    base = "/api/v1/namespaces/shop/pods"
    current = call(basic, f"{base}/{RUNNING}/log?container=web")
    assert current.status == 200
    assert current.headers["Content-Type"] == "text/plain"
    assert current.text.endswith("INFO  listening on :8080\n")
    assert call(basic, f"{base}/{RUNNING}/log").text == current.text  # one container: the default
    tail = call(basic, f"{base}/{CRASHING}/log?container=web&previous=true&tailLines=1").text
    assert tail == "2024-06-11T10:02:41.005Z FATAL cannot start without a database, exiting with status 1\n"


@pytest.mark.parametrize(
    ("pod_name", "query", "message"),
    [
        (RUNNING, "container=web&previous=true", 'previous terminated container "web" in pod "%s" not found'),
        (
            "report",
            "container=report",
            'container "report" in pod "%s" is waiting to start: ContainerCreating',
        ),
        ("report", "", "a container name must be specified for pod %s, choose one of: [report uploader]"),
        (RUNNING, "container=sidecar", "container sidecar is not valid for pod %s"),
    ],
)
def test_log_errors_are_400_with_the_kubelet_wording(
    basic: FakeKube, pod_name: str, query: str, message: str
) -> None:
    answer = call(basic, f"/api/v1/namespaces/shop/pods/{pod_name}/log?{query}")
    assert answer.status == 400
    assert answer.json()["reason"] == "BadRequest"
    assert answer.json()["message"] == message % pod_name


def test_log_of_a_missing_pod_is_404(basic: FakeKube) -> None:
    answer = call(basic, "/api/v1/namespaces/shop/pods/gone/log")
    assert answer.status == 404
    assert answer.json()["message"] == 'pods "gone" not found'


# -- recording and faults -------------------------------------------------------------------


def test_requests_are_recorded_with_their_query(basic: FakeKube) -> None:
    call(basic, "/api/v1/namespaces/shop/pods?limit=2&labelSelector=app%3Dweb")
    call(basic, "/api/v1/namespaces/shop/pods")
    assert basic.received("GET", "/api/v1/namespaces/shop/pods") == 2
    assert basic.received("GET", "/api/v1/pods") == 0
    method, path, query = basic.requests[0]
    assert (method, path, query) == (
        "GET",
        "/api/v1/namespaces/shop/pods",
        {"limit": "2", "labelSelector": "app=web"},
    )
    basic.reset_requests()
    assert basic.requests == []


def test_drop_closes_the_connection_without_an_answer(basic: FakeKube) -> None:
    basic.drop("/api/v1/namespaces/shop", times=1)
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError, urllib.error.URLError)):
        call(basic, "/api/v1/namespaces/shop/pods")
    assert call(basic, "/api/v1/namespaces/shop/pods").status == 200
    assert basic.received("GET", "/api/v1/namespaces/shop/pods") == 2


def test_hang_never_answers_until_stop() -> None:
    kube = FakeKube.start(BASIC)
    try:
        kube.hang("/api/v1/nodes")
        with pytest.raises((TimeoutError, socket.timeout, urllib.error.URLError)):
            req = urllib.request.Request(
                kube.url + "/api/v1/nodes", headers={"Authorization": f"Bearer {kube.token}"}
            )
            urllib.request.urlopen(req, timeout=0.3)
        assert call(kube, "/api/v1/namespaces").status == 200  # other paths still answer
    finally:
        kube.stop()  # releases the hung handler; must not block


def test_latency_still_answers(basic: FakeKube) -> None:
    basic.latency = 0.05
    assert call(basic, "/api/v1/pods").status == 200


# -- the kubeconfig -------------------------------------------------------------------------


def test_kubeconfig_has_fake_and_fake_ns_contexts(fake_kube: FakeKube) -> None:
    config = yaml.safe_load(fake_kube.kubeconfig.read_text())
    contexts = {c["name"]: c["context"] for c in config["contexts"]}
    assert config["current-context"] == "fake"
    assert "namespace" not in contexts["fake"]
    assert contexts["fake-ns"]["namespace"] == "logging"
    assert config["clusters"][0]["cluster"]["server"] == fake_kube.url
    assert fake_kube.env()["KUBECONFIG"] == str(fake_kube.kubeconfig)
    assert fake_kube.env(K8SBOT_API_TIMEOUT="1")["K8SBOT_API_TIMEOUT"] == "1"


def test_stop_removes_the_kubeconfig_and_closes_the_port() -> None:
    with FakeKube.start() as kube:
        path, url = kube.kubeconfig, kube.url
        assert path.exists()
    assert not path.exists()
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url + "/version", timeout=2)


def test_runs_by_hand_and_prints_its_kubeconfig() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.kube_api", "--snapshot", str(BASIC), "--quiet"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(2)]
        kubeconfig = lines[1].split("kubeconfig: ", 1)[1].strip()
        config = yaml.safe_load(Path(kubeconfig).read_text())
        server, token = config["clusters"][0]["cluster"]["server"], config["users"][0]["user"]["token"]
        req = urllib.request.Request(
            server + "/api/v1/namespaces/shop/services", headers={"Authorization": f"Bearer {token}"}
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            assert [i["metadata"]["name"] for i in json.load(resp)["items"]] == ["web"]
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0


# -- through the official client ------------------------------------------------------------


@pytest.fixture
def client(basic: FakeKube) -> Iterator[k8s.ApiClient]:
    api = k8s_config.new_client_from_config(config_file=str(basic.kubeconfig), persist_config=False)
    yield api
    api.close()


def test_typed_pod_list_deserialises(client: k8s.ApiClient) -> None:
    pods = k8s.CoreV1Api(client).list_namespaced_pod("shop", limit=2)
    assert isinstance(pods, k8s.V1PodList)
    assert [p.metadata.name for p in pods.items] == ["report", CRASHING]
    assert pods.metadata._continue
    crashing = pods.items[1]
    status = crashing.status.container_statuses[0]
    assert status.state.waiting.reason == "CrashLoopBackOff"
    assert status.last_state.terminated.exit_code == 1
    rest = k8s.CoreV1Api(client).list_namespaced_pod("shop", limit=2, _continue=pods.metadata._continue)
    assert [p.metadata.name for p in rest.items] == [RUNNING]
    assert not rest.metadata._continue


def _typed_list(client: k8s.ApiClient, kind: Kind) -> Any:
    api_class = {
        "": "CoreV1Api",
        "apps": "AppsV1Api",
        "batch": "BatchV1Api",
        "networking.k8s.io": "NetworkingV1Api",
        "discovery.k8s.io": "DiscoveryV1Api",
        "storage.k8s.io": "StorageV1Api",
    }[kind.group]
    api = getattr(k8s, api_class)(client)
    snake = re.sub(r"(?<!^)(?=[A-Z])", "_", kind.kind).lower()
    if kind.namespaced:
        return getattr(api, f"list_{snake}_for_all_namespaces")(limit=100)
    return getattr(api, f"list_{snake}")(limit=100)


@pytest.mark.parametrize("kind", list(KINDS.values()), ids=lambda k: k.kind)
def test_typed_lists_of_every_kind_deserialise(basic: FakeKube, client: k8s.ApiClient, kind: Kind) -> None:
    result = _typed_list(client, kind)
    assert type(result).__name__.endswith(f"V1{kind.kind}List")  # core Events are CoreV1EventList
    assert [i.metadata.name for i in result.items] == names(call(basic, kind.path()))


def test_typed_events_by_field_selector_and_get(client: k8s.ApiClient) -> None:
    core = k8s.CoreV1Api(client)
    events = core.list_event_for_all_namespaces(field_selector=f"involvedObject.uid={CRASHING_UID}")
    assert sorted(e.reason for e in events.items) == ["BackOff", "Created", "Pulled", "Scheduled", "Started"]
    deploy = k8s.AppsV1Api(client).read_namespaced_deployment("web", "shop")
    assert deploy.spec.template.spec.containers[0].ports[0].name == "http"
    assert core.read_namespaced_service("web", "shop").spec.cluster_ip == "10.96.142.17"
    log = core.read_namespaced_pod_log(CRASHING, "shop", container="web", previous=True, tail_lines=2)
    assert log.splitlines()[-1].endswith("exiting with status 1")


def test_typed_client_errors_carry_the_status(client: k8s.ApiClient) -> None:
    with pytest.raises(ApiException) as caught:
        k8s.CoreV1Api(client).read_namespaced_pod("nope", "shop")
    assert caught.value.status == 404
    assert json.loads(caught.value.body)["reason"] == "NotFound"


def test_the_real_client_sends_its_bearer_token(basic: FakeKube) -> None:
    cfg = k8s.Configuration()
    k8s_config.load_kube_config(
        config_file=str(basic.kubeconfig), client_configuration=cfg, persist_config=False
    )
    with k8s.ApiClient(cfg) as right:
        assert [n.metadata.name for n in k8s.CoreV1Api(right).list_namespace().items] == ["shop"]
    assert list(cfg.api_key) == ["BearerToken"]
    cfg.api_key = {"BearerToken": "Bearer not-the-token"}
    cfg.refresh_api_key_hook = None  # it would put the kubeconfig's token back before each request
    with k8s.ApiClient(cfg) as wrong, pytest.raises(ApiException) as caught:
        k8s.CoreV1Api(wrong).list_namespace()
    assert caught.value.status == 401

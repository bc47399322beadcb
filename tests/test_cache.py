"""The read cache (bot/cache.py, bot/cached_view.py) against the fake API server and the REAL Redis.

Every test counts what the fake API server received: a warm answer must cost it nothing. Redis is
the server on 127.0.0.1:6379; each test writes under its own key prefix and deletes it afterwards.
Redis failures are real too: a closed port, a port that accepts and never answers, and a
redis-server started, stopped and restarted by the test.
"""

from __future__ import annotations

import json
import logging
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import redis

from bot.cache import decode, decode_lines
from bot.cached_view import KEEP_PARSED_BYTES, CachedView, LazyObject
from bot.clusters import Clusters
from bot.config import DEFAULT_CACHE_TTL, Settings, SettingsError
from bot.metrics import REGISTRY
from handlers.errors import ClusterUnavailable
from handlers.objects import Obj
from tests.conftest import FIXTURES, ROOT, clean_env, run_cli
from tests.fakes.kube_api import FakeKube, iter_snapshot_objects

REDIS_URL = "redis://127.0.0.1:6379/0"
BASIC = FIXTURES / "basic"
CRASHING = "web-7d4b9c8f6d-q8l5m"
SHOP_PODS = "/api/v1/namespaces/shop/pods"
BACKENDS = ("memory", "redis")


# -- helpers ------------------------------------------------------------------------------------
@pytest.fixture
def prefix() -> Iterator[str]:
    """A private key prefix in the real Redis, deleted after the test."""
    name = f"k8sbot-test-{uuid.uuid4().hex[:12]}"
    yield name
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"{name}:*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def kube(fake_kube: FakeKube) -> FakeKube:
    fake_kube.serve(BASIC)
    return fake_kube


def settings_for(backend: str, prefix: str, **kw: Any) -> Settings:
    return Settings(redis_url=REDIS_URL if backend == "redis" else None, cache_prefix=prefix, **kw)


def clusters_for(kube: FakeKube, settings: Settings) -> Clusters:
    return Clusters(settings, kubeconfig=str(kube.kubeconfig))


def view_of(clusters: Clusters, *, fresh: bool = False) -> CachedView:
    view = clusters.open(fresh=fresh).view
    assert isinstance(view, CachedView)
    return view


def lists(kube: FakeKube, path: str = SHOP_PODS) -> int:
    return kube.received("GET", path)


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def redis_keys(prefix: str, url: str = REDIS_URL) -> dict[str, bytes]:
    client = redis.Redis.from_url(url)
    try:
        return {k.decode(): client.get(k) or b"" for k in client.scan_iter(match=f"{prefix}:*", count=1000)}
    finally:
        client.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LogLines(logging.Handler):
    """Collects the bot's JSON log events (bot.logs writes to the `k8s_bot` logger)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.events: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.events.append(json.loads(record.getMessage()))

    def named(self, event: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e.get("event") == event]


@pytest.fixture
def log_lines() -> Iterator[LogLines]:
    logger = logging.getLogger("k8s_bot")
    handler = LogLines()
    logger.addHandler(handler)
    old = logger.level
    logger.setLevel(logging.INFO)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(old)


# A bot process reading through bot.clusters, as `k8s-bot ask` does: argv = kubeconfig, then ops
# `list:Kind:ns[:k=v]`, `get:Kind:ns:name`; `--fresh`; `--wait-go` (print READY, read a line first).
READER = r"""
import json, sys
from bot import logs
from bot.cache import decode, decode_lines
from bot.clusters import Clusters
from bot.config import Settings
from bot.metrics import REGISTRY
logs.configure("INFO")
kubeconfig, *ops = sys.argv[1:]
requests = []
clusters = Clusters(Settings.from_env(), kubeconfig=kubeconfig, on_request=requests.append)
view = clusters.open(fresh="--fresh" in ops).view
import kubernetes.client
kubernetes.client.CoreV1Api  # the first use costs seconds: not while the other process waits
cached_before = None
if "--wait-go" in ops:
    key = view.key("Pod", "shop", "list:")
    print("READY", flush=True)
    sys.stdin.readline()
    cached_before = clusters._cache.get(key) is not None
out = []
for op in ops:
    if op.startswith("--"):
        continue
    verb, kind, ns, *rest = op.split(":")
    if verb == "list":
        labels = dict(kv.split("=") for kv in rest[0].split(",")) if rest else None
        out.append(sorted(o.name for o in view.list(kind, ns, labels=labels)))
    else:
        obj = view.get(kind, ns, rest[0])
        out.append(None if obj is None else obj.name)
def sample(name):
    return REGISTRY.get_sample_value(name, {"kind": "Pod"}) or 0
print(json.dumps({"results": out, "requests": requests, "cached_before": cached_before,
                  "hits": sample("k8sbot_cache_hits_total"), "misses": sample("k8sbot_cache_misses_total")}))
"""


def reader(kube: FakeKube, *ops: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", READER, str(kube.kubeconfig), *ops],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(proc: subprocess.Popen[str]) -> tuple[dict[str, Any], str]:
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1]), err


def config_file(tmp_path: Path, text: str) -> str:
    path = tmp_path / "k8sbot.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


# -- hits, misses, what is cached ---------------------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
def test_a_warm_answer_asks_the_api_server_nothing(kube: FakeKube, prefix: str, backend: str) -> None:
    clusters = clusters_for(kube, settings_for(backend, prefix))
    hits, misses = (
        metric("k8sbot_cache_hits_total", kind="Pod"),
        metric("k8sbot_cache_misses_total", kind="Pod"),
    )

    def answer() -> tuple[list[str], str | None, str | None, int, str | None]:
        view = view_of(clusters)
        pods = sorted(o.name for o in view.list("Pod", "shop", labels={"app": "web"}))
        crashing = view.get("Pod", "shop", CRASHING)
        missing = view.get("Pod", "shop", "no-such-pod")
        assert crashing is not None
        events = view.events(crashing)
        previous = view.log("shop", CRASHING, "web", previous=True)
        return pods, crashing.name, None if missing is None else missing.name, len(events), previous

    cold = answer()
    before = len(kube.requests)
    warm = answer()
    assert warm == cold
    assert cold[0] == [CRASHING, "web-7d4b9c8f6d-x2x9k"]
    assert cold[2] is None and cold[3] > 0 and cold[4]
    assert len(kube.requests) == before, [r.path for r in kube.requests[before:]]
    assert metric("k8sbot_cache_misses_total", kind="Pod") == misses + 3  # list, get, get of a missing pod
    assert metric("k8sbot_cache_hits_total", kind="Pod") == hits + 3


def test_redis_is_shared_by_bot_processes_under_documented_keys(
    kube: FakeKube, prefix: str, tmp_path: Path
) -> None:
    # A long TTL: a bot process starts in seconds on a busy machine; expiry is tested elsewhere.
    cfg = config_file(tmp_path, f"cache:\n  prefix: {prefix}\n  ttl:\n    Pod: 300\n")
    env = kube.env(REDIS_URL=REDIS_URL, K8SBOT_CONFIG=cfg)
    first, _ = finish(reader(kube, "list:Pod:shop:app=web", "get:Pod:shop:no-such-pod", env=env))
    second, _ = finish(reader(kube, "list:Pod:shop:app=web", "get:Pod:shop:no-such-pod", env=env))
    assert first["results"] == second["results"] == [[CRASHING, "web-7d4b9c8f6d-x2x9k"], None]
    assert len(first["requests"]) == 2
    assert second["requests"] == []  # the second bot process answered from Redis
    keys = redis_keys(prefix)
    assert set(keys) == {f"{prefix}:fake:Pod:shop:list:app=web", f"{prefix}:fake:Pod:shop:no-such-pod"}
    assert decode(keys[f"{prefix}:fake:Pod:shop:no-such-pod"]) is None  # not-found is cached too
    listed = [json.loads(b) for b in decode_lines(keys[f"{prefix}:fake:Pod:shop:list:app=web"])]
    assert [p["metadata"]["name"] for p in listed] == first["results"][0]


def test_the_cli_answers_warm_from_redis_and_fresh_from_the_cluster(
    kube: FakeKube, prefix: str, tmp_path: Path
) -> None:
    # TTLs longer than a bot process's start-up on a busy machine; expiry is tested elsewhere.
    ttls = "".join(f"    {kind}: 300\n" for kind in DEFAULT_CACHE_TTL)
    cfg = config_file(tmp_path, f"cache:\n  prefix: {prefix}\n  ttl:\n{ttls}")
    env = kube.env(REDIS_URL=REDIS_URL, K8SBOT_CONFIG=cfg)
    question = ("ask", f"why {CRASHING} -n shop", "--kubeconfig", str(kube.kubeconfig), "--format", "json")
    cold = run_cli(*question, env=env)
    assert cold.returncode == 0, cold.stderr
    asked = len(kube.requests)
    assert kube.received("GET", f"{SHOP_PODS}/{CRASHING}") == 1
    warm = run_cli(*question, env=env)
    assert warm.returncode == 0, warm.stderr
    assert warm.json()["findings"] == cold.json()["findings"] and cold.json()["status"] == "CrashLoopBackOff"
    assert len(kube.requests) == asked  # the second bot process read nothing from the API server
    fresh = run_cli(*question[:2], "--fresh", *question[2:], env=env)
    assert fresh.returncode == 0, fresh.stderr
    assert kube.received("GET", f"{SHOP_PODS}/{CRASHING}") == 2  # --fresh read it again


def test_live_reads_never_build_the_clients_typed_models(kube: FakeKube, prefix: str) -> None:
    import gc

    from kubernetes import client as k8s

    from bot.cluster import load_api_client

    view = view_of(clusters_for(kube, settings_for("memory", prefix)))
    pods = view.list("Pod", "shop")
    assert view.get("Pod", "shop", CRASHING) is not None and pods
    view.events(pods[0])

    def models() -> int:
        gc.collect()
        return sum(isinstance(o, k8s.V1Pod | k8s.V1PodList | k8s.CoreV1Event) for o in gc.get_objects())

    assert models() == 0
    api, _, _ = load_api_client(str(kube.kubeconfig), None)
    control = k8s.CoreV1Api(api).list_namespaced_pod("shop")  # the typed way, for contrast
    assert models() > 0
    del control


def test_large_lists_are_stored_compressed_and_slim(fake_kube: FakeKube, prefix: str) -> None:
    from tests.bench import synth

    cluster = synth.build(pods=120, namespaces=3, nodes=3)
    fake_kube.serve_objects(cluster.objects, cluster.logs)
    served = cluster.of("Pod")
    assert all("managedFields" in p["metadata"] for p in served)
    view = view_of(clusters_for(fake_kube, settings_for("redis", prefix)))
    pods = view.list("Pod")
    deployments = view.list("Deployment")
    assert len(pods) == 120 and deployments
    blob = redis_keys(prefix)[f"{prefix}:fake:Pod:*:list:"]
    assert blob[:1] == b"l"  # one object per line, compressed
    raw = [json.loads(line) for line in decode_lines(blob)]
    assert len(raw) == 120
    assert len(blob) < len(json.dumps(raw)) / 4
    for obj in [*raw, *(p.raw for p in pods), *(d.raw for d in deployments)]:
        meta = obj["metadata"]
        assert "managedFields" not in meta
        assert "kubectl.kubernetes.io/last-applied-configuration" not in (meta.get("annotations") or {})
    assert {p.name for p in pods} == {p["metadata"]["name"] for p in served}
    assert all(p.raw["kind"] == "Pod" and p.raw["apiVersion"] == "v1" for p in pods)


def test_one_answer_reads_a_namespace_once(kube: FakeKube, prefix: str) -> None:
    view = view_of(clusters_for(kube, settings_for("memory", prefix)))
    everything = view.list("Pod")
    assert len(everything) >= 3
    # The same answer asking per namespace, per label, per name: served from what it already has.
    assert [p.name for p in view.list("Pod", "shop", labels={"app": "web"})] == [
        CRASHING,
        "web-7d4b9c8f6d-x2x9k",
    ]
    assert view.get("Pod", "shop", CRASHING) is not None
    assert view.get("Pod", "shop", "nope") is None
    assert view.events(everything[0]) is not None
    assert kube.received("GET", "/api/v1/pods") == 1
    assert lists(kube) == 0
    assert not any("/pods/" in r.path for r in kube.requests)


def test_events_and_names_come_from_lists_the_answer_already_read(kube: FakeKube, prefix: str) -> None:
    view = view_of(clusters_for(kube, settings_for("memory", prefix)))
    pods = {p.name: p for p in view.list("Pod", "shop")}
    events = view.list("Event", "shop")
    crashing = pods[CRASHING]
    about = view.events(crashing)
    assert about and all(e.text("involvedObject", "uid") == crashing.uid for e in about)
    assert len(about) == sum(1 for e in events if e.text("involvedObject", "uid") == crashing.uid)
    assert view.events(pods["web-7d4b9c8f6d-x2x9k"]) is not None
    assert [r.path for r in kube.requests] == [SHOP_PODS, "/api/v1/namespaces/shop/events"]


def test_listed_objects_are_kept_as_json_and_parsed_within_a_budget() -> None:
    blobs = [json.dumps({"metadata": {"name": f"p{i}"}, "pad": "x" * 50_000}).encode() for i in range(400)]
    objs = [Obj(LazyObject(b)) for b in blobs]
    assert not any(o.raw.parsed for o in objs)  # type: ignore[attr-defined]
    assert [o.name for o in objs] == [f"p{i}" for i in range(400)]  # every one readable
    held = [o.raw.parsed for o in objs]  # type: ignore[attr-defined]
    assert not held[0] and held[-1]  # the oldest parses were let go: 400 x 50 KB > the budget
    assert sum(len(b) for b, h in zip(blobs, held, strict=True) if h) <= KEEP_PARSED_BYTES + 60_000
    assert objs[0].name == "p0" and objs[0].raw.parsed  # type: ignore[attr-defined]
    assert dict(objs[1].raw) == json.loads(blobs[1]) and len(objs[1].raw) == 2 and "pad" in objs[1].raw


@pytest.mark.parametrize("backend", BACKENDS)
def test_entries_expire_after_their_kinds_ttl(kube: FakeKube, prefix: str, backend: str) -> None:
    ttl = {**DEFAULT_CACHE_TTL, "Pod": 0.4}
    clusters = clusters_for(kube, settings_for(backend, prefix, cache_ttl=ttl))
    view_of(clusters).list("Pod", "shop")
    view_of(clusters).list("Pod", "shop")
    assert lists(kube) == 1
    if backend == "redis":
        client = redis.Redis.from_url(REDIS_URL)
        assert 0 < client.pttl(f"{prefix}:fake:Pod:shop:list:") <= 400
        client.close()
    time.sleep(0.5)
    view_of(clusters).list("Pod", "shop")
    assert lists(kube) == 2


def test_a_zero_ttl_kind_is_never_cached(kube: FakeKube, prefix: str) -> None:
    clusters = clusters_for(kube, settings_for("redis", prefix, cache_ttl={**DEFAULT_CACHE_TTL, "Pod": 0}))
    view_of(clusters).list("Pod", "shop")
    view_of(clusters).list("Pod", "shop")
    assert lists(kube) == 2
    assert redis_keys(prefix) == {}


@pytest.mark.parametrize("backend", BACKENDS)
def test_fresh_reads_past_the_cache_and_renews_it(kube: FakeKube, prefix: str, backend: str) -> None:
    clusters = clusters_for(kube, settings_for(backend, prefix))
    assert view_of(clusters).get("Pod", "shop", CRASHING) is not None
    # The cluster changes: the pod is gone (deleted and not yet replaced).
    kube.serve_objects(o for o in iter_snapshot_objects([BASIC]) if o["metadata"]["name"] != CRASHING)
    assert view_of(clusters).get("Pod", "shop", CRASHING) is not None  # still cached: stale on purpose
    fresh = view_of(clusters, fresh=True)
    assert fresh.get("Pod", "shop", CRASHING) is None
    assert fresh.get("Pod", "shop", CRASHING) is None  # once per answer, even when fresh
    assert kube.received("GET", f"{SHOP_PODS}/{CRASHING}") == 2
    assert view_of(clusters).get("Pod", "shop", CRASHING) is None  # renewed for everyone
    assert kube.received("GET", f"{SHOP_PODS}/{CRASHING}") == 2


def test_snapshot_views_are_not_cached(tmp_path: Path) -> None:
    clusters = Clusters(Settings(), snapshot=[str(BASIC)])
    view = clusters.open().view
    assert not isinstance(view, CachedView)
    assert view.get("Pod", "shop", CRASHING) is not None


# -- single flight ------------------------------------------------------------------------------
@pytest.mark.parametrize("backend", BACKENDS)
def test_identical_reads_at_once_make_one_api_request(kube: FakeKube, prefix: str, backend: str) -> None:
    kube.latency = 0.3
    clusters = clusters_for(kube, settings_for(backend, prefix, cache_wait=20.0))
    view_of(clusters).get("Namespace", None, "shop")  # the client and its API classes, built once
    hits = metric("k8sbot_cache_hits_total", kind="Pod")
    start = threading.Barrier(8)

    def ask() -> list[str]:
        view = view_of(clusters)
        start.wait()
        return [p.name for p in view.list("Pod", "shop")]

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: ask(), range(8)))
    assert all(a == answers[0] for a in answers) and CRASHING in answers[0]
    assert lists(kube) == 1
    assert metric("k8sbot_cache_hits_total", kind="Pod") == hits + 7


def test_two_bot_processes_asking_at_once_make_one_api_request(
    kube: FakeKube, prefix: str, tmp_path: Path
) -> None:
    kube.latency = 1.0
    cfg = config_file(tmp_path, f"cache:\n  prefix: {prefix}\n  wait: 30\n")
    env = kube.env(REDIS_URL=REDIS_URL, K8SBOT_CONFIG=cfg)
    procs = [reader(kube, "list:Pod:shop", "--wait-go", env=env) for _ in range(2)]
    for p in procs:
        assert p.stdout is not None and p.stdout.readline().strip() == "READY"
    kube.reset_requests()
    for p in procs:
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()
    (a, _), (b, _) = (finish(p) for p in procs)
    assert a["results"] == b["results"] and CRASHING in a["results"][0]
    assert a["cached_before"] is False and b["cached_before"] is False  # both asked before any answer
    assert lists(kube) == 1
    assert sorted([a["misses"], b["misses"]]) == [0, 1]  # one read the cluster ...
    assert sorted([a["hits"], b["hits"]]) == [0, 1]  # ... the other waited for its value


@pytest.mark.parametrize("backend", BACKENDS)
def test_when_the_leader_fails_a_waiting_reader_reads_for_itself(
    kube: FakeKube, prefix: str, backend: str
) -> None:
    clusters = clusters_for(kube, settings_for(backend, prefix, cache_wait=20.0))
    view_of(clusters).get("Namespace", None, "shop")
    kube.latency = 0.3
    kube.fail(SHOP_PODS, 500, times=1)
    start = threading.Barrier(2)

    def ask() -> str:
        view = view_of(clusters)
        start.wait()
        try:
            return ",".join(p.name for p in view.list("Pod", "shop"))
        except ClusterUnavailable as err:
            return f"unavailable: {err.detail}"

    with ThreadPoolExecutor(2) as pool:
        outcomes = sorted(pool.map(lambda _: ask(), range(2)))
    assert CRASHING in outcomes[0].split(",")
    assert outcomes[1].startswith("unavailable: list pods -n shop: HTTP 500")
    assert lists(kube) == 2
    view_of(clusters).list("Pod", "shop")
    assert lists(kube) == 2  # the successful read was cached; the failure was not


# -- Redis failing ------------------------------------------------------------------------------
def test_an_unreachable_redis_only_costs_speed(kube: FakeKube, tmp_path: Path) -> None:
    env = kube.env(REDIS_URL=f"redis://127.0.0.1:{free_port()}/0")
    result, stderr = finish(reader(kube, "list:Pod:shop:app=web", "get:Pod:shop:no-such-pod", env=env))
    assert result["results"] == [[CRASHING, "web-7d4b9c8f6d-x2x9k"], None]
    assert len(result["requests"]) == 2
    events = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    down = [e for e in events if e["event"] == "cache.unavailable"]
    assert down and down[0]["backend"] == "redis" and "refused" in down[0]["error"].lower()
    assert "Traceback" not in stderr


def test_a_redis_that_never_answers_times_out_quickly(kube: FakeKube, log_lines: LogLines) -> None:
    with socket.socket() as silent:  # accepts connections (kernel backlog), never replies
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        port = silent.getsockname()[1]
        settings = settings_for("memory", "x", redis_timeout=0.1, redis_retry=60.0)
        settings = replace(settings, redis_url=f"redis://127.0.0.1:{port}/0")
        errors = metric("k8sbot_cache_errors_total", op="get")
        clusters = clusters_for(kube, settings)
        for _ in range(3):
            assert CRASHING in [p.name for p in view_of(clusters).list("Pod", "shop")]
    assert lists(kube) == 3
    down = log_lines.named("cache.unavailable")
    assert len(down) == 1 and "timed out" in down[0]["error"]  # then not retried for redis_retry
    assert metric("k8sbot_cache_errors_total", op="get") == errors + 1


class RedisServer:
    """A private redis-server on a free port (no persistence), to stop and start again."""

    def __init__(self, workdir: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not installed (make test needs it)")
        self.binary, self.workdir = binary, workdir
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        args = ["--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.proc = subprocess.Popen(
            [self.binary, *args, "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port, socket_timeout=0.5, socket_connect_timeout=0.5)
        try:
            for _ in range(400):
                try:
                    if client.ping():
                        return
                except redis.RedisError:
                    time.sleep(0.025)
        finally:
            client.close()
        pytest.fail("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


def test_caching_resumes_by_itself_when_redis_comes_back(
    kube: FakeKube, redis_server: RedisServer, log_lines: LogLines
) -> None:
    url = redis_server.url
    settings = replace(settings_for("memory", "k8sbot", redis_retry=0.2), redis_url=url)
    clusters = clusters_for(kube, settings)

    def answer() -> list[str]:
        return [p.name for p in view_of(clusters).list("Pod", "shop")]

    expected = answer()
    assert answer() == expected and lists(kube) == 1  # cached in Redis
    assert "k8sbot:fake:Pod:shop:list:" in redis_keys("k8sbot", url)

    redis_server.stop()
    errors = metric("k8sbot_cache_errors_total", op="get")
    assert answer() == expected  # Redis down: straight from the cluster, no error for the user
    assert lists(kube) == 2
    assert log_lines.named("cache.unavailable")
    assert metric("k8sbot_cache_errors_total", op="get") == errors + 1

    redis_server.start()  # back, empty, on the same port; the bot is not restarted
    deadline = time.monotonic() + 10
    while "k8sbot:fake:Pod:shop:list:" not in redis_keys("k8sbot", url):
        assert time.monotonic() < deadline, "caching did not resume"
        time.sleep(0.1)  # past redis_retry: the next answer tries Redis again
        assert answer() == expected
    served = lists(kube)
    assert answer() == expected
    assert lists(kube) == served  # cached again
    assert log_lines.named("cache.recovered")


# -- configuration ------------------------------------------------------------------------------
def test_ttls_and_cache_settings_come_from_the_config_file(tmp_path: Path) -> None:
    cfg = config_file(
        tmp_path,
        "cache:\n  prefix: team-a\n  wait: 2.5\n  redis_timeout: 0.2\n  redis_retry: 3\n"
        "  ttl:\n    Pod: 3\n    svc: 45\n    endpointslices: 0\n    PodLog: 1.5\n",
    )
    s = Settings.from_env({"K8SBOT_CONFIG": cfg})
    assert (s.cache_prefix, s.cache_wait, s.redis_timeout, s.redis_retry) == ("team-a", 2.5, 0.2, 3.0)
    assert s.cache_ttl["Pod"] == 3 and s.cache_ttl["Service"] == 45 and s.cache_ttl["EndpointSlice"] == 0
    assert s.cache_ttl["PodLog"] == 1.5
    assert s.cache_ttl["Node"] == DEFAULT_CACHE_TTL["Node"] == 60  # the others keep their defaults
    assert Settings().cache_ttl == DEFAULT_CACHE_TTL


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("cache:\n  ttl:\n    Widget: 5\n", "cache.ttl.Widget: not a kind the bot reads"),
        ("cache:\n  ttl:\n    Pod: soon\n", "cache.ttl.Pod must be a number of seconds"),
        ("cache:\n  ttl:\n    Pod: -1\n", "cache.ttl.Pod must not be negative"),
        ("cache:\n  wait: [1]\n", "cache.wait must be a number of seconds"),
        ("cache: 5\n", "`cache` must be a mapping"),
    ],
)
def test_bad_cache_settings_fail_at_start_naming_the_key(tmp_path: Path, text: str, message: str) -> None:
    cfg = config_file(tmp_path, text)
    with pytest.raises(SettingsError, match=message.replace(".", r"\.").replace("`", ".")):
        Settings.from_env({"K8SBOT_CONFIG": cfg})
    run = run_cli("ask", "help", env=clean_env(K8SBOT_CONFIG=cfg))
    assert run.returncode == 2 and message in run.stderr


def test_a_malformed_redis_url_fails_at_start() -> None:
    with pytest.raises(SettingsError, match="REDIS_URL must start with redis://"):
        Settings.from_env({"REDIS_URL": "localhost:6379"})
    run = run_cli("ask", "help", env=clean_env(REDIS_URL="localhost:6379"))
    assert run.returncode == 2 and "REDIS_URL" in run.stderr


def test_the_cached_copy_is_the_object_as_read(kube: FakeKube, prefix: str) -> None:
    pod = view_of(clusters_for(kube, settings_for("redis", prefix))).get("Pod", "shop", CRASHING)
    assert isinstance(pod, Obj) and pod.namespace == "shop"
    before = len(kube.requests)
    again = view_of(clusters_for(kube, settings_for("redis", prefix))).get("Pod", "shop", CRASHING)
    assert len(kube.requests) == before
    assert again is not None and again.raw == pod.raw  # the whole object, not a summary

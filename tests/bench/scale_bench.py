"""Scale: a synthetic cluster of 10,000 pods (tests/bench/synth.py) behind the fake API server.

Three kinds of process, so that each measures only itself:
- the server: builds the cluster and serves it (tests/fakes/kube_api.py), taking commands on stdin;
- the readers: one fresh Python per measurement (imports, caches and memory start from zero);
- this one, which starts them and prints. It stays small on purpose: a child's
  `getrusage(RUSAGE_SELF).ru_maxrss` counts the memory of the process it was forked from too.

Measured in one run:
1. Everything a digest reads, over all namespaces (the kinds handlers/digest.py lists): our path
   (LiveView: `limit`/`continue` pages of raw JSON parsed by orjson, slimmed, kept as JSON through
   the cache) against the naive path (the official client's typed models:
   `CoreV1Api.list_pod_for_all_namespaces()` and friends, default deserialisation), then
   `handlers.podstatus.pod_state` for every pod on both; then `k8s-bot digest` itself, end to end.
2. A `why` question about a broken pod, cold and warm, with the in-process cache and with Redis
   (127.0.0.1:6379, a private key prefix, cleaned up): latency and API requests per answer. With
   Redis the warm answer is also asked by a second process, as another bot replica would.
3. Peak RSS of the bot process during the digest-like run and during `k8s-bot digest` (goal < 300 MB).

Cache TTLs are raised to 600 s for the run (a loaded machine must not expire entries between
the cold and the warm half of a measurement). Prints figures; asserts nothing about time.
`BENCH_PODS=2000 make bench` for a quick run, `BENCH_REPEAT=n` for more runs of our path (the best
is shown).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

#: What `digest` over all namespaces reads (handlers/digest.py): one cluster-wide list per kind.
DIGEST_KINDS = (
    "Namespace",
    "Node",
    "Pod",
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "Job",
    "Service",
    "EndpointSlice",
)
#: The same reads, the way most client code does them: typed models, no paging.
NAIVE_CALLS = {
    "Namespace": ("CoreV1Api", "list_namespace"),
    "Node": ("CoreV1Api", "list_node"),
    "Pod": ("CoreV1Api", "list_pod_for_all_namespaces"),
    "Deployment": ("AppsV1Api", "list_deployment_for_all_namespaces"),
    "StatefulSet": ("AppsV1Api", "list_stateful_set_for_all_namespaces"),
    "DaemonSet": ("AppsV1Api", "list_daemon_set_for_all_namespaces"),
    "Job": ("BatchV1Api", "list_job_for_all_namespaces"),
    "Service": ("CoreV1Api", "list_service_for_all_namespaces"),
    "EndpointSlice": ("DiscoveryV1Api", "list_endpoint_slice_for_all_namespaces"),
}
#: Round trip the fake server adds to every request in part (2): an in-cluster API server answers
#: a small GET in ~5-20 ms.
WHY_LATENCY_S = 0.01
REDIS_URL = "redis://127.0.0.1:6379/0"


# -- reader processes ---------------------------------------------------------------------------
def _emit(result: dict[str, Any]) -> None:
    import resource

    result["maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with open("/proc/self/status", encoding="ascii") as f:  # Linux: the same peak, as the kernel keeps it
        hwm = next((line.split()[1] for line in f if line.startswith("VmHWM:")), "0")
    result["vmhwm_mb"] = int(hwm) / 1024
    sys.stdout.write("RESULT " + json.dumps(result) + "\n")
    sys.stdout.flush()


def _import_api_classes() -> None:
    """Import the client's API classes up front: the first use of one costs seconds (pydantic
    builds a validator per method at import), once per process. Start-up, not read time."""
    import kubernetes.client

    for name in {cls for cls, _ in NAIVE_CALLS.values()}:
        getattr(kubernetes.client, name)


def child_ours(kubeconfig: str) -> None:
    """Our path: Clusters -> CachedView -> LiveView, cold; pod states; then warm (in-process cache)."""
    t0 = time.perf_counter()
    from bot.clusters import Clusters
    from bot.config import Settings
    from handlers.podstatus import pod_state

    requests: list[str] = []
    clusters = Clusters(Settings.from_env(), kubeconfig=kubeconfig, on_request=requests.append)
    view = clusters.open().view
    _import_api_classes()
    t_import = time.perf_counter() - t0
    t1 = time.perf_counter()
    counts = {kind: len(view.list(kind)) for kind in DIGEST_KINDS}
    t_read = time.perf_counter() - t1
    cold_requests = len(requests)
    t2 = time.perf_counter()
    states = Counter(pod_state(p).status for p in view.list("Pod"))
    t_state = time.perf_counter() - t2
    del view
    warm = clusters.open().view
    t3 = time.perf_counter()
    for kind in DIGEST_KINDS:
        warm.list(kind)
    t_warm = time.perf_counter() - t3
    _emit(
        {
            "import_s": t_import,
            "read_s": t_read,
            "state_s": t_state,
            "warm_read_s": t_warm,
            "requests": cold_requests,
            "warm_requests": len(requests) - cold_requests,
            "counts": counts,
            "states": dict(states.most_common(8)),
        }
    )


def child_naive(kubeconfig: str) -> None:
    """The naive path: the official client's typed models for every list, then pod_state on dicts."""
    t0 = time.perf_counter()
    from kubernetes import client as k8s
    from kubernetes import config as k8s_config

    from handlers.objects import Obj
    from handlers.podstatus import pod_state

    api = k8s_config.new_client_from_config(config_file=kubeconfig)
    _import_api_classes()
    t_import = time.perf_counter() - t0
    t1 = time.perf_counter()
    lists: dict[str, Any] = {}
    for kind, (cls, method) in NAIVE_CALLS.items():
        lists[kind] = getattr(getattr(k8s, cls)(api), method)()
    t_read = time.perf_counter() - t1
    t2 = time.perf_counter()
    # The handlers read API JSON: a typed-model bot converts back before it can use them.
    states = Counter(pod_state(Obj(api.sanitize_for_serialization(p))).status for p in lists["Pod"].items)
    t_state = time.perf_counter() - t2
    _emit(
        {
            "import_s": t_import,
            "read_s": t_read,
            "state_s": t_state,
            "requests": len(NAIVE_CALLS),
            "counts": {k: len(v.items) for k, v in lists.items()},
            "states": dict(states.most_common(8)),
        }
    )


def child_digest(kubeconfig: str) -> None:
    """`k8s-bot digest --format json` in this process (output discarded), after start-up."""
    import contextlib
    import io

    t0 = time.perf_counter()
    from bot import digest  # noqa: F401  (imported before the clock starts, as a serving bot has)
    from bot.cli import main
    from bot.clusters import Clusters
    from bot.config import Settings

    Clusters(Settings.from_env(), kubeconfig=kubeconfig).open()
    _import_api_classes()
    t_import = time.perf_counter() - t0
    sink = io.StringIO()
    t1 = time.perf_counter()
    with contextlib.redirect_stdout(sink):
        rc = main(["digest", "--kubeconfig", kubeconfig, "--format", "json"])
    took = time.perf_counter() - t1
    try:
        problems = len(json.loads(sink.getvalue()).get("findings") or [])
    except ValueError:
        problems = -1
    _emit({"import_s": t_import, "digest_s": took, "rc": rc, "findings": problems})


def child_why(kubeconfig: str, target: str, asks: str, warmup: str) -> None:
    """`why <target>` (`ns/pod`) asked `asks` times; per answer: seconds and API requests. With
    WAIT_GO=1 in the environment it says READY after start-up and waits for a line on stdin."""
    namespace, pod = target.split("/")
    warmup_ns, warmup_pod = warmup.split("/")
    t0 = time.perf_counter()
    from bot.clusters import Clusters
    from bot.config import Settings
    from bot.dispatch import ask

    requests: list[str] = []
    clusters = Clusters(Settings.from_env(), kubeconfig=kubeconfig, on_request=requests.append)
    clusters.open()
    _import_api_classes()
    # One answer about another pod elsewhere: templates, catalogue and client warmed up, as in a
    # serving bot; the target's reads stay cold.
    ask(f"why {warmup_pod} -n {warmup_ns}", clusters)
    t_import = time.perf_counter() - t0
    if os.environ.get("WAIT_GO"):
        sys.stdout.write("READY\n")
        sys.stdout.flush()
        sys.stdin.readline()
    answers = []
    for _ in range(int(asks)):
        before = len(requests)
        t = time.perf_counter()
        out = ask(f"why {pod} -n {namespace}", clusters)
        status = out.result.status if out.result else f"error: {out.error}"
        answers.append({"s": time.perf_counter() - t, "requests": len(requests) - before, "status": status})
    _emit({"import_s": t_import, "answers": answers})


# -- the server process -------------------------------------------------------------------------
def server(pods: str) -> None:
    """Build the cluster, serve it, print what the parent needs; then obey stdin until `quit`."""
    from tests.bench import synth
    from tests.fakes.kube_api import FakeKube

    n = int(pods)
    t = time.perf_counter()
    cluster = synth.build(
        pods=n, namespaces=max(2, round(300 * n / 10_000)), nodes=max(3, round(120 * n / 10_000))
    )
    built = time.perf_counter() - t
    sizes = {kind: (count, full, kept) for kind, count, full, kept in synth.iter_json_sizes(cluster)}
    crash = [b for b in cluster.broken if b[2] == "crashloop"]
    info = {
        "built_s": built,
        "counts": cluster.counts(),
        "broken": dict(Counter(b[2] for b in cluster.broken)),
        "sizes": sizes,
        "target": crash[0],
        "warmup": crash[1],
    }
    with FakeKube.start() as fake:
        fake.serve_objects(cluster.objects, cluster.logs)
        del cluster
        info["kubeconfig"] = str(fake.kubeconfig)
        info["env"] = fake.env()
        sys.stdout.write(json.dumps(info) + "\n")
        sys.stdout.flush()
        for line in sys.stdin:
            cmd, *arg = line.split()
            if cmd == "latency":
                fake.latency = float(arg[0])
            elif cmd == "quit":
                break
            sys.stdout.write("ok\n")
            sys.stdout.flush()


class _Server:
    def __init__(self, pods: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.bench.scale_bench", "server", str(pods)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.info: dict[str, Any] = json.loads(self.proc.stdout.readline())

    def command(self, text: str) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()
        self.proc.stdout.readline()

    def stop(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.write("quit\n")
            self.proc.stdin.flush()
            self.proc.wait(timeout=30)


# -- this process -------------------------------------------------------------------------------
def _start(mode: str, args: Sequence[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.bench.scale_bench", "child", mode, *args],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(proc: subprocess.Popen[str], timeout: float = 1800) -> dict[str, Any]:
    out, err = proc.communicate(timeout=timeout)
    result: dict[str, Any] = {"ok": proc.returncode == 0, "stderr": err[-2000:]}
    for line in out.splitlines():
        if line.startswith("RESULT "):
            result.update(json.loads(line[len("RESULT ") :]))
    result["ok"] = result["ok"] and "maxrss_mb" in result
    return result


def _run_child(mode: str, args: Sequence[str], env: dict[str, str]) -> dict[str, Any]:
    return _finish(_start(mode, args, env))


def _mb(result: dict[str, Any]) -> str:
    """VmHWM is the reader's own peak; ru_maxrss is shown alongside because Linux carries it over
    from the process a child was forked from (inflated when `make bench` ran another bench first)."""
    return f"{result['vmhwm_mb']:.0f} MB (ru_maxrss {result['maxrss_mb']:.0f} MB)"


def run() -> None:
    pods = int(os.environ.get("BENCH_PODS", "10000"))
    repeat = int(os.environ.get("BENCH_REPEAT", "3"))
    srv = _Server(pods)
    try:
        _run(srv, repeat)
    finally:
        srv.stop()


def _run(srv: _Server, repeat: int) -> None:
    info = srv.info
    counts = ", ".join(f"{k} {v}" for k, v in info["counts"].items())
    print(f"synthetic cluster built in {info['built_s']:.1f}s: {counts}")
    broken = ", ".join(f"{k} {v}" for k, v in info["broken"].items())
    print(f"  broken pods: {sum(info['broken'].values())} ({broken})")
    served = sum(s[1] for s in info["sizes"].values())
    kept = sum(s[2] for s in info["sizes"].values())
    for kind in ("Pod", "Event", "Deployment"):
        _, full, slim = info["sizes"][kind]
        print(f"  {kind}: {full / 1e6:.1f} MB of JSON as served, {slim / 1e6:.1f} MB as kept")
    print(
        f"  all kinds: {served / 1e6:.1f} MB as served, {kept / 1e6:.1f} MB as kept (no managedFields, "
        "no last-applied-configuration)"
    )
    kubeconfig = info["kubeconfig"]
    # Long TTLs: a loaded machine must not expire entries between a measurement's cold and warm
    # halves. The production defaults (bot/config.py) are 10-60 s.
    ttls = "".join(f"    {kind}: 600\n" for kind in (*DIGEST_KINDS, "Event", "ReplicaSet", "PodLog"))
    cfg = Path(kubeconfig).parent / "bench-config.yaml"
    prefix = f"k8sbot-bench-{uuid.uuid4().hex[:8]}"
    cfg.write_text(f"cache:\n  prefix: {prefix}\n  ttl:\n{ttls}", encoding="utf-8")
    env = {**info["env"], "K8SBOT_CONFIG": str(cfg)}

    print(f"\n(1) reading what `digest` reads, all namespaces: {', '.join(DIGEST_KINDS)}")
    ours = [_run_child("ours", [kubeconfig], env) for _ in range(repeat)]
    bad = [r for r in ours if not r["ok"]]
    if bad:
        print("  ours FAILED:", bad[0]["stderr"])
        return
    naive = _run_child("naive", [kubeconfig], env)
    best = min(ours, key=lambda r: r["read_s"])
    print(f"  objects read: {', '.join(f'{k} {v}' for k, v in best['counts'].items())}")
    print(
        f"  process start-up, not counted below (imports, kubeconfig, the client's API classes): "
        f"ours {best['import_s']:.1f}s, naive {naive.get('import_s', float('nan')):.1f}s"
    )
    runs = ", ".join(format(r["read_s"], ".2f") for r in ours)
    print(
        f"  ours : reads {best['read_s']:.2f}s in {best['requests']} requests (pages of 500; best of "
        f"{repeat}: {runs}); pod_state x{best['counts']['Pod']}: {best['state_s']:.2f}s"
    )
    print(
        f"         warm re-read from the in-process cache: {best['warm_read_s']:.2f}s, "
        f"{best['warm_requests']} requests"
    )
    if naive["ok"]:
        print(
            f"  naive: reads {naive['read_s']:.2f}s in {naive['requests']} requests (typed models); "
            f"to-dict + pod_state: {naive['state_s']:.2f}s"
        )
        both = (naive["read_s"] + naive["state_s"]) / (best["read_s"] + best["state_s"])
        print(
            f"  speed-up: reads {naive['read_s'] / best['read_s']:.1f}x; reads + pod states {both:.1f}x "
            "(goal >= 5x)"
        )
        if naive["states"] != best["states"]:
            print(f"  ! pod states differ: ours {best['states']} naive {naive['states']}")
    else:
        print("  naive FAILED:", naive["stderr"])
    print(f"  pod STATUS columns: {best['states']}")
    digest = _run_child("digest", [kubeconfig], env)
    if digest["ok"] and digest["rc"] == 0:
        print(
            f"  `k8s-bot digest --format json`, all namespaces, cold cache: {digest['digest_s']:.2f}s "
            f"({digest['findings']} findings; start-up {digest['import_s']:.1f}s not counted)"
        )
    else:
        print(f"  `k8s-bot digest` failed (rc {digest.get('rc')}): {digest['stderr'][-800:]}")

    ns, pod, _ = info["target"]
    wns, wpod, _ = info["warmup"]
    print(
        f"\n(2) `why {pod} -n {ns}` (CrashLoopBackOff), the fake API server adding "
        f"{WHY_LATENCY_S * 1000:.0f} ms to each request"
    )
    srv.command(f"latency {WHY_LATENCY_S}")
    why_args = [kubeconfig, f"{ns}/{pod}", "3", f"{wns}/{wpod}"]
    _print_why("in-process cache, one process", _run_child("why", why_args, env))
    redis_env = {**env, "REDIS_URL": REDIS_URL}
    try:
        replica = _start(
            "why", [kubeconfig, f"{ns}/{pod}", "1", f"{wns}/{wpod}"], {**redis_env, "WAIT_GO": "1"}
        )
        assert replica.stdout is not None and replica.stdin is not None
        _print_why("Redis, process A", _run_child("why", why_args, redis_env))
        if replica.stdout.readline().strip() == "READY":  # started and warmed up meanwhile
            replica.stdin.write("go\n")
            replica.stdin.flush()
        _print_why("Redis, process B (another replica), right after A", _finish(replica))
    finally:
        _redis_cleanup(prefix)
    srv.command("latency 0")

    print("\n(3) peak RSS of the bot process (VmHWM of the reader process; ru_maxrss alongside)")
    top = max(ours, key=lambda r: r["vmhwm_mb"])
    print(f"  ours, digest reads + pod states + warm re-read: {_mb(top)} (goal < 300 MB)")
    if digest["ok"]:
        print(f"  `k8s-bot digest`: {_mb(digest)}")
    if naive["ok"]:
        print(f"  naive typed models, same reads + pod states: {_mb(naive)}")


def _print_why(label: str, result: dict[str, Any]) -> None:
    if not result["ok"]:
        print(f"  {label}: FAILED {result['stderr'][-800:]}")
        return
    parts = [f"{a['s'] * 1000:.0f} ms / {a['requests']} API requests" for a in result["answers"]]
    print(f"  {label}: {'; then '.join(parts)} (status {result['answers'][0]['status']})")


def _redis_cleanup(prefix: str) -> None:
    try:
        import redis

        client = redis.Redis.from_url(REDIS_URL, socket_timeout=2)
        keys = list(client.scan_iter(match=f"{prefix}:*", count=1000))
        if keys:
            client.delete(*keys)
    except Exception as err:  # the figures are printed already; the keys expire by their TTL
        print(f"  (redis cleanup failed: {err})")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    if len(sys.argv) >= 3 and sys.argv[1] == "child":
        CHILDREN = {"ours": child_ours, "naive": child_naive, "digest": child_digest, "why": child_why}
        CHILDREN[sys.argv[2]](*sys.argv[3:])
    elif len(sys.argv) >= 3 and sys.argv[1] == "server":
        server(sys.argv[2])
    else:
        run()

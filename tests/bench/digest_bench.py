"""The digest on the 10,000-pod synthetic cluster (tests/bench/synth.py) behind the fake API server.

First `k8s-bot digest --format json` as a user runs it, in its own process: wall time and peak RSS
(VmHWM: see _CLI for why not ru_maxrss). Then, in another fresh process, the parts:

1. cold: `dispatch.ask("digest")` over the live view (paged lists through the in-process cache),
   all namespaces: seconds, API requests, problems found;
2. warm: the same digest again, reads served by the cache;
3. the handler alone on lists already in memory (the grouping and classification of 10,000 pods);
4. rendering: the text digest, and the Slack summary + thread of a scheduled digest against the
   state of the previous one (diff, state encode/decode);
5. peak RSS of that process (it holds the lists twice: the cache's and the handler's copy).

Prints figures; asserts nothing about time. `BENCH_PODS=2000 python -m tests.bench digest` for a quick run.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


#: `k8s-bot digest ...` as the CLI runs it, then its peak RSS on stderr. `VmHWM` of /proc/self/status,
#: not `ru_maxrss`: Linux keeps ru_maxrss across fork and exec, so a child of this process (which
#: holds the whole synthetic cluster) would report the parent's size, not its own.
_CLI = (
    "import sys\n"
    "from bot.cli import main\n"
    "from tests.bench.digest_bench import peak_rss_kb\n"
    "rc = main(sys.argv[1:])\n"
    "sys.stderr.write(f'VMHWM {peak_rss_kb()}\\n')\n"
    "sys.exit(rc)\n"
)


def peak_rss_kb() -> int:
    """This process's peak resident set since its exec (VmHWM), in KiB."""
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def child(kubeconfig: str) -> None:
    t0 = time.perf_counter()
    from bot import digest as d
    from bot.clusters import Clusters
    from bot.config import Settings
    from bot.dispatch import ask
    from handlers.digest import summarise

    requests: list[str] = []
    settings = Settings.from_env()
    # Long TTLs here, so "warm" means served by the cache even when the cold run took longer than
    # the default 10 s of pods.
    settings = dataclasses.replace(settings, cache_ttl=dict.fromkeys(settings.cache_ttl, 3600.0))
    clusters = Clusters(settings, kubeconfig=kubeconfig, on_request=requests.append)
    clusters.open()
    t_import = time.perf_counter() - t0

    t1 = time.perf_counter()
    cold = ask("digest", clusters)
    t_cold = time.perf_counter() - t1
    assert cold.result is not None and cold.request is not None, cold.error
    cold_requests = len(requests)

    t2 = time.perf_counter()
    warm = ask("digest", clusters)
    t_warm = time.perf_counter() - t2
    assert warm.result is not None
    warm_requests = len(requests) - cold_requests

    # The handler alone, on lists already read (a view whose lists are plain Python lists).
    view = clusters.open().view
    kinds = (
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
    lists = {k: list(view.list(k)) for k in kinds}

    class Held:
        name, has_data, taken_at = "bench", True, None

        def list(self, kind: str, namespace: str | None = None, **_: Any) -> list[Any]:
            return lists.get(kind, [])

        def notes(self) -> list[Any]:
            return []

    t3 = time.perf_counter()
    result = summarise(cold.request, Held())  # type: ignore[arg-type]
    t_handler = time.perf_counter() - t3

    now = cold.request.now
    t4 = time.perf_counter()
    cur = d.current(result)
    text = d.to_text(d.view(cur, None, now=now))
    t_text = time.perf_counter() - t4
    t5 = time.perf_counter()
    state = d.DigestState.decode(
        d.advance(d.DigestState(), d.diff(d.DigestState(), cur), at=now, fire=now, posted=True).encode()
    )
    change = d.diff(state, cur)
    messages = d.to_slack(d.view(cur, change, now=now, last_posted=now))
    t_slack = time.perf_counter() - t5

    codes = Counter(f.code for f in result.findings[1:])
    summary = result.findings[0].fields
    out = {
        "import_s": t_import,
        "cold_s": t_cold,
        "cold_requests": cold_requests,
        "warm_s": t_warm,
        "warm_requests": warm_requests,
        "handler_s": t_handler,
        "text_s": t_text,
        "slack_s": t_slack,
        "pods": summary["pods_total"],
        "problems": summary["problems"],
        "codes": dict(codes.most_common()),
        "text_bytes": len(text),
        "thread_messages": len(messages.thread),
        "summary_blocks": len(messages.summary["blocks"]),
        "maxrss_mb": peak_rss_kb() / 1024,
    }
    sys.stdout.write("RESULT " + json.dumps(out) + "\n")


def run() -> None:
    sys.path.insert(0, str(ROOT))
    from tests.bench import synth
    from tests.fakes.kube_api import FakeKube

    pods = int(os.environ.get("BENCH_PODS", "10000"))
    namespaces = max(2, round(300 * pods / 10_000))
    t = time.perf_counter()
    cluster = synth.build(pods=pods, namespaces=namespaces, nodes=max(3, round(120 * pods / 10_000)))
    how = Counter(b[2] for b in cluster.broken)
    print(
        f"synthetic cluster built in {time.perf_counter() - t:.1f}s: {len(cluster.of('Pod'))} pods, "
        f"{namespaces} namespaces; broken: {', '.join(f'{k} {v}' for k, v in how.items())}"
    )
    with FakeKube.start() as fake:
        fake.serve_objects(cluster.objects, cluster.logs)
        del cluster
        started = time.perf_counter()
        cli = subprocess.run(
            [sys.executable, "-c", _CLI, "digest", "--kubeconfig", str(fake.kubeconfig), "--format", "json"],
            cwd=ROOT,
            env=fake.env(),
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        wall = time.perf_counter() - started
        if cli.returncode == 0:
            findings = json.loads(cli.stdout)["findings"]
            peak = next((ln.split()[1] for ln in cli.stderr.splitlines() if ln.startswith("VMHWM ")), "nan")
            print(
                f"  `k8s-bot digest --format json`, all namespaces, one process: {wall:.1f}s wall "
                f"(start-up included), {len(findings) - 1} problems, {len(cli.stdout)} bytes; "
                f"peak RSS {float(peak) / 1024:.0f} MB"
            )
        else:
            print(f"  `k8s-bot digest` FAILED (rc {cli.returncode}): {cli.stderr[-800:]}")
        proc = subprocess.run(
            [sys.executable, "-m", "tests.bench.digest_bench", "child", str(fake.kubeconfig)],
            cwd=ROOT,
            env=fake.env(),
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
    result: dict[str, Any] = {}
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            result = json.loads(line[len("RESULT ") :])
    if proc.returncode != 0 or not result:
        print(f"  digest bench FAILED (rc {proc.returncode}): {proc.stderr[-1500:]}")
        return
    r = result
    print(f"  process start-up (imports, kubeconfig; not counted below): {r['import_s']:.1f}s")
    print(
        f"  cold digest, all namespaces: {r['cold_s']:.2f}s, {r['cold_requests']} API requests "
        f"(pages of 500), {r['pods']} pods, {r['problems']} problems"
    )
    print(
        f"  warm digest (reads from the in-process cache): {r['warm_s']:.2f}s, {r['warm_requests']} requests"
    )
    print(f"  the handler alone on lists in memory: {r['handler_s']:.2f}s")
    print(
        f"  rendering: text {r['text_s'] * 1000:.0f} ms ({r['text_bytes']} bytes); scheduled Slack digest "
        f"(diff + state + summary of {r['summary_blocks']} blocks + {r['thread_messages']} thread messages) "
        f"{r['slack_s'] * 1000:.0f} ms"
    )
    print(f"  problems by code: {', '.join(f'{k} {v}' for k, v in r['codes'].items())}")
    print(f"  peak RSS of the digest process: {r['maxrss_mb']:.0f} MB (goal < 300 MB)")


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "child":
        sys.path.insert(0, str(ROOT))
        child(sys.argv[2])
    else:
        run()

"""Slack: 100 signed slash commands, 20 at a time, against `k8s-bot serve --http` (a subprocess) with
the fake API server adding 300 ms to every request.

Measures, per command, from just before the POST:
- ack latency: until the HTTP 200 with the ack body is back (goal: p99 < 100 ms on 2 cores;
  Slack shows an error after 3 s);
- answer latency: until the answer's response_url POST reaches the fake Slack.
and counts failures (ack not 200, no answer within 60 s, an internal-error answer).

Two runs: the bot as configured by default (cluster reads cached for seconds, identical reads in
flight shared), and with the cache off (every answer pays its own API round trips).

The question is `dns redis-cluster 0 -n wiseco` on examples/cluster when both exist, else
`exit 137` on tests/fixtures/slack (it lists every pod, so it reads the cluster too).
Prints figures; asserts nothing. `BENCH_SLACK_COMMANDS=40` for a quick run.
"""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from tests.fakes.slack_api import FORM, BotServer, FakeSlack, signed_headers, slash_command, texts

ROOT = Path(__file__).resolve().parents[2]
COMMANDS = int(os.environ.get("BENCH_SLACK_COMMANDS", "100"))
CONCURRENCY = 20
API_LATENCY_S = 0.3
ANSWER_TIMEOUT_S = 60.0
NO_CACHE = dict.fromkeys(
    ("Pod", "Event", "PodLog", "Service", "Endpoints", "EndpointSlice", "StatefulSet"), 0
)


def _question() -> tuple[str, Path]:
    from handlers import VERBS

    example = ROOT / "examples" / "cluster"
    if "dns" in VERBS and example.is_dir() and any(example.iterdir()):
        return "dns redis-cluster 0 -n wiseco", example
    return "exit 137", ROOT / "tests" / "fixtures" / "slack"


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def _one(bot: BotServer, slack: FakeSlack, query: str, tag: str) -> tuple[float, float | None, str | None]:
    """(ack seconds, answer seconds or None, failure or None) for one command."""
    body = slash_command(query, slack.response_url(tag), user=f"U0B{tag}")
    req = urllib.request.Request(
        bot.url + "/slack/events",
        data=body.encode(),
        method="POST",
        headers=signed_headers(body, content_type=FORM),
    )
    started = time.monotonic()
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            resp.read()
            status = resp.status
    except urllib.error.HTTPError as err:
        status = err.code
    acked = time.monotonic()
    if status != 200:
        return acked - started, None, f"ack HTTP {status}"
    try:
        (call,) = slack.wait_for(
            "response_url", where=lambda c: c.path == f"/response/{tag}", timeout=ANSWER_TIMEOUT_S
        )
    except AssertionError:
        return acked - started, None, "no answer"
    failure = "internal error" if "Something went wrong" in texts(call.body) else None
    return acked - started, call.at - started, failure


class _KubeProcess:
    """The fake API server in its own process: its JSON work must not share the GIL with the
    clients timing the bot (`python -m tests.fakes.kube_api`, stopped with SIGINT to clean up)."""

    def __init__(self, snapshot: Path, latency: float) -> None:
        # SIGINT stops it cleanly (KeyboardInterrupt removes its kubeconfig); re-armed in the child,
        # since a shell's background job would hand it down ignored.
        start = (
            "import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
            "from tests.fakes.kube_api import main; sys.exit(main(sys.argv[1:]))"
        )
        args = ["--snapshot", str(snapshot), "--quiet", "--latency", str(latency)]
        self.proc = subprocess.Popen(
            [sys.executable, "-c", start, *args], cwd=ROOT, stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None
        self.kubeconfig = ""
        for line in self.proc.stdout:
            if line.startswith("kubeconfig: "):
                self.kubeconfig = line.split(": ", 1)[1].strip()
                break
        if not self.kubeconfig:
            raise RuntimeError("the fake API server did not start")

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.terminate()
            self.proc.wait(10)


def _kube_requests(bot: BotServer) -> float:
    """k8sbot_kube_requests_total, summed over clusters: what the bot asked the API server."""
    total = 0.0
    for line in bot.get("/metrics").body.splitlines():
        if line.startswith("k8sbot_kube_requests_total{"):
            total += float(line.split()[-1])
    return total


def _run_once(label: str, query: str, snapshot: Path, config: dict[str, Any]) -> None:
    kube = _KubeProcess(snapshot, API_LATENCY_S)
    try:
        with (
            FakeSlack() as slack,
            tempfile.TemporaryDirectory() as tmp,
            BotServer(slack, Path(tmp), config=config, env={"KUBECONFIG": kube.kubeconfig}) as bot,
        ):
            for i in range(2):  # warm-up: first imports and template compiles, not measured
                _one(bot, slack, query, f"warm{i}")
            requests_before = _kube_requests(bot)
            lock = threading.Lock()
            acks: list[float] = []
            answers: list[float] = []
            failures: list[str] = []

            def task(i: int) -> None:
                ack, answer, failure = _one(bot, slack, query, f"c{i}")
                with lock:
                    acks.append(ack)
                    if answer is not None:
                        answers.append(answer)
                    if failure:
                        failures.append(failure)

            started = time.monotonic()
            with ThreadPoolExecutor(CONCURRENCY) as pool:
                list(pool.map(task, range(COMMANDS)))
            wall = time.monotonic() - started
            api_requests = _kube_requests(bot) - requests_before
    finally:
        kube.stop()
    ms = 1000.0
    print(f"  {label}:")
    print(f"    ack     p50 {_pct(acks, 50) * ms:7.1f} ms   p99 {_pct(acks, 99) * ms:7.1f} ms", end="")
    print(f"   max {max(acks) * ms:7.1f} ms   over 100 ms: {sum(a > 0.1 for a in acks)}")
    if answers:
        print(
            f"    answer  p50 {_pct(answers, 50) * ms:7.1f} ms   p99 {_pct(answers, 99) * ms:7.1f} ms"
            f"   max {max(answers) * ms:7.1f} ms"
        )
    print(f"    failures {len(failures)} {sorted(set(failures)) or ''}")
    print(f"    wall {wall:.1f} s for {COMMANDS} commands; API requests {api_requests:.0f}")


def run() -> None:
    query, snapshot = _question()
    print(
        f"  {COMMANDS} signed slash commands `{query}`, {CONCURRENCY} concurrent; fake API server"
        f" +{API_LATENCY_S * 1000:.0f} ms per request; {os.cpu_count()} CPUs"
    )
    base: dict[str, Any] = {"slack": {"rate_limit": {"questions": 0}}}
    _run_once("cache on (default TTLs)", query, snapshot, base)
    _run_once(
        "cache off (every answer reads the API server)", query, snapshot, {**base, "cache": {"ttl": NO_CACHE}}
    )


if __name__ == "__main__":
    run()

"""`k8s-bot serve`: the Slack app over HTTP (gunicorn, threaded) or over Socket Mode.

HTTP mode routes, in one small WSGI app:
    POST /slack/events   slash commands, interactivity (buttons) and the Events API -> Bolt
    GET  /healthz        200 "ok" (liveness/readiness: the process serves requests)
    GET  /metrics        Prometheus text format (bot/metrics.py)

Production server: gunicorn's `gthread` worker, one process with many threads. The work is
I/O-bound (waiting on the API server and Slack), acks are microseconds of Python, and one process
keeps the in-process rate limit, answer store and Prometheus counters exact; scale out with
replicas (set REDIS_URL so they share the rate limit). Not Bolt's development server.

Graceful shutdown: on SIGTERM gunicorn stops accepting, finishes in-flight requests (acks), and
the worker then waits for the lazy answers still running (`worker_exit` drains the answer
executor) before the process exits 0. Kubernetes' default terminationGracePeriodSeconds is 30 s;
GRACEFUL_TIMEOUT_S stays under it.
"""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_bolt.adapter.wsgi import SlackRequestHandler

from bot import logs
from bot.metrics import exposition
from bot.slack_app import SlackBot

#: Request threads. Acks return at once, so these are rarely all busy; they bound concurrent
#: connections from Slack, Prometheus and probes.
HTTP_THREADS = 32
#: Seconds the server waits for in-flight answers after SIGTERM (under Kubernetes' 30 s grace).
GRACEFUL_TIMEOUT_S = 25
#: Seconds a request may take before gunicorn's arbiter restarts the worker (acks take ms).
WORKER_TIMEOUT_S = 60
#: How long a thread holding the GIL runs before a waiting thread may take it (CPython's default is
#: 5 ms). An ack is ~1 ms of Python split by several socket calls, each a wait for the GIL while
#: answers render; at 5 ms a wait, a busy process turned a 1 ms ack into tens of ms. 1 ms costs
#: the answers a little throughput for acks that stay fast (tests/bench/slack_bench.py).
GIL_SWITCH_S = 0.001

StartResponse = Callable[..., Any]
Environ = dict[str, Any]


def wsgi_app(bot: SlackBot) -> Callable[[Environ, StartResponse], Iterable[bytes]]:
    """Route /slack/events to Bolt; answer /healthz and /metrics ourselves."""
    slack = SlackRequestHandler(bot.app, path="/slack/events")

    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == "/slack/events":
            if method != "POST":
                return _plain(start_response, "405 Method Not Allowed", b"POST only\n", [("Allow", "POST")])
            return slack(environ, start_response)
        if path == "/healthz" and method in ("GET", "HEAD"):
            return _plain(start_response, "200 OK", b"ok\n")
        if path == "/metrics" and method in ("GET", "HEAD"):
            body, content_type = exposition()
            start_response("200 OK", [("Content-Type", content_type), ("Content-Length", str(len(body)))])
            return [body]
        return _plain(start_response, "404 Not Found", b"not found\n")

    return app


def _plain(
    start_response: StartResponse, status: str, body: bytes, extra: list[tuple[str, str]] | None = None
) -> list[bytes]:
    headers = [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))]
    start_response(status, [*headers, *(extra or [])])
    return [body]


def drain(executor: ThreadPoolExecutor) -> None:
    """Wait for every answer already started (and queued) to be posted."""
    logs.event("server.draining")
    executor.shutdown(wait=True)
    logs.event("server.drained")


def serve_http(
    bot: SlackBot,
    host: str,
    port: int,
    *,
    threads: int = HTTP_THREADS,
    on_worker_start: Callable[[], None] | None = None,
) -> int:
    """Run gunicorn in this process (the arbiter) with one gthread worker. Returns the exit status.
    `on_worker_start` runs in the worker after the fork (background threads such as the digest
    scheduler belong there: threads do not survive a fork)."""
    from gunicorn.app.base import BaseApplication

    application = wsgi_app(bot)

    def worker_exit(server: Any, worker: Any) -> None:
        drain(bot.executor)

    options: dict[str, Any] = {
        "bind": f"{host}:{port}",
        "workers": 1,
        "worker_class": "gthread",
        "threads": threads,
        "graceful_timeout": GRACEFUL_TIMEOUT_S,
        "timeout": WORKER_TIMEOUT_S,
        "keepalive": 5,
        "worker_exit": worker_exit,
        "proc_name": "k8s-bot",
        # gunicorn >= 24 opens a control socket at one fixed path per user: two bots (or test
        # servers) on one machine would fight over it, and nothing here uses it.
        "control_socket_disable": True,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "info",
        # The bot (Bolt app, clients, auth.test) is built before the fork, so a bad token fails
        # `serve` at once with a clear message instead of a worker boot loop.
        "preload_app": True,
    }

    if on_worker_start is not None:
        start = on_worker_start
        options["post_worker_init"] = lambda worker: start()

    class Gunicorn(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for key, value in options.items():
                if key in self.cfg.settings:  # control_socket_disable exists from gunicorn 24 on
                    self.cfg.set(key, value)

        def load(self) -> Callable[[Environ, StartResponse], Iterable[bytes]]:
            return application

    sys.setswitchinterval(GIL_SWITCH_S)
    logs.event("server.starting", mode="http", bind=options["bind"], threads=threads)
    Gunicorn().run()  # returns only through sys.exit (gunicorn's arbiter); 0 on SIGTERM
    return 0


def serve_socket(bot: SlackBot, app_token: str) -> int:
    """Socket Mode: a WebSocket to Slack, no public URL. SIGTERM/SIGINT: stop, drain, exit 0."""
    handler = socket_mode_handler(bot, app_token)
    sys.setswitchinterval(GIL_SWITCH_S)
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    handler.connect()
    logs.event("server.starting", mode="socket")
    stop.wait()
    handler.close()  # no new envelopes; the acks in flight were sent by the client's threads
    drain(bot.executor)
    return 0


def socket_mode_handler(bot: SlackBot, app_token: str) -> Any:
    """The Socket Mode handler over the same Bolt app (same listeners). Does not connect."""
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    return SocketModeHandler(bot.app, app_token, web_client=bot.web)

"""A fake Slack Web API over real HTTP, for tests and benchmarks.

Answers `auth.test`, `chat.postMessage`, `chat.postEphemeral`, `chat.update` and
`usergroups.users.list` under `/api/<method>`, and accepts `response_url` POSTs under
`/response/<anything>` (tests build response_urls with `slack.response_url("tag")`). Every call is
recorded. It can be told to fail: `slack.fail("chat.postMessage", status=429, times=2,
retry_after=1)` answers the next two calls with 429 + `Retry-After: 1`; `status=500` likewise;
`slack.recover()` drops the failures still queued.
`slack.delay("response_url", 2.0)` holds response_url answers for two seconds.

Also here: what Slack sends to the bot (`slash_command`, `block_action`, `app_mention` bodies,
signed with `signed_headers` exactly as Slack signs them) and `BotServer`, which runs
`python -m bot serve --http` as a subprocess against this fake.

Run alone (for trying the bot by hand or benchmarking):
    python -m tests.fakes.slack_api --port 9999
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"  # the example secret from Slack's signing docs
BOT_TOKEN = "xoxb-17653672481-19874698323-pdFZKVeTuE8sk7oOcBrzbqgy"

RESPONSE_URL = "response_url"  # the pseudo-method name response_url POSTs are recorded under


@dataclass
class Call:
    """One request the fake received."""

    method: str  # "chat.postMessage", ..., or "response_url"
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    at: float  # time.monotonic() when it arrived
    status: int = 200  # what the fake answered


@dataclass
class _Failure:
    status: int
    times: int
    retry_after: int | None
    match: Callable[[str, dict[str, Any]], bool] | None = None


@dataclass
class FakeSlack:
    token: str | None = None
    """When set, API calls with another bearer token get `invalid_auth`."""
    team_id: str = "T0FAKE"
    bot_user_id: str = "UBOT"
    usergroups: dict[str, list[str]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    """Answered requests, in the order their answers were sent."""
    arrivals: list[str] = field(default_factory=list)
    """Methods of requests as they arrive (before any `delay`): what is in flight."""
    _failures: dict[str, list[_Failure]] = field(default_factory=dict)
    _delays: dict[str, float] = field(default_factory=dict)
    _cond: threading.Condition = field(default_factory=threading.Condition)
    _server: ThreadingHTTPServer | None = None
    _ts: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self, host: str = "127.0.0.1", port: int = 0) -> FakeSlack:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

            def do_GET(self) -> None:
                fake._handle(self, b"")

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                fake._handle(self, self.rfile.read(length))

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="fake-slack", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "start() the fake first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def api_url(self) -> str:
        """What SLACK_API_URL should be."""
        return f"{self.url}/api/"

    def response_url(self, tag: str = "cmd") -> str:
        return f"{self.url}/response/{tag}"

    # -- behaviour -------------------------------------------------------------------------------
    def fail(
        self,
        method: str,
        *,
        status: int = 429,
        times: int = 1,
        retry_after: int | None = 1,
        match: Callable[[str, dict[str, Any]], bool] | None = None,
    ) -> None:
        """Answer the next `times` calls of `method` with `status` (429: with Retry-After); with
        `match(path, body)`, only the calls it accepts (so other tests' posts are left alone)."""
        with self._cond:
            self._failures.setdefault(method, []).append(
                _Failure(status, times, retry_after if status == 429 else None, match)
            )

    def recover(self, method: str | None = None) -> None:
        """Forget the failures still queued for `method` (all methods when None): answer normally again."""
        with self._cond:
            if method is None:
                self._failures.clear()
            else:
                self._failures.pop(method, None)

    def delay(self, method: str, seconds: float) -> None:
        with self._cond:
            self._delays[method] = seconds

    # -- what happened ---------------------------------------------------------------------------
    def received(self, method: str | None = None, *, status: int | None = None) -> list[Call]:
        with self._cond:
            return [
                c
                for c in self.calls
                if (method is None or c.method == method) and (status is None or c.status == status)
            ]

    def wait_for(
        self,
        method: str,
        count: int = 1,
        *,
        timeout: float = 30.0,
        where: Callable[[Call], bool] | None = None,
    ) -> list[Call]:
        """Block until `count` successful calls of `method` (matching `where`) arrived; return them."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                got = [
                    c
                    for c in self.calls
                    if c.method == method and c.status == 200 and (where is None or where(c))
                ]
                if len(got) >= count:
                    return got
                left = deadline - time.monotonic()
                if left <= 0:
                    seen = [(c.method, c.status) for c in self.calls]
                    raise AssertionError(f"waited {timeout}s for {count} x {method}; saw {seen}")
                self._cond.wait(left)

    def wait_arrival(self, method: str, count: int = 1, *, timeout: float = 20.0) -> None:
        """Block until `count` requests of `method` have arrived (answered or not yet)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self.arrivals.count(method) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"waited {timeout}s for {count} x {method} to arrive")
                self._cond.wait(left)

    # -- HTTP ------------------------------------------------------------------------------------
    def _handle(self, req: BaseHTTPRequestHandler, raw: bytes) -> None:
        parsed = urllib.parse.urlsplit(req.path)
        if parsed.path.startswith("/api/"):
            method = parsed.path[len("/api/") :]
        elif parsed.path.startswith("/response/"):
            method = RESPONSE_URL
        else:
            self._send(req, 404, {"ok": False, "error": "not_found"})
            return
        body = _parse_body(raw, req.headers.get("Content-Type", ""))
        for k, v in urllib.parse.parse_qsl(parsed.query):
            body.setdefault(k, v)
        call = Call(
            method, parsed.path, {k.lower(): v for k, v in req.headers.items()}, body, time.monotonic()
        )
        with self._cond:
            self.arrivals.append(method)
            self._cond.notify_all()
            delay = self._delays.get(method, 0.0)
            queue = self._failures.get(method) or []
            failure = next((f for f in queue if f.match is None or f.match(parsed.path, body)), None)
            if failure is not None:
                failure.times -= 1
                if failure.times <= 0:
                    queue.remove(failure)
        if delay:
            time.sleep(delay)
        if failure is not None:
            call.status = failure.status
            headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after is not None else {}
            error = "ratelimited" if failure.status == 429 else "internal_error"
            self._record(call)
            self._send(req, failure.status, {"ok": False, "error": error}, headers)
            return
        if method == RESPONSE_URL:
            self._record(call)
            self._send(req, 200, None)
            return
        answer = self._answer(method, body, call.headers)
        self._record(call)
        self._send(req, 200, answer)

    def _record(self, call: Call) -> None:
        with self._cond:
            self.calls.append(call)
            self._cond.notify_all()

    def _answer(self, method: str, body: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
        auth = headers.get("authorization", "")
        given = auth.removeprefix("Bearer ").strip() or str(body.get("token", ""))
        if self.token is not None and given != self.token:
            return {"ok": False, "error": "invalid_auth"}
        ts = f"{int(time.time())}.{next(self._ts):06d}"
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://fake.slack.com/",
                "team": "Fake Workspace",
                "user": "k8s-bot",
                "team_id": self.team_id,
                "user_id": self.bot_user_id,
                "bot_id": "BFAKE",
                "is_enterprise_install": False,
            }
        if method == "chat.postMessage":
            channel = str(body.get("channel", ""))
            message = {"type": "message", "user": self.bot_user_id, "ts": ts, "text": body.get("text", "")}
            if body.get("thread_ts"):
                message["thread_ts"] = body["thread_ts"]
            return {"ok": True, "channel": channel, "ts": ts, "message": message}
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": ts}
        if method == "chat.update":
            return {
                "ok": True,
                "channel": body.get("channel"),
                "ts": body.get("ts"),
                "text": body.get("text"),
            }
        if method == "apps.connections.open":
            # No WebSocket server here: Socket Mode is refused the way Slack refuses a bad xapp- token.
            return {"ok": False, "error": "invalid_auth"}
        if method == "usergroups.users.list":
            group = str(body.get("usergroup", ""))
            if group not in self.usergroups:
                return {"ok": False, "error": "no_such_subteam"}
            return {"ok": True, "users": list(self.usergroups[group])}
        return {"ok": False, "error": "unknown_method"}

    @staticmethod
    def _send(
        req: BaseHTTPRequestHandler,
        status: int,
        payload: dict[str, Any] | None,
        headers: dict[str, str] | None = None,
    ) -> None:
        data = b"ok" if payload is None else json.dumps(payload).encode()
        req.send_response(status)
        req.send_header(
            "Content-Type", "text/plain" if payload is None else "application/json; charset=utf-8"
        )
        req.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            req.send_header(k, v)
        req.end_headers()
        req.wfile.write(data)


def _parse_body(raw: bytes, content_type: str) -> dict[str, Any]:
    if not raw:
        return {}
    text = raw.decode("utf-8")
    if "json" in content_type or text.lstrip().startswith("{"):
        data = json.loads(text)
        return data if isinstance(data, dict) else {"_": data}
    out: dict[str, Any] = dict(urllib.parse.parse_qsl(text, keep_blank_values=True))
    for key in ("blocks", "attachments"):
        if isinstance(out.get(key), str):
            out[key] = json.loads(out[key])
    return out


# -- what Slack accepts ------------------------------------------------------------------------------

#: Block Kit limits (FACTS.md §11).
LIMITS = {"blocks": 50, "section_text": 3000, "button_text": 75, "action_id": 255, "button_value": 2000}


def check_message(body: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Assert a message body is one Slack accepts: top-level text, <= 50 valid blocks, every limit
    kept. Returns the buttons (action elements) it carries."""
    from bot.render import validate_block

    assert isinstance(body.get("text"), str) and body["text"], f"no fallback text: {body}"
    blocks = body.get("blocks") or []
    assert 0 < len(blocks) <= LIMITS["blocks"], f"{len(blocks)} blocks"
    buttons: list[dict[str, Any]] = []
    for block in blocks:
        validate_block(block)
        if block["type"] == "section" and "text" in block:
            assert len(block["text"]["text"]) <= LIMITS["section_text"], "section text over 3000"
        for el in block.get("elements", []) if block["type"] == "actions" else []:
            assert el["type"] == "button"
            assert len(el["text"]["text"]) <= LIMITS["button_text"]
            assert len(el["action_id"]) <= LIMITS["action_id"]
            assert len(el.get("value", "")) <= LIMITS["button_value"]
            buttons.append(el)
    ids = [b["action_id"] for b in buttons]
    assert len(ids) == len(set(ids)), f"duplicate action_ids {ids}"
    return buttons


def texts(body: Mapping[str, Any]) -> str:
    """All the words a user sees in a message (fallback text, sections, contexts), one string."""
    out = [str(body.get("text", ""))]
    for block in body.get("blocks") or []:
        if isinstance(block.get("text"), dict):
            out.append(block["text"]["text"])
        for el in block.get("elements", []):
            if isinstance(el, dict) and isinstance(el.get("text"), str):
                out.append(el["text"])
    return "\n".join(out)


# -- what Slack sends -------------------------------------------------------------------------------


def signature(body: str, timestamp: str, secret: str = SIGNING_SECRET) -> str:
    """`v0=` + hex HMAC-SHA256(secret, `v0:<timestamp>:<body>`), as Slack signs requests."""
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed_headers(
    body: str, *, content_type: str, timestamp: int | None = None, secret: str = SIGNING_SECRET
) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature(body, ts, secret),
    }


def slash_command(
    text: str,
    response_url: str,
    *,
    user: str = "U0ANN",
    channel: str = "C0OPS",
    team: str = "T0FAKE",
    command: str = "/k8s",
) -> str:
    """The application/x-www-form-urlencoded body of a slash command, fields as Slack sends them."""
    return urllib.parse.urlencode(
        {
            "token": "gIkuvaNzQIHg97ATvDxqgjtO",
            "team_id": team,
            "team_domain": "fake",
            "channel_id": channel,
            "channel_name": "ops",
            "user_id": user,
            "user_name": user.lower(),
            "command": command,
            "text": text,
            "api_app_id": "A0FAKEAPP",
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": f"{int(time.time())}.17653672481.fake",
        }
    )


def block_action(
    action_id: str,
    value: str,
    response_url: str,
    *,
    user: str = "U0ANN",
    channel: str = "C0OPS",
    team: str = "T0FAKE",
    ephemeral: bool = True,
    label: str = "button",
) -> str:
    """The form body (`payload=<json>`) Slack posts when a button in a message is clicked. Clicks in
    an ephemeral message carry no `message`, only the container."""
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": team},
        "api_app_id": "A0FAKEAPP",
        "token": "gIkuvaNzQIHg97ATvDxqgjtO",
        "container": {
            "type": "message",
            "message_ts": "1718100000.000200",
            "channel_id": channel,
            "is_ephemeral": ephemeral,
        },
        "trigger_id": f"{int(time.time())}.17653672481.fake",
        "team": {"id": team, "domain": "fake"},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel, "name": "ops"},
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [
            {
                "action_id": action_id,
                "block_id": "k8s-actions",
                "text": {"type": "plain_text", "text": label},
                "value": value,
                "type": "button",
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }
    return urllib.parse.urlencode({"payload": json.dumps(payload)})


def app_mention(
    text: str,
    *,
    user: str = "U0ANN",
    channel: str = "C0OPS",
    team: str = "T0FAKE",
    ts: str = "1718100000.000100",
    thread_ts: str | None = None,
    event_id: str | None = None,
    bot_user: str = "UBOT",
) -> str:
    """The JSON body of an Events API `event_callback` carrying an `app_mention`."""
    event: dict[str, Any] = {
        "type": "app_mention",
        "user": user,
        "text": f"<@{bot_user}> {text}",
        "ts": ts,
        "channel": channel,
        "event_ts": ts,
        "team": team,
    }
    if thread_ts:
        event["thread_ts"] = thread_ts
    return json.dumps(
        {
            "token": "gIkuvaNzQIHg97ATvDxqgjtO",
            "team_id": team,
            "api_app_id": "A0FAKEAPP",
            "event": event,
            "type": "event_callback",
            "event_id": event_id or f"Ev{int(time.time() * 1e6)}",
            "event_time": int(time.time()),
            "authorizations": [{"enterprise_id": None, "team_id": team, "user_id": bot_user, "is_bot": True}],
            "is_ext_shared_channel": False,
        }
    )


# -- the bot under test, as a subprocess ------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Reply:
    status: int
    body: str
    headers: Mapping[str, str]

    def json(self) -> Any:
        return json.loads(self.body)


class BotServer:
    """`python -m bot serve --http` on a free port, talking to `slack` (and `env`'s KUBECONFIG)."""

    def __init__(
        self,
        slack: FakeSlack,
        workdir: Path,
        *,
        config: Mapping[str, Any] | None = None,
        env: Mapping[str, str] | None = None,
        args: tuple[str, ...] = (),
    ) -> None:
        self.slack = slack
        self.workdir = workdir
        self.port = free_port()
        self.config_path = workdir / "k8sbot.yaml"
        self.config_path.write_text(yaml.safe_dump(dict(config or {})), encoding="utf-8")
        base = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("SLACK_", "K8SBOT_", "REDIS_", "KUBECONFIG"))
        }
        base.update(
            {
                "KUBECONFIG": "/nonexistent/kubeconfig",
                "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                "SLACK_BOT_TOKEN": BOT_TOKEN,
                "SLACK_API_URL": slack.api_url,
                "K8SBOT_CONFIG": str(self.config_path),
            }
        )
        base.update(env or {})
        self.env = base
        self.args = args
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = workdir / f"serve-{self.port}.log"

    def start(self, timeout: float = 90.0) -> BotServer:
        cmd = [
            sys.executable,
            "-m",
            "bot",
            "serve",
            "--http",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
        ]
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen([*cmd, *self.args], cwd=ROOT, env=self.env, stdout=log, stderr=log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"serve exited {self.proc.returncode}:\n{self.log()}")
            try:
                if self.get("/healthz").status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"serve did not answer /healthz in {timeout}s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace") if self.log_path.exists() else ""

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM, as Kubernetes stops a pod; returns the exit status."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise

    def __enter__(self) -> BotServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def request(
        self, method: str, path: str, body: str = "", headers: Mapping[str, str] | None = None
    ) -> Reply:
        req = urllib.request.Request(
            self.url + path, data=body.encode() if body else None, method=method, headers=dict(headers or {})
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return Reply(resp.status, resp.read().decode(), dict(resp.headers.items()))
        except urllib.error.HTTPError as err:
            return Reply(err.code, err.read().decode(), dict(err.headers.items()))

    def get(self, path: str) -> Reply:
        return self.request("GET", path)

    def post_signed(
        self, body: str, *, content_type: str, timestamp: int | None = None, secret: str = SIGNING_SECRET
    ) -> Reply:
        headers = signed_headers(body, content_type=content_type, timestamp=timestamp, secret=secret)
        return self.request("POST", "/slack/events", body, headers)

    def command(self, text: str, response_url: str, **kw: Any) -> Reply:
        return self.post_signed(slash_command(text, response_url, **kw), content_type=FORM)

    def click(self, action_id: str, value: str, response_url: str, **kw: Any) -> Reply:
        return self.post_signed(block_action(action_id, value, response_url, **kw), content_type=FORM)

    def mention(self, text: str, **kw: Any) -> Reply:
        return self.post_signed(app_mention(text, **kw), content_type="application/json")


FORM = "application/x-www-form-urlencoded"


def main() -> None:
    p = argparse.ArgumentParser(description="A fake Slack Web API that prints what it receives.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=9999)
    args = p.parse_args()
    fake = FakeSlack().start(args.host, args.port)
    print(f"fake Slack at {fake.api_url} (response_urls: {fake.response_url('<tag>')})", flush=True)
    seen = 0
    try:
        while True:
            time.sleep(0.2)
            for call in fake.received()[seen:]:
                print(json.dumps({"method": call.method, "path": call.path, "body": call.body}), flush=True)
                seen += 1
    except KeyboardInterrupt:
        fake.stop()


if __name__ == "__main__":
    main()

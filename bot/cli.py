"""The `k8s-bot` command: ask, serve, digest, demo.

Exit status (contract): 0 answered (even "the pod is broken"); 2 usage error; 1 not answerable
(cluster unreachable, object not found), with a one-line reason on stderr and no traceback.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from bot import logs
from bot.clusters import Clusters
from bot.config import ClusterConfig, Settings, SettingsError
from bot.dispatch import Outcome, ask
from bot.i18n import DEFAULT_LANG, LANGS
from bot.metrics import DIGEST_FAILURES, DIGESTS_POSTED
from bot.render import FORMATS, error_json, error_slack, error_text, to_json, to_slack, to_text
from handlers.errors import QueryError

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_SNAPSHOT = ROOT / "examples" / "cluster"

#: The README's example questions, answered by `k8s-bot demo` on the bundled snapshot.
DEMO_QUESTIONS = (
    "help",
    "why es-2 -n logging",
    "why deploy/web -n shop",
    "why cart -n shop",
    "why recommender-75c97d6476-c5d6k -n shop",
    "exit 137",
    "exit es-2 -n logging",
    "name web-7d4b9c8f6d-x2x9k",
    "dns redis-cluster 0 -n wiseco",
    "endpoints checkout -n shop",
    "trace shop.example.com/cart",
    "digest",
)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="k8s-bot", description="Answers Kubernetes troubleshooting questions.")
    sub = p.add_subparsers(dest="command", required=True, metavar="{ask,serve,digest,demo}")

    a = sub.add_parser("ask", help='answer one question, e.g. k8s-bot ask "why es-0 -n logging"')
    a.add_argument("query", nargs="+", help="the question, as typed after /k8s in Slack")
    _source_args(a)
    a.add_argument("--format", choices=FORMATS, default="text")
    a.add_argument(
        "--lang",
        choices=LANGS,
        default=None,
        help="answer in this language (default: the question's, else K8SBOT_LANG)",
    )

    s = sub.add_parser("serve", help="run the Slack app: HTTP (gunicorn) or Socket Mode")
    mode = s.add_mutually_exclusive_group()
    mode.add_argument(
        "--http", action="store_true", help="HTTP mode (default): POST /slack/events, GET /healthz, /metrics"
    )
    mode.add_argument("--socket", action="store_true", help="Socket Mode (needs SLACK_APP_TOKEN)")
    s.add_argument("--host", default="0.0.0.0", help="HTTP mode: address to listen on (default 0.0.0.0)")
    s.add_argument("--port", type=int, default=3000, help="HTTP mode: port (default 3000)")
    s.add_argument(
        "--snapshot",
        action="append",
        default=[],
        metavar="PATH",
        help="answer from snapshot files instead of live clusters (every configured cluster reads it)",
    )
    s.add_argument(
        "--config", default=None, metavar="FILE", help="the K8SBOT_CONFIG file (overrides $K8SBOT_CONFIG)"
    )

    g = sub.add_parser("digest", help="the cluster health digest: headline counts and current problems")
    _source_args(g)
    g.add_argument(
        "--namespaces", "-n", default=None, metavar="A,B", help="only these namespaces (comma-separated)"
    )
    g.add_argument("--format", choices=FORMATS, default="text")
    g.add_argument(
        "--post",
        default=None,
        metavar="CHANNEL",
        help="post it to this Slack channel ID (SLACK_BOT_TOKEN, SLACK_API_URL): new, still ongoing and "
        "resolved since that channel's last digest (state in REDIS_URL, else this run only)",
    )
    g.add_argument(
        "--lang",
        choices=LANGS,
        default=None,
        help="answer in this language (default: the question's, else K8SBOT_LANG)",
    )

    d = sub.add_parser("demo", help="answer the README's example questions on the bundled snapshot")
    d.add_argument("--format", choices=FORMATS, default="text")
    return p


def _source_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--snapshot",
        action="append",
        default=[],
        metavar="PATH",
        help="file or folder of `kubectl get -o yaml|json` output (repeatable)",
    )
    p.add_argument("--kubeconfig", default=None)
    p.add_argument("--context", default=None)


def _print_outcome(out: Outcome, fmt: str) -> None:
    if out.error is not None:
        _print_error(out.query, out.error, fmt, out.lang)
        return
    assert out.result is not None
    if fmt == "json":
        doc = to_json(out.result, out.lang)
        sys.stdout.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode() + "\n")
    elif fmt == "slack":
        msgs = to_slack(out.result, lang=out.lang)
        sys.stdout.write(orjson.dumps(msgs, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        sys.stdout.write(to_text(out.result, out.lang))


def _print_error(query: str, err: QueryError, fmt: str, lang: str = DEFAULT_LANG) -> None:
    line = " ".join(error_text(err, lang).split())
    if fmt == "json":
        doc = error_json(query, err, lang)
        sys.stdout.write(orjson.dumps(doc, option=orjson.OPT_INDENT_2).decode() + "\n")
    elif fmt == "slack":
        msgs = error_slack(err, lang)
        sys.stdout.write(orjson.dumps(msgs, option=orjson.OPT_INDENT_2).decode() + "\n")
    sys.stderr.write(f"k8s-bot: {line}\n")


def main(argv: Sequence[str] | None = None) -> int:
    logs.configure("WARNING")
    parser = _parser()
    args, extra = parser.parse_known_args(argv)
    if extra and args.command != "ask":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        settings = Settings.from_env(config_file=getattr(args, "config", None))
    except SettingsError as err:
        sys.stderr.write(f"k8s-bot: {err}\n")
        return 2
    if args.command == "ask":
        # `k8s-bot ask why es-0 -n logging` (unquoted) works too: question flags pass through.
        query = " ".join([*args.query, *extra])
        clusters = Clusters(
            settings, snapshot=args.snapshot, kubeconfig=args.kubeconfig, context=args.context
        )
        out = ask(query, clusters, lang=args.lang, default_lang=settings.lang)
        _print_outcome(out, args.format)
        return out.exit_code
    if args.command == "serve":
        return serve(settings, socket=args.socket, host=args.host, port=args.port, snapshot=args.snapshot)
    if args.command == "digest":
        return digest(settings, args)
    if args.command == "demo":
        return demo(settings, args.format)
    parser.error(f"unknown command {args.command}")
    return 2


def demo(settings: Settings, fmt: str = "text") -> int:
    clusters = Clusters(settings, snapshot=[str(EXAMPLE_SNAPSHOT)])
    worst = 0
    for q in DEMO_QUESTIONS:
        sys.stdout.write(f'\n$ k8s-bot ask "{q}" --snapshot examples/cluster\n')
        sys.stdout.flush()
        out = ask(q, clusters, default_lang=settings.lang)
        _print_outcome(out, fmt)
        sys.stdout.flush()
        worst = max(worst, out.exit_code)
    return worst


def digest(settings: Settings, args: argparse.Namespace) -> int:
    """`k8s-bot digest`: the digest now (text, JSON as `ask`, or the Slack messages), or `--post` it."""
    from bot import digest as d

    clusters = Clusters(settings, snapshot=args.snapshot, kubeconfig=args.kubeconfig, context=args.context)
    query = f"digest -n {args.namespaces}" if args.namespaces else "digest"
    out = ask(query, clusters, lang=args.lang, default_lang=settings.lang)
    lang = out.lang
    if out.error is not None or out.result is None or out.request is None:
        _print_outcome(out, args.format)
        return out.exit_code
    now = out.request.now
    cur = d.current(out.result)
    if args.post:
        return _post_digest(settings, args.post, cur, now, args.format, lang=lang)
    if args.format == "json":
        sys.stdout.write(orjson.dumps(to_json(out.result, lang), option=orjson.OPT_INDENT_2).decode() + "\n")
    elif args.format == "slack":
        messages = d.to_slack(d.view(cur, None, now=now), lang)
        sys.stdout.write(orjson.dumps(messages.as_json(), option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        sys.stdout.write(d.to_text(d.view(cur, None, now=now), lang))
    return 0


def _post_digest(settings: Settings, channel: str, cur: Any, now: datetime, fmt: str, *, lang: str) -> int:
    """Post to `channel` with its state (the same per-channel state a schedule without `name` uses)."""
    from bot import digest as d
    from bot.cache import CacheUnavailable, make_cache
    from bot.slack_app import web_client

    if not settings.slack_bot_token:
        sys.stderr.write("k8s-bot: SLACK_BOT_TOKEN is not set (needed to --post)\n")
        return 2
    store = d.StateStore(make_cache(settings), settings.cache_prefix)
    try:
        state = store.load(channel)
    except CacheUnavailable as err:
        sys.stderr.write(f"k8s-bot: cannot read the digest state: {err}\n")
        return 1
    change = d.diff(state, cur)
    v = d.view(cur, change, now=now, last_posted=state.last_posted)
    messages = d.to_slack(v, lang)
    try:
        ts = d.post(web_client(settings), channel, messages)
    except d.PostFailed as err:
        DIGEST_FAILURES.labels(channel=channel).inc()
        sys.stderr.write(f"k8s-bot: the digest was not posted: {err}\n")
        return 1
    DIGESTS_POSTED.labels(channel=channel).inc()
    try:
        store.save(channel, d.advance(state, change, at=now, fire=None, posted=True))
    except CacheUnavailable as err:
        sys.stderr.write(f"k8s-bot: posted, but the digest state was not saved: {err}\n")
    if fmt == "json":
        sys.stdout.write(orjson.dumps({"channel": channel, "ts": ts, **messages.as_json()}).decode() + "\n")
    else:
        sys.stdout.write(d.to_text(v, lang))
    return 0


def serve(settings: Settings, *, socket: bool, host: str, port: int, snapshot: Sequence[str]) -> int:
    """`k8s-bot serve`: 2 for missing settings, 1 when Slack cannot be reached or rejects the token."""
    from slack_sdk.errors import SlackApiError

    from bot.scheduler import Scheduler, load_schedules
    from bot.server import serve_http, serve_socket
    from bot.slack_app import SlackBot

    logs.configure("INFO")
    if socket and not settings.slack_app_token:
        sys.stderr.write(
            "k8s-bot: SLACK_APP_TOKEN is not set (Socket Mode needs the app-level xapp- token)\n"
        )
        return 2
    if not socket and not settings.slack_signing_secret:
        sys.stderr.write(
            "k8s-bot: SLACK_SIGNING_SECRET is not set (HTTP mode verifies every request with it)\n"
        )
        return 2
    try:
        schedules = load_schedules(settings)  # a bad `digests:` entry fails here, before Slack is called
        bot = SlackBot(settings, _serve_clusters(settings, snapshot))
    except SettingsError as err:
        sys.stderr.write(f"k8s-bot: {err}\n")
        return 2
    except SlackApiError as err:
        sys.stderr.write(
            f"k8s-bot: Slack rejected SLACK_BOT_TOKEN (auth.test: {err.response.get('error')})\n"
        )
        return 1
    except OSError as err:  # URLError and friends: SLACK_API_URL unreachable
        where = settings.slack_api_url or "https://slack.com/api/"
        sys.stderr.write(f"k8s-bot: cannot reach Slack at {where}: {getattr(err, 'reason', err)}\n")
        return 1
    # The digest scheduler runs in the process that serves Slack: after gunicorn's fork in HTTP mode.
    scheduler = Scheduler.from_settings(settings, bot.clusters, bot.web, schedules)
    if socket:
        if scheduler is not None:
            scheduler.start()
        try:
            return serve_socket(bot, settings.slack_app_token.value)
        except SlackApiError as err:  # apps.connections.open refused the app-level token
            sys.stderr.write(f"k8s-bot: Slack rejected SLACK_APP_TOKEN ({err.response.get('error')})\n")
            return 1
    return serve_http(bot, host, port, on_worker_start=scheduler.start if scheduler is not None else None)


def _serve_clusters(settings: Settings, snapshot: Sequence[str]) -> Clusters:
    """With --snapshot, every configured cluster name answers from the snapshot, so channel bindings
    and permissions keep working in a demo; without configured clusters it is the one cluster.
    Without --snapshot: the configured clusters, else the kubeconfig's current context or the
    in-cluster service account; with none of those, offline answers only (said in the log)."""
    if not snapshot:
        live = Clusters(settings, offline_ok=False)
        try:
            live.open()  # builds the API client (no request yet): catches a missing kubeconfig now
        except QueryError as err:
            reason = " ".join(error_text(err).split())
            if settings.clusters:
                logs.event("serve.cluster_unusable", cluster=settings.default_cluster, reason=reason)
                return live
            logs.event("serve.offline", reason=reason)
            return Clusters(settings)
        return live
    if not settings.clusters:
        return Clusters(settings, snapshot=snapshot)
    replaced = {
        name: ClusterConfig(name=name, snapshot=tuple(snapshot), cluster_domain=cfg.cluster_domain)
        for name, cfg in settings.clusters.items()
    }
    return Clusters(dataclasses.replace(settings, clusters=replaced))

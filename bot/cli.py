"""The `k8s-bot` command: ask, demo (and serve, digest as their issues land).

Exit status (contract): 0 answered (even "the pod is broken"); 2 usage error; 1 not answerable
(cluster unreachable, object not found), with a one-line reason on stderr and no traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

import orjson

from bot import logs
from bot.clusters import Clusters
from bot.config import Settings, SettingsError
from bot.dispatch import Outcome, ask
from bot.render import FORMATS, error_json, error_slack, error_text, to_json, to_slack, to_text
from handlers.errors import QueryError

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_SNAPSHOT = ROOT / "examples" / "cluster"

#: The README's example questions, answered by `k8s-bot demo` on the bundled snapshot.
DEMO_QUESTIONS = (
    "help",
    "exit 137",
    "name web-7d4b9c8f6d-x2x9k",
    "dns redis-cluster 0 -n wiseco",
)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="k8s-bot", description="Answers Kubernetes troubleshooting questions.")
    sub = p.add_subparsers(dest="command", required=True, metavar="{ask,demo}")

    a = sub.add_parser("ask", help='answer one question, e.g. k8s-bot ask "why es-0 -n logging"')
    a.add_argument("query", nargs="+", help="the question, as typed after /k8s in Slack")
    _source_args(a)
    a.add_argument("--format", choices=FORMATS, default="text")
    a.add_argument("--lang", choices=("en", "zh"), default=None)

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
        _print_error(out.query, out.error, fmt)
        return
    assert out.result is not None
    if fmt == "json":
        sys.stdout.write(orjson.dumps(to_json(out.result), option=orjson.OPT_INDENT_2).decode() + "\n")
    elif fmt == "slack":
        sys.stdout.write(orjson.dumps(to_slack(out.result), option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        sys.stdout.write(to_text(out.result))


def _print_error(query: str, err: QueryError, fmt: str) -> None:
    line = " ".join(error_text(err).split())
    if fmt == "json":
        sys.stdout.write(orjson.dumps(error_json(query, err), option=orjson.OPT_INDENT_2).decode() + "\n")
    elif fmt == "slack":
        sys.stdout.write(orjson.dumps(error_slack(err), option=orjson.OPT_INDENT_2).decode() + "\n")
    sys.stderr.write(f"k8s-bot: {line}\n")


def main(argv: Sequence[str] | None = None) -> int:
    logs.configure("WARNING")
    parser = _parser()
    args, extra = parser.parse_known_args(argv)
    if extra and args.command != "ask":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    try:
        settings = Settings.from_env()
    except SettingsError as err:
        sys.stderr.write(f"k8s-bot: {err}\n")
        return 2
    if args.command == "ask":
        # `k8s-bot ask why es-0 -n logging` (unquoted) works too: question flags pass through.
        query = " ".join([*args.query, *extra])
        clusters = Clusters(
            settings, snapshot=args.snapshot, kubeconfig=args.kubeconfig, context=args.context
        )
        out = ask(query, clusters, lang=args.lang or "en")
        _print_outcome(out, args.format)
        return out.exit_code
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
        out = ask(q, clusters)
        _print_outcome(out, fmt)
        sys.stdout.flush()
        worst = max(worst, out.exit_code)
    return worst

"""Question text -> parse -> the verb's query module -> Result. One path for CLI, Slack and digests.

Errors are caught here once: a `QueryError` becomes an answer the user can act on (with its exit
status); anything else is a bug, logged with a reference and answered with that reference.
"""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from bot import i18n, knowledge, logs
from bot.clusters import Clusters, Opened
from bot.i18n import DEFAULT_LANG
from bot.query import parse, to_request
from bot.snapshot import EmptyView
from handlers import VERBS
from handlers.errors import NeedsCluster, QueryError
from handlers.model import Note, Request, Result

#: Verbs that answer from knowledge alone when no cluster is configured.
OFFLINE_VERBS = frozenset({"exit", "name", "dns", "reason", "help", "how"})


class InternalError(QueryError):
    """A bug: the user gets a reference, the log gets the traceback."""

    template = "internal"

    def __init__(self, ref: str) -> None:
        super().__init__(f"internal error (ref {ref})")
        self.ref = ref

    def fields(self) -> dict[str, object]:
        return {"ref": self.ref}


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one question produced: a Result, or an error to word; and the exit status."""

    query: str
    request: Request | None
    result: Result | None
    error: QueryError | None
    duration_s: float
    lang: str = DEFAULT_LANG
    """The language to word the answer in (bot/i18n.py `choose`)."""

    @property
    def exit_code(self) -> int:
        return self.error.exit_code if self.error else 0

    @property
    def verb(self) -> str:
        return self.request.verb if self.request else "unknown"

    @property
    def outcome(self) -> str:
        """For metrics: answered | usage | not_found | cluster_error | error | internal."""
        if self.error is None:
            return "answered"
        name = type(self.error).__name__
        return {
            "UsageError": "usage",
            "NotFound": "not_found",
            "Ambiguous": "not_found",
            "InternalError": "internal",
        }.get(name, "cluster_error" if "Cluster" in name else "error")


Observer = Callable[[Outcome], None]


def ask(
    query: str,
    clusters: Clusters,
    *,
    lang: str | None = None,
    user_lang: str | None = None,
    channel_lang: str | None = None,
    default_lang: str = DEFAULT_LANG,
    bound_namespace: str | None = None,
    fresh: bool = False,
    now: datetime | None = None,
    observers: tuple[Observer, ...] = (),
) -> Outcome:
    """Answer one question. Never raises.

    `lang` is an explicit choice (CLI `--lang`, a digest's configured language); without it a
    `--lang` in the question, then the question's own language, then the asker's and the channel's
    settings, then `default_lang` decide (bot/i18n.py `choose`)."""
    started = time.perf_counter()
    answer_lang = i18n.choose(
        explicit=flag_lang(query) or lang,
        question=query,
        user=user_lang,
        channel=channel_lang,
        default=default_lang,
    )
    req: Request | None = None
    result: Result | None = None
    error: QueryError | None = None
    try:
        knowledge.install()  # the names query modules match against (reason); cached after the first
        parsed = parse(query)
        if parsed.verb == "help":
            opened = Opened(
                EmptyView(), "cluster.local", None
            )  # reads nothing: a broken config must not stop it
        else:
            opened = clusters.open(parsed.cluster, fresh=parsed.fresh or fresh)
        view = opened.view
        clock = now or view.taken_at or datetime.now(UTC)
        req = to_request(
            parsed,
            query,
            now=clock,
            lang=answer_lang,
            bound_namespace=bound_namespace or opened.default_namespace,
            cluster_domain=opened.cluster_domain,
            fresh=fresh,
        )
        handler = VERBS[req.verb]
        if not view.has_data and req.verb not in OFFLINE_VERBS:
            raise NeedsCluster(req.verb)
        result = handler(req, view)
        extra = [n for n in view.notes() if n not in result.notes]
        if view.taken_at is not None and view.has_data and req.verb not in ("exit", "name", "help", "reason"):
            extra.append(Note("SNAPSHOT-TIME", {"taken_at": view.taken_at.strftime("%Y-%m-%d %H:%M UTC")}))
        if extra:
            notes = (*result.notes, *extra)
            result = replace(
                result,
                notes=notes,
                partial=result.partial or any(n.code.startswith("PARTIAL-") for n in notes),
            )
    except QueryError as err:
        error = err
    except Exception:
        ref = uuid.uuid4().hex[:8]
        logs.exception("query.failed", ref=ref, verb=req.verb if req else None)
        error = InternalError(ref)
    outcome = Outcome(
        query=query,
        request=req,
        result=result,
        error=error,
        duration_s=time.perf_counter() - started,
        lang=answer_lang,
    )
    logs.event(
        "query.answered" if error is None else "query.refused",
        verb=outcome.verb,
        target=result.target.display if result and result.target else None,
        outcome=outcome.outcome,
        duration_ms=round(outcome.duration_s * 1000, 1),
        codes=[f.code for f in result.findings] if result else None,
    )
    for obs in observers:
        obs(outcome)
    return outcome


_LANG_FLAG = re.compile(r"(?:^|\s)--lang(?:=|\s+)(\S+)")


def flag_lang(query: str) -> str | None:
    """`--lang zh` in the question itself, read before parsing so that a question that does not
    parse is still answered in the language asked for."""
    m = _LANG_FLAG.search(query)
    return m.group(1) if m and m.group(1) in i18n.LANGS else None

"""The Slack app: `/k8s <question>`, its buttons, and `@k8s-bot <question>` mentions (Bolt for Python).

`/k8s why es-0 -n logging`:
  1. the ack function runs in the HTTP request: workspace check, per-user rate limit, then
     `ack("Looking into `why es-0 -n logging`…")`. It never touches the cluster, so the 200 goes
     back at once even when the API server is slow or down (Slack gives up after 3 s).
  2. a lazy listener (Bolt runs it on our executor after the response) checks what this user may
     read in this channel (bot/access.py), asks `dispatch.ask` inside that scope, renders the
     Result (bot/render.py), adds the buttons, and posts through `response_url` (ephemeral).

Buttons (action_id -> what the lazy listener does):
  k8s_share    repost the answer in the channel (in_channel), naming who asked; remove the ephemeral
  k8s_refresh  re-run the question with fresh=True and replace the message
  k8s_logs     (pod answers of `why`) the previous instance's log tail of each container, redacted
  k8s_events   (pod answers of `why`) the pod's events
Each value is a small JSON object (the question, the pod) under Slack's 2000 characters.

Every post goes through slack_sdk clients whose retry handlers honour 429 + Retry-After and retry
500/503 (slack_sdk's ServerErrorRetryHandler; other 5xx are not retried) and connection resets:
`chat.*` through the WebClient (`SLACK_API_URL`), response_url posts through a WebhookClient.

K8SBOT_CONFIG keys read here (the others: bot/access.py, bot/ratelimit.py)::

    slack:
      answer_threads: 32    # answers in flight at once (1-256); see DEFAULT_ANSWER_THREADS

`App(process_before_response=True)` makes the ack function run to completion inside the request
and only then starts the lazy functions with a copy of the context: that is how the ack's decision
(refused, rate limited) reaches the lazy function without a race.

Acks and answers share one interpreter. Answers run on `slack.answer_threads` threads but only
CPU_SLOTS of them compute at once (CpuSlots; a slot is given back around every cluster read), so
an ack waits for the GIL behind at most two busy threads however many answers are in flight.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler, RetryHandler
from slack_sdk.http_retry.builtin_handlers import ServerErrorRetryHandler
from slack_sdk.webhook import WebhookClient

from bot import i18n, logs
from bot.access import AccessDenied, Asker, Policy, Scope, ScopedClusters
from bot.clusters import Clusters, Opened
from bot.config import Settings, SettingsError
from bot.dispatch import InternalError, ask, flag_lang
from bot.i18n import DEFAULT_LANG
from bot.metrics import COMMANDS, SLACK_POSTS, observe_outcome
from bot.query import parse
from bot.ratelimit import RateLimited, RateLimiter, limiter
from bot.render import MAX_BLOCKS, error_slack, error_text, split_messages, to_slack
from bot.templating import render_file
from bot.viewbase import BaseView, WrappingView, event_time
from handlers.errors import NotFound, QueryError
from handlers.objects import Obj, age, parse_time
from handlers.redact import redact

COMMAND = "/k8s"
ACTION_SHARE = "k8s_share"
ACTION_REFRESH = "k8s_refresh"
ACTION_LOGS = "k8s_logs"
ACTION_EVENTS = "k8s_events"

#: A response_url takes at most 5 posts within 30 minutes (FACTS.md §11).
MAX_REPLIES = 5
#: Block Kit: a button's value is at most 2000 characters (FACTS.md §11).
MAX_BUTTON_VALUE = 2000
#: Log lines per container for the Logs button: enough to see a stack trace's end, short enough
#: to read in a chat window.
LOG_TAIL = 40
#: Characters of log text per container section: under the 3000-character section limit with room
#: for the heading and the code fence.
LOG_CHARS = 2700
#: Events per pod shown by the Events button (newest kept when there are more).
MAX_EVENTS = 25
#: Finished answers kept for "Share in channel" (the response_url dies after 30 minutes anyway).
ANSWER_TTL_S = 30 * 60
#: Answers in flight at once (K8SBOT_CONFIG `slack.answer_threads`). An answer mostly waits on the
#: API server; only CPU_SLOTS of them compute at a time, so threads are cheap. 32 keeps a burst
#: of questions against a slow cluster moving; beyond it, questions queue (never the acks).
DEFAULT_ANSWER_THREADS = 32
#: User-group memberships are cached this long: a change in Slack takes effect within 5 minutes.
GROUP_TTL_S = 300
#: Answer threads computing at once (CpuSlots). Python runs one thread at a time (the GIL), so
#: more would not answer faster; they would only crowd the acks, which wait for the GIL behind
#: every runnable thread. Two lets a long answer (a digest) and a short one interleave.
CPU_SLOTS = 2

_MENTION = re.compile(r"<@[A-Z0-9]+(?:\|[^>]*)?>")


def retry_handlers() -> list[RetryHandler]:
    """429 honouring Retry-After (3 times), 500/503 (twice, with backoff), connection resets."""
    return [
        ConnectionErrorRetryHandler(max_retry_count=2),
        RateLimitErrorRetryHandler(max_retry_count=3),
        ServerErrorRetryHandler(max_retry_count=2),
    ]


def web_client(settings: Settings) -> WebClient:
    """The Web API client every `chat.*` call goes through."""
    kwargs: dict[str, Any] = {}
    if settings.slack_api_url:
        kwargs["base_url"] = settings.slack_api_url
    return WebClient(
        token=settings.slack_bot_token.value or None,
        timeout=10,
        retry_handlers=retry_handlers(),
        logger=_bolt_logger(),
        **kwargs,
    )


class _JsonRedacted(logging.Filter):
    """Turns Bolt's and slack_sdk's plain log lines into our JSON lines, redacted."""

    def filter(self, record: logging.LogRecord) -> bool:
        if str(record.msg).startswith("As you gave `client` as well"):
            return False  # Bolt reads SLACK_BOT_TOKEN itself; our client carries the same token
        record.msg = orjson.dumps(
            {"event": "slack.library", "level": record.levelname, "message": redact(record.getMessage())}
        ).decode()
        record.args = ()
        return True


def _bolt_logger() -> logging.Logger:
    log = logging.getLogger("k8s_bot.slack")
    if not log.filters:
        log.addFilter(_JsonRedacted())
        log.setLevel(logging.WARNING)
    return log


# -- sharing the interpreter with the acks ---------------------------------------------------------


class CpuSlots:
    """At most CPU_SLOTS answer threads compute at once; the others wait here or on the cluster.

    An answer holds a slot while it parses, diagnoses and renders, and gives it back around every
    cluster read (`io()`), so slow API servers still have many answers in flight. Acks never take
    a slot: they compete for the GIL with at most CPU_SLOTS busy threads instead of every answer
    thread, which keeps them fast while a burst of cached answers renders."""

    def __init__(self, slots: int = CPU_SLOTS) -> None:
        self._sem = threading.BoundedSemaphore(slots)
        self._local = threading.local()

    def _holding(self) -> bool:
        return bool(getattr(self._local, "held", False))

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        if self._holding():
            yield
            return
        self._sem.acquire()
        self._local.held = True
        try:
            yield
        finally:
            self._local.held = False
            self._sem.release()

    @contextlib.contextmanager
    def io(self) -> Iterator[None]:
        if not self._holding():
            yield
            return
        self._local.held = False
        self._sem.release()
        try:
            yield
        finally:
            self._sem.acquire()
            self._local.held = True


class _YieldingView(WrappingView):
    """Passes every read to the answer's view with the CPU slot given back for its duration."""

    def __init__(self, inner: BaseView, slots: CpuSlots) -> None:
        super().__init__(inner)
        self._slots = slots

    def get(self, kind: str, namespace: str | None, name: str) -> Obj | None:
        with self._slots.io():
            return self._inner.get(kind, namespace, name)

    def list(
        self, kind: str, namespace: str | None = None, *, labels: Mapping[str, str] | None = None
    ) -> Sequence[Obj]:
        with self._slots.io():
            return self._inner.list(kind, namespace, labels=labels)

    def _events_for(self, obj: Obj) -> Sequence[Obj]:
        with self._slots.io():
            return self._inner.events(obj)

    def log(self, namespace: str, pod: str, container: str, *, previous: bool, tail: int = 50) -> str | None:
        with self._slots.io():
            return self._inner.log(namespace, pod, container, previous=previous, tail=tail)

    def namespaces(self) -> Sequence[str]:
        with self._slots.io():
            return self._inner.namespaces()


class _SlottedClusters(ScopedClusters):
    """ScopedClusters whose views give the CPU slot back around reads."""

    def __init__(self, inner: Clusters, scope: Scope, slots: CpuSlots) -> None:
        super().__init__(inner, scope)
        self._slots = slots

    def open(self, name: str | None = None, *, fresh: bool = False) -> Opened:
        with self._slots.io():  # the first open of a cluster loads a kubeconfig or parses a snapshot
            opened = super().open(name, fresh=fresh)
        return Opened(
            _YieldingView(opened.view, self._slots), opened.cluster_domain, opened.default_namespace
        )


# -- small stores ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Answer:
    """One question's answer as Slack messages (without buttons), and what the buttons need."""

    query: str
    user: str
    messages: tuple[dict[str, Any], ...]
    answered: bool
    """True when there is a Result (not an error or a refusal): only then can it be shared."""
    refused: bool = False
    pod: tuple[str, str] | None = None
    """(namespace, name) when the answer is about one pod: the Logs and Events buttons."""
    lang: str = DEFAULT_LANG
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:12])


class AnswerStore:
    """Recent answers by id, so Share reposts exactly what the asker saw. LRU with a TTL."""

    def __init__(self, size: int = 500, ttl: float = ANSWER_TTL_S) -> None:
        self._items: OrderedDict[str, tuple[float, Answer]] = OrderedDict()
        self._size, self._ttl = size, ttl
        self._lock = threading.Lock()

    def put(self, answer: Answer) -> None:
        with self._lock:
            self._items[answer.id] = (time.monotonic(), answer)
            while len(self._items) > self._size:
                self._items.popitem(last=False)

    def get(self, key: object) -> Answer | None:
        if not isinstance(key, str):
            return None
        with self._lock:
            hit = self._items.get(key)
            if hit is None or time.monotonic() - hit[0] > self._ttl:
                return None
            return hit[1]


class UserGroups:
    """Who is in a Slack user group (`usergroups.users.list`), cached for GROUP_TTL_S."""

    def __init__(self, web: WebClient, ttl: float = GROUP_TTL_S, slots: CpuSlots | None = None) -> None:
        self._web = web
        self._slots = slots or CpuSlots()
        self._ttl = ttl
        self._cache: dict[str, tuple[float, frozenset[str]]] = {}
        self._lock = threading.Lock()

    def members(self, group: str) -> frozenset[str]:
        with self._lock:
            hit = self._cache.get(group)
        if hit is not None and time.monotonic() < hit[0]:
            return hit[1]
        ttl = self._ttl
        try:
            with self._slots.io():
                resp = self._web.usergroups_users_list(usergroup=group)
            users = frozenset(str(u) for u in resp.get("users") or ())
        except SlackApiError as err:
            # Unknown group or missing scope: nobody is in it. Retry soon, not in 5 minutes.
            logs.event("slack.usergroup_failed", group=group, error=err.response.get("error"))
            users, ttl = frozenset(), 30
        with self._lock:
            self._cache[group] = (time.monotonic() + ttl, users)
        return users

    def is_member(self, user: str, group: str) -> bool:
        return user in self.members(group)


class _SeenEvents:
    """Event ids already answered: Slack redelivers an event when our 200 was late or lost."""

    def __init__(self, size: int = 1000) -> None:
        self._ids: OrderedDict[str, None] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def first_time(self, event_id: str) -> bool:
        with self._lock:
            if event_id in self._ids:
                return False
            self._ids[event_id] = None
            if len(self._ids) > self._size:
                self._ids.popitem(last=False)
            return True


# -- the Logs and Events buttons' reads -------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ContainerLog:
    name: str
    previous: bool
    text: str


def pod_logs(view: Any, namespace: str, pod: str, *, tail: int = LOG_TAIL) -> list[ContainerLog]:
    """Each container's previous-instance log tail (current when there is none), redacted and cut
    to fit one Slack section (the end is kept: that is where the crash is)."""
    obj = view.get("Pod", namespace, pod)
    if obj is None:
        raise NotFound("pod", pod, [namespace])
    names = [c.text("name") for c in obj.children("spec", "initContainers")]
    names += [c.text("name") for c in obj.children("spec", "containers")]
    restarted_init = {
        s.text("name") for s in obj.children("status", "initContainerStatuses") if s.num("restartCount")
    }
    out: list[ContainerLog] = []
    for i, name in enumerate(names):
        is_init = i < len(names) - len(obj.children("spec", "containers"))
        if is_init and name not in restarted_init:
            continue  # an init container that ran once: its log is rarely the story
        text = view.log(namespace, pod, name, previous=True, tail=tail)
        previous = text is not None
        if text is None:
            text = view.log(namespace, pod, name, previous=False, tail=tail)
        clean = redact(text or "").rstrip()
        if len(clean) > LOG_CHARS:
            clean = "…" + clean[-(LOG_CHARS - 1) :]
        out.append(ContainerLog(name, previous, clean.replace("```", "'''")))
    return out


def pod_events(view: Any, namespace: str, pod: str) -> list[str]:
    """The pod's events, oldest first, one data line each, as the columns of `kubectl get events`:
    `<last seen>  <type>  <reason>: <message> (xN)` (data only: the template words the header)."""
    obj = view.get("Pod", namespace, pod)
    if obj is None:
        raise NotFound("pod", pod, [namespace])
    now = view.taken_at or datetime.now(UTC)
    lines = []
    for ev in list(view.events(obj))[-MAX_EVENTS:]:
        count = ev.num("count") or ev.num("series", "count") or 1
        when = age(parse_time(event_time(ev)), now)
        msg = redact(" ".join(ev.text("message").split()))
        lines.append(f"{when}  {ev.text('type')}  {ev.text('reason')}: {msg} (x{count})")
    return lines


# -- the app ------------------------------------------------------------------------------------------


class SlackBot:
    """The Bolt App and everything its listeners share (clusters, policy, limiter, clients)."""

    def __init__(
        self,
        settings: Settings,
        clusters: Clusters,
        *,
        executor: ThreadPoolExecutor | None = None,
        rate_limiter: RateLimiter | None = None,
        answer_threads: int | None = None,
    ) -> None:
        if not settings.slack_bot_token:
            raise SettingsError("SLACK_BOT_TOKEN is not set (the bot token, xoxb-...)")
        self.settings = settings
        self.clusters = clusters
        self.policy = Policy.from_settings(settings)
        self.limiter = rate_limiter or limiter(settings)
        self.web = web_client(settings)
        # Fails fast on a wrong token or an unreachable SLACK_API_URL (raises SlackApiError/URLError).
        auth = self.web.auth_test()
        self.team_id: str | None = auth.get("team_id")
        self.bot_user_id: str | None = auth.get("user_id")
        self.executor = executor or ThreadPoolExecutor(
            max_workers=answer_threads or _answer_threads(settings), thread_name_prefix="k8s-answer"
        )
        self.answers = AnswerStore()
        self.slots = CpuSlots()
        self.groups = UserGroups(self.web, slots=self.slots)
        self._seen = _SeenEvents()
        self.app = App(
            name="k8s-bot",
            client=self.web,
            signing_secret=settings.slack_signing_secret.value,
            process_before_response=True,
            listener_executor=self.executor,
            logger=_bolt_logger(),
        )
        self.register(self.app)

    def register(self, app: App) -> None:
        """The listeners: the same set serves HTTP mode and Socket Mode."""
        app.command(COMMAND)(ack=self.ack_command, lazy=[self.answer_command])
        app.action(ACTION_SHARE)(ack=self.ack_action, lazy=[self.share])
        app.action(ACTION_REFRESH)(ack=self.ack_action, lazy=[self.refresh])
        app.action(ACTION_LOGS)(ack=self.ack_action, lazy=[self.logs])
        app.action(ACTION_EVENTS)(ack=self.ack_action, lazy=[self.events])
        app.event("app_mention")(ack=self.ack_event, lazy=[self.answer_mention])

    # -- acks: fast, no cluster reads --------------------------------------------------------------

    def ack_command(self, ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        team, user = str(body.get("team_id", "")), str(body.get("user_id", ""))
        text = str(body.get("text") or "").strip()
        verb = _verb(text)
        logs.event("slack.command", verb=verb, team=team, user=user, channel=body.get("channel_id"))
        lang = self.lang_for(Asker(team, user, str(body.get("channel_id", ""))), text)
        refusal = self._gate(team, user)
        if refusal is not None:
            context["k8s_done"] = True
            COMMANDS.labels(verb=verb, outcome=_outcome(refusal)).inc()
            ack(text=error_text(refusal, lang), response_type="ephemeral")
            return
        ack(text=render_file("slack/ack.txt.j2", lang, query=text).strip(), response_type="ephemeral")

    def ack_action(self, ack: Ack) -> None:
        ack()

    def ack_event(self, ack: Ack) -> None:
        ack()

    def lang_for(self, asker: Asker, query: str) -> str:
        """The language to answer this asker's question in (bot/i18n.py `choose`): the same choice
        dispatch makes, for the words said before or instead of an answer (acks, refusals)."""
        user_lang, channel_lang = self.policy.langs(asker)
        return i18n.choose(
            explicit=flag_lang(query),
            question=query,
            user=user_lang,
            channel=channel_lang,
            default=self.settings.lang,
        )

    def _gate(self, team: str, user: str) -> QueryError | None:
        """Workspace and rate limit: the checks that need no API call."""
        if not self.policy.team_allowed(team, self.team_id):
            return AccessDenied("team", team_id=team)
        verdict = self.limiter.check(f"{team}:{user}")
        if not verdict.allowed:
            return RateLimited(self.limiter.config, verdict.retry_after)
        return None

    # -- answering -----------------------------------------------------------------------------------

    def answer(self, asker: Asker, query: str, *, fresh: bool = False) -> Answer:
        """Answer one question inside what the asker may read here. Never raises."""
        with self.slots.held():
            return self._answer(asker, query, fresh=fresh)

    def _answer(self, asker: Asker, query: str, *, fresh: bool) -> Answer:
        try:
            parsed = parse(query)
        except QueryError:
            parsed = None  # dispatch words the usage error; nothing is read
        if parsed is None or parsed.verb == "help":
            binding = self.policy.binding(asker.channel_id)
            scope: Scope | AccessDenied = Scope(binding.cluster if binding else None, namespaces=frozenset())
        else:
            scope = self.policy.scope(
                asker,
                cluster_asked=parsed.cluster,
                namespace_asked=parsed.namespace,
                default_cluster=self.clusters.default,
                member_of=lambda group: self.groups.is_member(asker.user_id, group),
            )
        if isinstance(scope, AccessDenied):
            COMMANDS.labels(verb=parsed.verb if parsed else "unknown", outcome="refused").inc()
            logs.event("slack.refused", problem=scope.problem, user=asker.user_id, channel=asker.channel_id)
            lang = self.lang_for(asker, query)
            messages = tuple(error_slack(scope, lang))
            return Answer(query, asker.user_id, messages, answered=False, refused=True, lang=lang)
        user_lang, channel_lang = self.policy.langs(asker)
        outcome = ask(
            query,
            _SlottedClusters(self.clusters, scope, self.slots),
            user_lang=user_lang,
            channel_lang=channel_lang,
            default_lang=self.settings.lang,
            bound_namespace=scope.bound_namespace,
            fresh=fresh,
            observers=(observe_outcome,),
        )
        if outcome.result is None:
            assert outcome.error is not None
            messages = tuple(error_slack(outcome.error, outcome.lang))
            return Answer(query, asker.user_id, messages, answered=False, lang=outcome.lang)
        result = outcome.result
        pod = None
        t = result.target
        if result.verb == "why" and t is not None and t.kind == "Pod" and t.namespace and t.name:
            pod = (t.namespace, t.name)
        messages = tuple(to_slack(result, lang=outcome.lang))
        answer = Answer(query, asker.user_id, messages, answered=True, pod=pod, lang=outcome.lang)
        self.answers.put(answer)
        return answer

    def compose(
        self,
        answer: Answer,
        *,
        share: bool,
        shared_by: str | None = None,
        limit: int = MAX_REPLIES,
    ) -> list[dict[str, Any]]:
        """The answer's messages with a header (when shared) and buttons, within `limit` messages
        of at most MAX_BLOCKS blocks; what does not fit is cut with a pointer to the CLI."""
        with self.slots.held():
            return self._compose(answer, share=share, shared_by=shared_by, limit=limit)

    def _compose(
        self, answer: Answer, *, share: bool, shared_by: str | None, limit: int
    ) -> list[dict[str, Any]]:
        blocks = [b for m in answer.messages for b in m["blocks"]]
        if shared_by:
            blocks.insert(
                0, _json_template("slack/shared_by.json.j2", answer.lang, user=shared_by, query=answer.query)
            )
        actions = self._actions(answer, share=share, shared_by=shared_by) if not answer.refused else None
        room = limit * MAX_BLOCKS - (1 if actions else 0)
        if len(blocks) > room:
            blocks = [
                *blocks[: room - 1],
                _json_template("slack/truncated.json.j2", answer.lang, query=answer.query),
            ]
        if actions:
            blocks.append(actions)
        text = answer.messages[0]["text"] if answer.messages else answer.query
        chunks = [blocks[i : i + MAX_BLOCKS] for i in range(0, len(blocks), MAX_BLOCKS)] or [[]]
        return [
            {"text": text if i == 0 else f"{text[:200]} ({i + 1}/{len(chunks)})", "blocks": chunk}
            for i, chunk in enumerate(chunks)
        ]

    def _actions(self, answer: Answer, *, share: bool, shared_by: str | None) -> dict[str, Any] | None:
        q = answer.query
        wanted: list[tuple[str, str, dict[str, str]]] = []
        if share and answer.answered:
            wanted.append(("share", ACTION_SHARE, {"a": answer.id, "q": q}))
        refresh = {"q": q, "s": shared_by} if shared_by else {"q": q}
        wanted.append(("refresh", ACTION_REFRESH, refresh))
        if answer.pod is not None:
            ns, pod = answer.pod
            wanted.append(("logs", ACTION_LOGS, {"q": q, "ns": ns, "pod": pod}))
            wanted.append(("events", ACTION_EVENTS, {"q": q, "ns": ns, "pod": pod}))
        buttons = []
        for kind, action_id, value in wanted:
            encoded = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
            if len(encoded) <= MAX_BUTTON_VALUE:  # a question too long for a button gets none
                buttons.append({"kind": kind, "action_id": action_id, "value": encoded})
        if not buttons:
            return None
        return _json_template(
            "slack/actions.json.j2", answer.lang, block_id=f"k8s-{uuid.uuid4().hex[:10]}", buttons=buttons
        )

    # -- /k8s -----------------------------------------------------------------------------------------

    def answer_command(self, body: dict[str, Any], context: BoltContext) -> None:
        if context.get("k8s_done"):
            return
        asker = Asker(
            str(body.get("team_id", "")), str(body.get("user_id", "")), str(body.get("channel_id", ""))
        )
        url = str(body.get("response_url", ""))
        with self._guard(url):
            answer = self.answer(asker, str(body.get("text") or "").strip())
            self.reply(url, self.compose(answer, share=True), response_type="ephemeral")

    # -- buttons ----------------------------------------------------------------------------------

    def share(self, body: dict[str, Any]) -> None:
        asker, value, url = _action_parts(body)
        with self._guard(url, self.lang_for(asker, str(value.get("q", "")))):
            if not self.policy.team_allowed(asker.team_id, self.team_id):
                lang = self.lang_for(asker, str(value.get("q", "")))
                denied = error_slack(AccessDenied("team", team_id=asker.team_id), lang)
                self.reply(url, denied, response_type="ephemeral")
                return
            answer = self.answers.get(value.get("a"))
            if answer is None or answer.user != asker.user_id:
                # Evicted, another replica, or (never for an ephemeral) another user: ask again.
                answer = self.answer(asker, str(value.get("q", "")))
            if not answer.answered:
                self.reply(url, self.compose(answer, share=False), response_type="ephemeral")
                return
            messages = self.compose(answer, share=False, shared_by=asker.user_id, limit=MAX_REPLIES - 1)
            if self.reply(url, messages, response_type="in_channel"):
                self._post_response(url, {"delete_original": True})

    def refresh(self, body: dict[str, Any]) -> None:
        asker, value, url = _action_parts(body)
        with self._guard(url, self.lang_for(asker, str(value.get("q", "")))):
            if (denied := self._gate(asker.team_id, asker.user_id)) is not None:
                lang = self.lang_for(asker, str(value.get("q", "")))
                self.reply(url, error_slack(denied, lang), response_type="ephemeral")
                return
            answer = self.answer(asker, str(value.get("q", "")), fresh=True)
            if answer.refused:
                self.reply(url, list(answer.messages), response_type="ephemeral")
                return
            ephemeral = bool((body.get("container") or {}).get("is_ephemeral", True))
            shared_by = value.get("s") or None
            messages = self.compose(answer, share=ephemeral, shared_by=shared_by)
            self.reply(
                url,
                messages,
                response_type="ephemeral" if ephemeral else "in_channel",
                replace_first=True,
            )

    def logs(self, body: dict[str, Any]) -> None:
        self._pod_button(body, "logs")

    def events(self, body: dict[str, Any]) -> None:
        self._pod_button(body, "events")

    def _pod_button(self, body: dict[str, Any], what: str) -> None:
        asker, value, url = _action_parts(body)
        lang = self.lang_for(asker, str(value.get("q", "")))
        with self._guard(url, lang):
            if (denied := self._gate(asker.team_id, asker.user_id)) is not None:
                self.reply(url, error_slack(denied, lang), response_type="ephemeral")
                return
            ns, pod = str(value.get("ns", "")), str(value.get("pod", ""))
            cluster = None
            with contextlib.suppress(QueryError):
                cluster = parse(str(value.get("q", ""))).cluster
            scope = self.policy.scope(
                asker,
                cluster_asked=cluster,
                namespace_asked=ns,
                default_cluster=self.clusters.default,
                member_of=lambda group: self.groups.is_member(asker.user_id, group),
            )
            if isinstance(scope, AccessDenied):
                COMMANDS.labels(verb=what, outcome="refused").inc()
                self.reply(url, error_slack(scope, lang), response_type="ephemeral")
                return
            try:
                with self.slots.held():
                    messages = self._pod_messages(what, scope, cluster, ns, pod, lang=lang)
                COMMANDS.labels(verb=what, outcome="answered").inc()
            except QueryError as err:
                messages = error_slack(err, lang)
                COMMANDS.labels(verb=what, outcome="error").inc()
            self.reply(url, messages, response_type="ephemeral")

    def _pod_messages(
        self, what: str, scope: Scope, cluster: str | None, ns: str, pod: str, *, lang: str = DEFAULT_LANG
    ) -> list[dict[str, Any]]:
        view = _SlottedClusters(self.clusters, scope, self.slots).open(cluster).view
        if what == "logs":
            containers = pod_logs(view, ns, pod)
            blocks = _json_template_list(
                "slack/logs.json.j2", lang, ns=ns, pod=pod, tail=LOG_TAIL, containers=containers
            )
        else:
            lines = _newest_that_fit(pod_events(view, ns, pod), LOG_CHARS)
            blocks = _json_template_list("slack/events.json.j2", lang, ns=ns, pod=pod, lines=lines)
        # The notification text: the first block's own words (already in the asker's language).
        fallback = str(blocks[0].get("text", {}).get("text", f"{ns}/{pod}")) if blocks else f"{ns}/{pod}"
        return split_messages(blocks, fallback[:200], cli_hint=None, lang=lang)

    # -- @k8s-bot ----------------------------------------------------------------------------------

    def answer_mention(self, body: dict[str, Any], event: dict[str, Any]) -> None:
        event_id = str(body.get("event_id") or "")
        if event_id and not self._seen.first_time(event_id):
            return
        team = str(body.get("team_id") or event.get("team") or "")
        user, channel = str(event.get("user", "")), str(event.get("channel", ""))
        thread = str(event.get("thread_ts") or event.get("ts") or "") or None
        text = " ".join(_MENTION.sub(" ", str(event.get("text", ""))).split())
        logs.event("slack.mention", verb=_verb(text), team=team, user=user, channel=channel)
        lang = self.lang_for(Asker(team, user, channel), text)
        try:
            refusal = self._gate(team, user)
            if refusal is not None:
                COMMANDS.labels(verb=_verb(text), outcome=_outcome(refusal)).inc()
                self._post(
                    "chat_postEphemeral",
                    channel=channel,
                    user=user,
                    thread_ts=thread,
                    **error_slack(refusal, lang)[0],
                )
                return
            answer = self.answer(Asker(team, user, channel), text)
            if answer.refused:
                self._post(
                    "chat_postEphemeral", channel=channel, user=user, thread_ts=thread, **answer.messages[0]
                )
                return
            for message in self.compose(answer, share=False):
                self._post("chat_postMessage", channel=channel, thread_ts=thread, **message)
        except Exception:
            ref = uuid.uuid4().hex[:8]
            logs.exception("slack.mention_failed", ref=ref)
            try:
                self._post(
                    "chat_postMessage",
                    channel=channel,
                    thread_ts=thread,
                    **error_slack(InternalError(ref), lang)[0],
                )
            except Exception:
                logs.exception("slack.mention_failed", ref=ref, stage="report")

    # -- posting ------------------------------------------------------------------------------------

    def reply(
        self,
        response_url: str,
        messages: Sequence[dict[str, Any]],
        *,
        response_type: str,
        replace_first: bool = False,
    ) -> bool:
        """Post messages to a response_url (ephemeral or in_channel). True if all went through."""
        for i, message in enumerate(messages[:MAX_REPLIES]):
            body = {
                "text": message["text"],
                "blocks": message["blocks"],
                "response_type": response_type,
                "replace_original": replace_first and i == 0,
            }
            if not self._post_response(response_url, body):
                return False
        return True

    def _post_response(self, response_url: str, body: dict[str, Any]) -> bool:
        if not response_url.startswith(("https://", "http://")):
            logs.event("slack.no_response_url")
            return False
        client = WebhookClient(url=response_url, timeout=10, retry_handlers=retry_handlers())
        try:
            resp = client.send_dict(body)
        except Exception as err:  # connection errors after the retries
            SLACK_POSTS.labels(method="response_url", outcome="error").inc()
            logs.event("slack.respond_failed", error=type(err).__name__)
            return False
        ok = resp.status_code == 200
        SLACK_POSTS.labels(method="response_url", outcome="ok" if ok else "error").inc()
        if not ok:
            logs.event("slack.respond_failed", status=resp.status_code, body=resp.body[:200])
        return ok

    def _post(self, method: str, **kwargs: Any) -> None:
        name = method.replace("_", ".", 1)
        try:
            getattr(self.web, method)(**{k: v for k, v in kwargs.items() if v is not None})
        except SlackApiError as err:
            SLACK_POSTS.labels(method=name, outcome="error").inc()
            logs.event("slack.post_failed", method=name, error=err.response.get("error"))
            return
        SLACK_POSTS.labels(method=name, outcome="ok").inc()

    def _guard(self, response_url: str, lang: str | None = None) -> _Guard:
        return _Guard(self, response_url, lang or self.settings.lang)


class _Guard:
    """Around a lazy listener: a bug is logged with a ref and the asker told the ref, not silence."""

    def __init__(self, bot: SlackBot, response_url: str, lang: str) -> None:
        self._bot, self._url, self._lang = bot, response_url, lang

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None, tb: object) -> bool:
        if err is None or not isinstance(err, Exception):
            return False
        ref = uuid.uuid4().hex[:8]
        logs.exception("slack.answer_failed", ref=ref)
        try:
            self._bot.reply(self._url, error_slack(InternalError(ref), self._lang), response_type="ephemeral")
        except Exception:
            logs.exception("slack.answer_failed", ref=ref, stage="report")
        return True


def _action_parts(body: dict[str, Any]) -> tuple[Asker, dict[str, Any], str]:
    user = body.get("user") or {}
    team = str((body.get("team") or {}).get("id") or user.get("team_id") or "")
    channel = str(
        (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id") or ""
    )
    action = (body.get("actions") or [{}])[0]
    try:
        value = json.loads(action.get("value") or "{}")
    except ValueError:
        value = {}
    return (
        Asker(team, str(user.get("id", "")), channel),
        value if isinstance(value, dict) else {},
        str(body.get("response_url", "")),
    )


def _newest_that_fit(lines: list[str], budget: int) -> list[str]:
    """The newest lines whose total length fits `budget` (one Slack section), oldest first."""
    kept: list[str] = []
    used = 0
    for full in reversed(lines):
        line = full if len(full) <= 300 else full[:299] + "…"
        if used + len(line) + 1 > budget:
            break
        kept.append(line)
        used += len(line) + 1
    return kept[::-1]


def _answer_threads(settings: Settings) -> int:
    """`slack.answer_threads` (1-256), default DEFAULT_ANSWER_THREADS."""
    slack = settings.raw.get("slack") or {}
    value = slack.get("answer_threads", DEFAULT_ANSWER_THREADS) if isinstance(slack, dict) else None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 256:
        where = settings.config_file or "K8SBOT_CONFIG"
        raise SettingsError(f"{where}: slack.answer_threads must be a whole number from 1 to 256")
    return value


def _verb(text: str) -> str:
    try:
        return parse(text).verb
    except QueryError:
        return "unknown"


def _outcome(err: QueryError) -> str:
    return "rate_limited" if isinstance(err, RateLimited) else "refused"


def _json_template(name: str, lang: str, **context: object) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(render_file(name, lang, **context))
    return data


def _json_template_list(name: str, lang: str, **context: object) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads(render_file(name, lang, **context))
    return data

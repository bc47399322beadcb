"""Digests, the stateful part: what a channel was told last time, what changed, and the messages.

`handlers/digest.py` computes the current problems of a scope, each with a stable key. Here, per
channel (or per named schedule), a `DigestState` remembers the keys reported last time with when each
was first seen, and the last digest's time. The next digest is the diff:

    new       keys not in the state                         "new since the last digest"
    ongoing   keys in both, with how long                   "still ongoing (for 2d3h)"
    resolved  keys in the state, gone now                   "resolved"

A key whose kind could not be read this time (a PARTIAL- note) is neither ongoing nor resolved:
it is kept as it was, so a forbidden or failing list does not announce false recoveries.

The state lives in the cache backend (`bot/cache.py`): Redis with REDIS_URL, shared by every
replica and surviving restarts; in process otherwise. It only advances after the summary message
was posted, so a failed post is retried later with the same diff.

Messages: one summary (headline, counts, the top lines of each section, within Block Kit limits)
and the detail as thread replies (every problem with its evidence and next steps, split across
messages of at most 50 blocks). The words are in templates/slack/digest*.json.j2 and
templates/text/digest.txt.j2.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, tzinfo
from typing import Any

import orjson

from bot import logs
from bot.cache import Cache
from bot.catalogue import RenderedFinding, render_finding, render_note
from bot.i18n import DEFAULT_LANG
from bot.render import split_messages
from bot.templating import render_file
from handlers.model import Finding, Result
from handlers.objects import human_duration, parse_time

#: The state of a channel nobody reads for over a year is dropped (Redis keys need a TTL; every
#: digest rewrites it, so only abandoned schedules expire).
STATE_TTL_S = 400 * 24 * 3600
#: Lines per section of the summary message; the rest are counted and listed in the thread. Eight
#: lines (titles cut at 220 characters, plus the question to ask) keep the message readable at a
#: glance and a section under the 3000 characters Slack allows.
SUMMARY_LINES = 8


# -- the problems of one digest ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Problem:
    """One current problem: its identity, its words (rendered from the catalogue) and facts."""

    key: str
    code: str
    severity: str
    title: str
    ask: str
    since: datetime | None
    source: tuple[str, ...]
    rendered: RenderedFinding


@dataclass(frozen=True, slots=True)
class Current:
    """What a digest Result says: the headline and the problems, rendered."""

    result: Result
    summary: RenderedFinding
    summary_fields: Mapping[str, object]
    problems: tuple[Problem, ...]
    notes: tuple[str, ...]
    lang: str = DEFAULT_LANG

    @property
    def unread(self) -> frozenset[str]:
        value = self.summary_fields.get("unread") or ()
        return frozenset(str(v) for v in value) if isinstance(value, tuple | list) else frozenset()


def _field_str(f: Finding, name: str) -> str:
    value = f.fields.get(name)
    return "" if value is None else str(value)


def current(result: Result, lang: str = DEFAULT_LANG) -> Current:
    """Split a `digest` Result into the headline and the problems (the first finding is the summary),
    worded in `lang` (a problem's identity, `key`, does not depend on the language)."""
    if not result.findings or result.findings[0].code != "DIGEST-SUMMARY":
        raise ValueError("not a digest result")
    head, *rest = result.findings
    problems = []
    for f in rest:
        r = render_finding(f, lang)
        source = f.fields.get("source") or ()
        problems.append(
            Problem(
                key=_field_str(f, "key"),
                code=f.code,
                severity=r.severity,
                title=r.title,
                ask=_field_str(f, "ask"),
                since=parse_time(_field_str(f, "since")),
                source=tuple(str(s) for s in source) if isinstance(source, tuple) else (),
                rendered=r,
            )
        )
    return Current(
        result=result,
        summary=render_finding(head, lang),
        summary_fields=dict(head.fields),
        problems=tuple(problems),
        notes=tuple(render_note(n, lang) for n in result.notes),
        lang=lang,
    )


# -- state and diff -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Remembered:
    """A problem as the last digest reported it (enough to say it is resolved, and since when)."""

    key: str
    title: str
    severity: str
    ask: str
    first_seen: datetime
    source: tuple[str, ...] = ()

    def as_json(self) -> dict[str, object]:
        return {
            "title": self.title,
            "severity": self.severity,
            "ask": self.ask,
            "first_seen": _iso(self.first_seen),
            "source": list(self.source),
        }


@dataclass(frozen=True, slots=True)
class DigestState:
    """What one channel (schedule) was told: the problems with first-seen times, and when."""

    problems: Mapping[str, Remembered] = field(default_factory=dict)
    last_posted: datetime | None = None
    """When the last digest was posted: the start of the next digest's window."""
    last_fire: datetime | None = None
    """The last scheduled fire time handled (posted, or skipped as quiet)."""

    def encode(self) -> bytes:
        return orjson.dumps(
            {
                "version": 1,
                "last_posted": _iso(self.last_posted),
                "last_fire": _iso(self.last_fire),
                "problems": {k: r.as_json() for k, r in self.problems.items()},
            }
        )

    @classmethod
    def decode(cls, blob: bytes) -> DigestState:
        data = json.loads(blob)
        problems: dict[str, Remembered] = {}
        for key, raw in (data.get("problems") or {}).items():
            first = parse_time(str(raw.get("first_seen", "")))
            if first is None:
                continue
            problems[key] = Remembered(
                key=key,
                title=str(raw.get("title", key)),
                severity=str(raw.get("severity", "error")),
                ask=str(raw.get("ask", "")),
                first_seen=first,
                source=tuple(str(s) for s in raw.get("source") or ()),
            )
        return cls(
            problems=problems,
            last_posted=parse_time(str(data.get("last_posted") or "")),
            last_fire=parse_time(str(data.get("last_fire") or "")),
        )


def _iso(t: datetime | None) -> str | None:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if t is not None else None


@dataclass(frozen=True, slots=True)
class Diff:
    """Current problems against the state."""

    new: tuple[Problem, ...]
    ongoing: tuple[tuple[Problem, datetime], ...]
    """With the first time a digest for this channel reported it."""
    resolved: tuple[Remembered, ...]
    kept: tuple[Remembered, ...] = ()
    """Not seen now, but their kind could not be read: neither ongoing nor resolved."""

    @property
    def changed(self) -> bool:
        """Something to tell: a new problem or a resolved one (quiet mode posts only then)."""
        return bool(self.new or self.resolved)


def diff(state: DigestState, now: Current) -> Diff:
    """new / ongoing / resolved between what the channel was told and the current problems."""
    seen = {p.key for p in now.problems}
    new = tuple(p for p in now.problems if p.key not in state.problems)
    ongoing = tuple((p, state.problems[p.key].first_seen) for p in now.problems if p.key in state.problems)
    gone = [r for key, r in state.problems.items() if key not in seen]
    unread = now.unread
    kept = tuple(r for r in gone if unread & set(r.source or ("Pod",)))
    resolved = tuple(r for r in gone if r not in kept)
    return Diff(new=new, ongoing=ongoing, resolved=resolved, kept=kept)


def advance(state: DigestState, d: Diff, *, at: datetime, fire: datetime | None, posted: bool) -> DigestState:
    """The state after this digest: what is current now (first-seen kept), and when."""
    problems: dict[str, Remembered] = {}
    for p in d.new:
        problems[p.key] = Remembered(p.key, p.title, p.severity, p.ask, at, p.source)
    for p, first in d.ongoing:
        problems[p.key] = Remembered(p.key, p.title, p.severity, p.ask, first, p.source)
    for r in d.kept:
        problems[r.key] = r
    return DigestState(
        problems=problems,
        last_posted=at if posted else state.last_posted,
        last_fire=fire or state.last_fire,
    )


class StateStore:
    """DigestState per channel/schedule id in the cache backend (Redis or in process)."""

    def __init__(self, cache: Cache, prefix: str) -> None:
        self.cache = cache
        self.prefix = prefix

    def key(self, digest_id: str) -> str:
        return f"{self.prefix}:digest:{digest_id}:state"

    def load(self, digest_id: str) -> DigestState:
        """The state, or an empty one (first digest). Raises CacheUnavailable."""
        blob = self.cache.get(self.key(digest_id))
        if blob is None:
            return DigestState()
        try:
            return DigestState.decode(blob)
        except (ValueError, TypeError, AttributeError) as err:
            logs.event("digest.state_unreadable", id=digest_id, error=str(err))
            return DigestState()

    def save(self, digest_id: str, state: DigestState) -> None:
        self.cache.set(self.key(digest_id), state.encode(), STATE_TTL_S)


# -- what the templates get ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Line:
    """One problem line: the words, the question to ask next, how long, and the detail."""

    status: str  # current | new | ongoing | resolved
    severity: str
    title: str
    ask: str
    duration: str = ""
    detail: str = ""
    evidence: tuple[str, ...] = ()
    next_steps: tuple[str, ...] = ()
    key: str = ""


@dataclass(frozen=True, slots=True)
class DigestView:
    """Everything the digest templates render: headline, window, sections."""

    cluster: str
    headline: str
    headline_detail: str
    mode: str  # "current" (on demand: the problems now) | "diff" (new / ongoing / resolved)
    window: str
    """When the last digest was posted (local time), "" for the first."""
    window_ago: str = ""
    lang: str = DEFAULT_LANG
    current: tuple[Line, ...] = ()
    new: tuple[Line, ...] = ()
    ongoing: tuple[Line, ...] = ()
    resolved: tuple[Line, ...] = ()
    notes: tuple[str, ...] = ()
    kept: int = 0
    line_limit: int = SUMMARY_LINES

    @property
    def detail_lines(self) -> tuple[Line, ...]:
        return (*self.current, *self.new, *self.ongoing)


def _line(p: Problem, status: str, duration: str = "") -> Line:
    r = p.rendered
    return Line(status, p.severity, p.title, p.ask, duration, r.detail, r.evidence, r.next_steps, p.key)


def _since(p: Problem, first_seen: datetime, now: datetime) -> str:
    start = min(first_seen, p.since) if p.since is not None else first_seen
    return human_duration((now - start).total_seconds())


def view(
    cur: Current,
    d: Diff | None,
    *,
    now: datetime,
    last_posted: datetime | None = None,
    tz: tzinfo = UTC,
) -> DigestView:
    """The template context: `d` None for an on-demand digest (the problems now, no history)."""
    window, window_ago = "", ""
    if last_posted is not None:
        window = last_posted.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")
        window_ago = human_duration((now - last_posted).total_seconds())
    base = DigestView(
        lang=cur.lang,
        window_ago=window_ago,
        cluster=str(cur.summary_fields.get("cluster", "")),
        headline=cur.summary.title,
        headline_detail=cur.summary.detail,
        mode="current" if d is None else "diff",
        window=window,
        notes=cur.notes,
    )
    if d is None:
        lines = []
        for p in cur.problems:
            lines.append(
                _line(p, "current", human_duration((now - p.since).total_seconds()) if p.since else "")
            )
        return replace(base, current=tuple(lines))
    return replace(
        base,
        new=tuple(_line(p, "new") for p in d.new),
        ongoing=tuple(_line(p, "ongoing", _since(p, first, now)) for p, first in d.ongoing),
        resolved=tuple(
            Line("resolved", r.severity, r.title, r.ask, human_duration((now - r.first_seen).total_seconds()))
            for r in d.resolved
        ),
        kept=len(d.kept),
    )


def to_text(v: DigestView, lang: str | None = None) -> str:
    return render_file("text/digest.txt.j2", lang or v.lang, d=v).rstrip() + "\n"


@dataclass(frozen=True, slots=True)
class Messages:
    """The summary message and the thread replies, each {"text", "blocks"} within Block Kit limits."""

    summary: dict[str, Any]
    thread: tuple[dict[str, Any], ...]

    def as_json(self) -> dict[str, Any]:
        return {"summary": self.summary, "thread": list(self.thread)}


def to_slack(v: DigestView, lang: str | None = None) -> Messages:
    lang = lang or v.lang
    fallback = render_file("text/digest.txt.j2", lang, d=v, short=True).strip()
    summary_blocks: list[dict[str, Any]] = json.loads(render_file("slack/digest.json.j2", lang, d=v))
    summary = split_messages(summary_blocks, fallback, cli_hint="k8s-bot digest", lang=lang)
    if len(summary) != 1:  # the template keeps the summary to a handful of blocks
        raise ValueError(f"digest summary needs {len(summary)} messages")
    thread: list[dict[str, Any]] = []
    if v.detail_lines or v.resolved:
        detail_blocks: list[dict[str, Any]] = json.loads(
            render_file("slack/digest_detail.json.j2", lang, d=v)
        )
        thread = split_messages(detail_blocks, fallback[:200], cli_hint="k8s-bot digest", lang=lang)
    return Messages(summary[0], tuple(thread))


# -- posting --------------------------------------------------------------------------------------------


class PostFailed(Exception):
    """The summary message did not reach Slack after the client's retries."""


def post(web: Any, channel: str, messages: Messages) -> str:
    """Post the summary, then the detail in its thread. Returns the summary's ts.

    Raises PostFailed when the summary could not be posted (the caller keeps its state). A failed
    thread reply is logged and skipped: the digest itself is in the channel, posting it again would
    repeat it.
    """
    from slack_sdk.errors import SlackApiError

    try:
        resp = web.chat_postMessage(channel=channel, **messages.summary)
    except SlackApiError as err:
        raise PostFailed(f"chat.postMessage: {err.response.get('error')}") from None
    except OSError as err:  # connection errors the retry handler gave up on
        raise PostFailed(f"chat.postMessage: {getattr(err, 'reason', err)}") from None
    ts = str(resp.get("ts") or "")
    for i, reply in enumerate(messages.thread):
        try:
            web.chat_postMessage(channel=channel, thread_ts=ts, **reply)
        except (SlackApiError, OSError) as err:
            detail = err.response.get("error") if isinstance(err, SlackApiError) else str(err)
            logs.event("digest.thread_failed", channel=channel, part=i + 1, error=detail)
            break
    return ts

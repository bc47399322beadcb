"""Structured logs: one JSON object per line on stderr, with secrets redacted.

Log the verb and the target, not the text a user typed. `redact()` is also what answers pass log
tails through before showing them.
"""

from __future__ import annotations

import logging
import re
import sys
import traceback
from typing import Any

import orjson

_log = logging.getLogger("k8s_bot")

# Slack tokens, bearer tokens, JWTs, URL credentials, key=value secrets, private keys.
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\bx(?:ox[abposr]|app)-[A-Za-z0-9-]{8,}"), "xox*-***"),
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}"), r"\1 ***"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"), "***jwt***"),
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s:/@]+):[^\s@/]+@"), r"\1:***@"),
    (
        re.compile(
            r"(?i)((?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|client[_-]?secret"
            r"|authorization)[\"']?\s*[:=]\s*[\"']?)[^\s\"',;&]+"
        ),
        r"\1***",
    ),
    (
        re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----"),
        "-----PRIVATE KEY REDACTED-----",
    ),
    (re.compile(r"\bAKIA[0-9A-Z]{16}\b"), "AKIA***"),
)
_SECRET_KEYS = re.compile(r"(?i)token|secret|password|passwd|authorization|signature|cookie")


def redact(text: str) -> str:
    """Mask anything that looks like a credential."""
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    return text


def _clean(value: Any, key: str = "") -> Any:
    if key and _SECRET_KEYS.search(key):
        return "***"
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _clean(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def configure(level: str = "INFO") -> None:
    if not _log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(message)s"))
        _log.addHandler(handler)
        _log.propagate = False
    _log.setLevel(level)


def event(name: str, level: int = logging.INFO, **fields: Any) -> None:
    if not _log.isEnabledFor(level):
        return
    record = {"event": name, **{k: _clean(v, k) for k, v in fields.items() if v is not None}}
    _log.log(level, orjson.dumps(record, default=str).decode())


def exception(name: str, **fields: Any) -> None:
    event(name, logging.ERROR, error=redact(traceback.format_exc()), **fields)

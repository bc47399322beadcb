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

from handlers.redact import redact

__all__ = ["configure", "event", "exception", "redact"]

_SECRET_KEYS = re.compile(r"(?i)token|secret|password|passwd|authorization|signature|cookie")

_log = logging.getLogger("k8s_bot")


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

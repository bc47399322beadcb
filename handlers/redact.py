"""Masking credentials in text the bot shows or logs (log tails, event messages, our own logs).

Pure standard library so query modules can redact the evidence they quote.
"""

from __future__ import annotations

import re

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


def redact(text: str) -> str:
    """Mask anything that looks like a credential."""
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    return text

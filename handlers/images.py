"""Why an image pull failed, read from the kubelet's event message (`Failed to pull image "x": ...`).

The runtime's error text is the only place the cause is written down: containerd's
`failed to resolve reference ...: not found`, a registry's `401 Unauthorized`, `toomanyrequests`,
a DNS or TLS failure on the way. The classes below are ordered: the first that matches wins, so a
message naming both a 401 and a timeout is an authorization problem.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum


class PullProblem(StrEnum):
    """What an image pull failure comes down to."""

    RATE_LIMITED = "rate_limited"
    UNAUTHORIZED = "unauthorized"
    NOT_FOUND = "not_found"
    PLATFORM = "platform"  # the tag exists, but not for this node's OS/architecture
    UNREACHABLE = "unreachable"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class PullFailure:
    problem: PullProblem
    image: str
    #: The part of the message that decided the class (quoted as evidence).
    matched: str
    #: Docker Hub and some registries answer "does not exist or may require authorization" for both
    #: a missing repository and a private one without credentials: the two cannot be told apart.
    maybe_missing: bool = False
    #: For UNREACHABLE: dns | timeout | refused | tls | http (what failed on the way to the registry).
    network: str = ""


_RULES: tuple[tuple[PullProblem, re.Pattern[str]], ...] = (
    (PullProblem.RATE_LIMITED, re.compile(r"toomanyrequests|429 Too Many Requests|pull rate limit", re.I)),
    (
        PullProblem.UNAUTHORIZED,
        re.compile(
            r"401 Unauthorized|403 Forbidden|\b401\b|\b403\b|pull access denied|authorization failed"
            r"|no basic auth credentials|unauthorized: |failed to authorize|denied: |insufficient_scope"
            r"|may require 'docker login'|may require authorization",
            re.I,
        ),
    ),
    (PullProblem.PLATFORM, re.compile(r"no match for platform in manifest|no matching manifest for", re.I)),
    (
        PullProblem.NOT_FOUND,
        re.compile(
            r"manifest unknown|: not found|\bnot found\b|repository does not exist|name unknown"
            r"|manifest for \S+ not found",
            re.I,
        ),
    ),
    (
        PullProblem.UNREACHABLE,
        re.compile(
            r"no such host|i/o timeout|connection refused|connection timed out|no route to host"
            r"|network is unreachable|x509:|tls: |TLS handshake timeout|certificate"
            r"|server gave HTTP response to HTTPS client|context deadline exceeded|dial tcp",
            re.I,
        ),
    ),
)
#: Within a class, the phrase quoted as the cause: the most specific one, not the leftmost.
_SPECIFIC: dict[PullProblem, tuple[str, ...]] = {
    PullProblem.UNREACHABLE: (
        "no such host",
        "server misbehaving",
        "connection refused",
        "no route to host",
        "network is unreachable",
        "i/o timeout",
        "connection timed out",
        "TLS handshake timeout",
        "x509:",
        "server gave HTTP response to HTTPS client",
        "context deadline exceeded",
    ),
    PullProblem.RATE_LIMITED: ("toomanyrequests", "429 Too Many Requests"),
}

_IMAGE = re.compile(r'(?:Failed to pull image|Back-off pulling image|pulling image) "([^"]+)"', re.I)
_NETWORK = (
    ("dns", re.compile(r"no such host|server misbehaving|lookup \S+", re.I)),
    ("tls", re.compile(r"x509:|tls: |certificate", re.I)),
    ("http", re.compile(r"server gave HTTP response to HTTPS client", re.I)),
    ("refused", re.compile(r"connection refused", re.I)),
    ("timeout", re.compile(r"timeout|timed out|deadline exceeded|no route to host|unreachable", re.I)),
)


def image_in(message: str) -> str:
    """The image reference quoted in a pull event message, or ""."""
    m = _IMAGE.search(message)
    return m.group(1) if m else ""


def classify(message: str, image: str = "") -> PullFailure:
    """The class of a `Failed to pull image ...` message (UNKNOWN when nothing matches)."""
    image = image or image_in(message)
    for problem, pattern in _RULES:
        m = pattern.search(message)
        if m is None:
            continue
        network = ""
        if problem is PullProblem.UNREACHABLE:
            network = next((name for name, p in _NETWORK if p.search(message)), "")
        maybe_missing = problem is PullProblem.UNAUTHORIZED and bool(
            re.search(r"repository does not exist|may require", message, re.I)
        )
        matched = m.group(0)
        for phrase in _SPECIFIC.get(problem, ()):
            if phrase.lower() in message.lower():
                matched = phrase
                break
        return PullFailure(problem, image, matched.strip(": "), maybe_missing, network)
    return PullFailure(PullProblem.UNKNOWN, image, "")


def registry_of(image: str) -> str:
    """`registry.example.com:5000/a/b:1` -> `registry.example.com:5000`; Docker Hub for bare names."""
    first, sep, _ = image.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost"):
        return first
    return "docker.io"


#: The kubelet's warning when an imagePullSecret named on the pod does not exist in the namespace
#: (`Unable to retrieve some image pull secrets (regcred); attempting to pull the image may not
#: succeed.`, event reason FailedToRetrieveImagePullSecret).
MISSING_PULL_SECRETS = re.compile(r"Unable to retrieve some image pull secrets \(([^)]*)\)")


def missing_pull_secrets(message: str) -> list[str]:
    m = MISSING_PULL_SECRETS.search(message)
    if not m:
        return []
    return [s.strip() for s in m.group(1).split(",") if s.strip()]

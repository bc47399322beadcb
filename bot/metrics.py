"""Prometheus metrics named in the contract. One registry, served at GET /metrics."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

REGISTRY = CollectorRegistry(auto_describe=True)

COMMANDS = Counter(
    "k8sbot_commands", "Questions answered, by verb and outcome.", ["verb", "outcome"], registry=REGISTRY
)
COMMAND_DURATION = Histogram(
    "k8sbot_command_duration_seconds",
    "Time from question to answer.",
    ["verb"],
    registry=REGISTRY,
    # Chat answers: sub-second is the goal, 3 s is Slack's ack limit, 30 s is patience's end.
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 30),
)
CACHE_HITS = Counter("k8sbot_cache_hits", "Cluster reads served from the cache.", ["kind"], registry=REGISTRY)
CACHE_MISSES = Counter(
    "k8sbot_cache_misses", "Cluster reads that went to the API server.", ["kind"], registry=REGISTRY
)
CACHE_ERRORS = Counter(
    "k8sbot_cache_errors", "Cache backend failures (Redis down or slow).", ["op"], registry=REGISTRY
)
KUBE_REQUESTS = Counter(
    "k8sbot_kube_requests", "Requests sent to Kubernetes API servers.", ["cluster"], registry=REGISTRY
)
DIGESTS_POSTED = Counter(
    "k8sbot_digests_posted", "Scheduled digests posted to Slack.", ["channel"], registry=REGISTRY
)
DIGEST_FAILURES = Counter(
    "k8sbot_digest_failures", "Digest posts that failed (retried next tick).", ["channel"], registry=REGISTRY
)
SLACK_POSTS = Counter(
    "k8sbot_slack_posts",
    "Messages sent to Slack, by method and outcome.",
    ["method", "outcome"],
    registry=REGISTRY,
)


def exposition() -> tuple[bytes, str]:
    """The text format body and its content type."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def observe_outcome(outcome: object) -> None:
    """dispatch.Observer: count and time every answered question."""
    verb = getattr(outcome, "verb", "unknown")
    COMMANDS.labels(verb=verb, outcome=getattr(outcome, "outcome", "error")).inc()
    COMMAND_DURATION.labels(verb=verb).observe(float(getattr(outcome, "duration_s", 0.0)))

"""Shared test helpers: run the CLI as a user would (a subprocess), paths to fixtures, fake servers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
# `tests.fakes` is imported by its package name; pytest only puts tests/ itself on sys.path.
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

if TYPE_CHECKING:
    from tests.fakes.kube_api import FakeKube
FIXTURES = ROOT / "tests" / "fixtures"
EXAMPLE = ROOT / "examples" / "cluster"


@dataclass
class CliRun:
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def clean_env(**extra: str) -> dict[str, str]:
    """The environment a user would have: no Slack, no Redis, no kubeconfig unless given."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "K8SBOT_", "REDIS_", "KUBECONFIG"))
    }
    env["HOME"] = env.get("HOME", "/tmp")
    env["KUBECONFIG"] = "/nonexistent/kubeconfig"  # never the developer's real cluster
    env.update(extra)
    return env


def run_cli(*args: str, env: dict[str, str] | None = None, timeout: float = 60) -> CliRun:
    proc = subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=ROOT,
        env=env or clean_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return CliRun(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture
def cli() -> Any:
    return run_cli


@pytest.fixture
def fake_kube() -> Iterator[FakeKube]:
    """A started fake Kubernetes API server with no objects; call `.serve(paths)` to fill it."""
    from tests.fakes.kube_api import FakeKube

    with FakeKube.start() as kube:
        yield kube

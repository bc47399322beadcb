"""Shared test helpers: run the CLI as a user would (a subprocess), paths to fixtures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
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

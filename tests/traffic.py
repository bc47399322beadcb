"""Asking a question of a traffic fixture, from the snapshot file or through the fake API server.

Shared by the endpoints, trace and scrape tests (each runs every case both ways)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from tests.conftest import FIXTURES, CliRun, run_cli
from tests.fakes.kube_api import FakeKube

TRAFFIC = FIXTURES / "traffic"
#: A generous bound for one CLI run (the kubernetes client's import alone is slow on a busy box);
#: a bound for hangs, not a speed assertion.
TIMEOUT = 300


@dataclass
class Asker:
    """Asks one question of a fixture, from the snapshot file or through the fake API server."""

    kube: FakeKube | None

    def __call__(self, fixture: str, query: str, fmt: str = "json") -> CliRun:
        path = TRAFFIC / f"{fixture}.yaml"
        if self.kube is None:
            return run_cli("ask", query, "--snapshot", str(path), "--format", fmt, timeout=TIMEOUT)
        self.kube.serve(path)
        self.kube.reset_requests()
        return run_cli(
            "ask",
            query,
            "--kubeconfig",
            str(self.kube.kubeconfig),
            "--format",
            fmt,
            env=self.kube.env(),
            timeout=TIMEOUT,
        )

    @property
    def requests(self) -> int:
        return len(self.kube.requests) if self.kube else 0


@pytest.fixture(params=["snapshot", "api"])
def ask(request: pytest.FixtureRequest) -> Asker:
    return Asker(None if request.param == "snapshot" else request.getfixturevalue("fake_kube"))


def answer(run: CliRun) -> dict[str, Any]:
    assert run.returncode == 0, run.stderr
    data: dict[str, Any] = run.json()
    return data


def codes(data: dict[str, Any]) -> list[str]:
    return [f["code"] for f in data["findings"]]


def finding(data: dict[str, Any], code: str) -> dict[str, Any]:
    found = [f for f in data["findings"] if f["code"] == code]
    assert found, f"{code} not in {codes(data)}"
    return found[0]

"""Fault-suite fixtures: the fakes, and the whole system as real processes (always stopped after)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from flowpilot_shared.settings import CoreSettings
from tests.faults.system import Fakes, System
from tests.harness.infra import Infra
from tests.harness.relays import running_relays


@pytest.fixture
def fakes() -> Iterator[Fakes]:
    """SMTP, Slack and PSA fakes on loopback ports."""
    running = Fakes()
    yield running
    running.stop()


@pytest.fixture
def system(infra: Infra, fakes: Fakes, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[System]:
    """An unstarted system (call `.start()`); every process is stopped when the test ends.

    On failure the tail of each process' log is printed, so a scenario's failure says what the
    services saw.
    """
    running = System(infra=infra, fakes=fakes, log_dir=tmp_path)
    yield running
    running.stop()
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        for name, proc in running.procs.items():
            print(f"----- {name} log tail -----\n{proc.tail(40)}")


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Keep each phase's report on the item (fixtures read it to print logs on failure)."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture
async def handoff_relay(core_settings: CoreSettings) -> AsyncIterator[None]:
    """handoff-api's outbox relay alone, for a scenario that runs no handoff-api process but
    commits escalations."""
    async with running_relays(core_settings, "handoff-api"):
        yield

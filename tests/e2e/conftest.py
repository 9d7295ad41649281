"""End-to-end fixtures: the four services as real processes, the real nginx gateway, local fakes.

Everything is reached the way a front end and the outside world would: HTTP through the gateway,
SMTP to an aiosmtpd sink, Slack / Anthropic / ConnectWise wire formats on loopback servers.
The system is package-scoped: started once for tests/e2e (all of it on one xdist worker, group "e2e")
and stopped before that worker moves on, so its consumers never compete with other suites'
in-process consumers on the worker's vhost.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import httpx
import pytest
from playwright.async_api import async_playwright

from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS, Console
from tests.fakes._server import ThreadedApp
from tests.fakes.anthropic import DEFAULT_API_KEY, FakeAnthropic
from tests.fakes.psa import FakePsa
from tests.fakes.slack import FakeSlack
from tests.fakes.smtp import FakeSmtp
from tests.harness.infra import Infra
from tests.harness.processes import Gateway, ServiceProcess, nginx_available, service_env

PUBLIC_URL = "http://flowpilot.e2e.test"
SERVICES = ("handoff-api", "notifier", "docgen", "psa-sync")

# Fast everything: retries, outbox polling, heartbeats (DESIGN.md "Configuration" plus tuning knobs).
FAST = {
    "FLOWPILOT_ALLOW_LOOPBACK_INTEGRATIONS": "true",
    "FLOWPILOT_PUBLIC_URL": PUBLIC_URL,
    "FLOWPILOT_JWT_SECRET": "e2e-jwt-secret-0123456789abcdef0123456789",
    "FLOWPILOT_SECRET_KEY": "e2e-secret-key-0123456789abcdef0123456789",
    "FLOWPILOT_SSE_HEARTBEAT_SECONDS": "1",
    "FLOWPILOT_OUTBOX_POLL_SECONDS": "0.2",
    "FLOWPILOT_CONSUMER_RETRY_BASE_SECONDS": "0.05",
    "FLOWPILOT_CONSUMER_RETRY_MAX_SECONDS": "1",
    "FLOWPILOT_CHANNEL_RETRY_BASE_SECONDS": "0.05",
    "FLOWPILOT_CHANNEL_RETRY_MAX_SECONDS": "1",
    "FLOWPILOT_PSA_RETRY_BASE_SECONDS": "0.05",
    "FLOWPILOT_PSA_RETRY_MAX_SECONDS": "1",
    "FLOWPILOT_AI_MAX_RETRIES": "0",
    "FLOWPILOT_LOG_LEVEL": "INFO",
    # Small pools: the PostgreSQL of a dev box (max_connections 100) is shared with other suites.
    "FLOWPILOT_DB_POOL_SIZE": "3",
    "FLOWPILOT_DB_MAX_OVERFLOW": "7",
    "FLOWPILOT_CONSUMER_PREFETCH": "8",
    "FLOWPILOT_CHANNEL_PREFETCH": "4",
}

pytestmark = pytest.mark.e2e


@dataclass
class Fakes:
    """The outside world: SMTP sink, Slack Web API, Anthropic Messages API, ConnectWise (and friends)."""

    smtp: FakeSmtp
    slack: FakeSlack
    anthropic: FakeAnthropic
    psa: FakePsa
    servers: list[ThreadedApp] = field(default_factory=list)

    def stop(self) -> None:
        """Stop every fake server."""
        for server in self.servers:
            server.stop()
        self.slack.stop()
        self.smtp.stop()


def start_fakes() -> Fakes:
    """Start the fakes, each on its own loopback port and event-loop thread."""
    smtp = FakeSmtp().start()
    slack = FakeSlack()
    slack.start()
    anthropic = FakeAnthropic()
    anthropic_server = ThreadedApp(anthropic.app())
    anthropic_server.start()
    anthropic.base_url = anthropic_server.url
    psa = FakePsa()
    psa_server = ThreadedApp(psa.app())
    psa_server.start()
    psa.port = psa_server.port
    return Fakes(smtp, slack, anthropic, psa, servers=[anthropic_server, psa_server])


@dataclass
class System:
    """The running system: one replica of each service behind the gateway."""

    infra: Infra
    fakes: Fakes
    log_dir: Path
    services: dict[str, ServiceProcess] = field(default_factory=dict)
    gateway: Gateway | None = None

    def env(self) -> dict[str, str]:
        """The environment every service process gets."""
        return {
            **FAST,
            **service_env(self.infra, self.fakes.smtp, self.fakes.slack),
            "ANTHROPIC_BASE_URL": self.fakes.anthropic.base_url,
            "ANTHROPIC_API_KEY": DEFAULT_API_KEY,
        }

    @property
    def url(self) -> str:
        """The gateway: the only way the tests talk to the system."""
        assert self.gateway is not None
        return self.gateway.url

    def start(self) -> System:
        """Start the four services (in parallel), wait until each is ready, then the gateway."""
        for name in SERVICES:
            self.services[name] = ServiceProcess(name, self.env(), self.log_dir).start(wait=False)
        for process in self.services.values():
            process.wait_ready()
        self.gateway = Gateway(
            api=[f"127.0.0.1:{self.services['handoff-api'].port}"],
            notifier=[f"127.0.0.1:{self.services['notifier'].port}"],
            docgen=[f"127.0.0.1:{self.services['docgen'].port}"],
            workdir=self.log_dir / "gateway",
        ).start()
        return self

    def replace(self, name: str, *, unset: tuple[str, ...] = (), wait: bool = True) -> ServiceProcess:
        """Stop a service and start it again (same port), without the `unset` variables."""
        old = self.services[name]
        old.stop()
        new = ServiceProcess(name, self.env(), self.log_dir, port=old.port, unset=unset)
        self.services[name] = new.start(wait=wait)
        return new

    def stop(self) -> None:
        """Stop the gateway and every service (killing what does not stop)."""
        if self.gateway is not None:
            self.gateway.stop()
        for process in self.services.values():
            process.stop()

    def tails(self) -> str:
        """The end of every log, for a failing test's report."""
        parts = [f"----- {name} ({p.log_path}) -----\n{p.tail()}" for name, p in self.services.items()]
        if self.gateway is not None:
            parts.append(f"----- nginx error log -----\n{self.gateway.tail()}")
        return "\n".join(parts)


def pytest_configure(config: pytest.Config) -> None:
    """Know xdist's group mark even when xdist is off (`-p no:xdist`)."""
    config.addinivalue_line("markers", "xdist_group(name): run the group's tests on one xdist worker")
    # `pytest tests/e2e -n N` (plain --dist load) keeps the e2e group on one worker too: one system
    # per run, not one per worker fighting for two cores.
    if getattr(config.option, "dist", "no") == "load":
        config.option.dist = "loadgroup"
    # Workers re-read the command line ("load"): the controller tells them it runs loadgroup.
    if getattr(config, "workerinput", {}).get("flowpilot_loadgroup"):
        config.option.loadgroup = True


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """Pass the switch to loadgroup on to each xdist worker."""
    if node.config.option.dist == "loadgroup":
        node.workerinput["flowpilot_loadgroup"] = True


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Remember each phase's outcome on the item (for printing service logs on failure)."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


def in_ci() -> bool:
    """Whether this run is CI's (`CI` true, as `.ci/run` and CI services set it)."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def missing_prerequisite(reason: str) -> NoReturn:
    """A system package the e2e tests need is missing: in CI the run fails (a green run must have run
    them); elsewhere they are skipped, saying why."""
    if in_ci():
        pytest.fail(f"{reason}: CI must run the end-to-end tests", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="package")
def fakes() -> Iterator[Fakes]:
    """The fake outside world, for the e2e package."""
    started = start_fakes()
    yield started
    started.stop()


@pytest.fixture(scope="package")
def system(
    infra: Infra, fakes: Fakes, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> System:
    """All four services and the gateway, for the e2e package; stopped even when a test fails."""
    if not nginx_available():
        missing_prerequisite("nginx is not installed (apt-get install nginx-light; scripts/install.sh does)")
    running = System(infra=infra, fakes=fakes, log_dir=tmp_path_factory.mktemp("e2e"))
    request.addfinalizer(running.stop)
    try:
        running.start()
    except BaseException:
        print(running.tails())
        raise
    return running


@pytest.fixture(autouse=True)
def _logs_on_failure(request: pytest.FixtureRequest, system: System) -> Iterator[None]:
    """Print the tail of every service log when the test failed."""
    yield
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        print(system.tails())


@pytest.fixture
async def gw(system: System) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client on the gateway."""
    async with httpx.AsyncClient(base_url=system.url, timeout=30) as client:
        yield client


@pytest.fixture(scope="package")
def console_build() -> Path:
    """The web console's build (web/dist), built when missing or stale: the gateway serves it at /."""
    from tests.harness.processes import REPO

    subprocess.run(["bash", str(REPO / "scripts" / "build-web.sh")], check=True, cwd=REPO)
    dist = REPO / "web" / "dist"
    assert (dist / "index.html").is_file(), "scripts/build-web.sh left no web/dist/index.html"
    return dist


@pytest.fixture(scope="package")
def chromium() -> str:
    """Debian's chromium: Playwright's own browser builds cannot be downloaded here.

    Missing, the browser tests fail (in CI and elsewhere); they are never skipped."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (scripts/install.sh does)")
    return CHROMIUM


@pytest.fixture
async def console(system: System, console_build: Path, chromium: str) -> AsyncIterator[Console]:
    """Chromium on the running system's gateway; browser errors are printed when a test fails."""
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        running = Console(browser=browser, system=system)
        try:
            yield running
        finally:
            await running.close()

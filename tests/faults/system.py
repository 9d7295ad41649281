"""The whole system as real processes on this worker's database and vhost, with every fake around it."""

from __future__ import annotations

import asyncio
import contextlib
import random
import subprocess
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.fakes._server import ThreadedApp
from tests.fakes.psa import FakePsa
from tests.fakes.slack import FakeSlack
from tests.fakes.smtp import FakeSmtp
from tests.harness.infra import Infra
from tests.harness.people import API, Tenant, add_user, signup
from tests.harness.processes import ServiceProcess, service_env

SERVICES = ("handoff-api", "notifier", "docgen", "psa-sync")
SLACK_TOKEN = "xoxb-fault-suite-token"
SLACK_CHANNEL = "C0FAULTS"

# Fast retries so a fault heals within a test's time; the bounds stay those the code enforces.
FAST_ENV = {
    "FLOWPILOT_ALLOW_LOOPBACK_INTEGRATIONS": "true",
    "FLOWPILOT_RATE_LIMIT_PER_MINUTE": "0",
    "FLOWPILOT_OUTBOX_POLL_SECONDS": "0.2",
    "FLOWPILOT_CONSUMER_RETRY_BASE_SECONDS": "0.1",
    "FLOWPILOT_CONSUMER_RETRY_MAX_SECONDS": "1",
    "FLOWPILOT_CHANNEL_RETRY_BASE_SECONDS": "0.2",
    "FLOWPILOT_CHANNEL_RETRY_MAX_SECONDS": "1",
    "FLOWPILOT_PSA_RETRY_BASE_SECONDS": "0.2",
    "FLOWPILOT_PSA_RETRY_MAX_SECONDS": "1",
    "FLOWPILOT_LOG_LEVEL": "INFO",
    # PostgreSQL allows 100 connections here, shared by four services, the tests and whatever else
    # runs on the box: 12 each at most (the defaults, 20 + 20 per process, exhaust it under load).
    "FLOWPILOT_DB_POOL_SIZE": "8",
    "FLOWPILOT_DB_MAX_OVERFLOW": "4",
}


class Fakes:
    """SMTP, Slack and the PSA APIs on loopback ports, each in its own thread."""

    def __init__(self) -> None:
        self.smtp = FakeSmtp().start()
        self.slack = FakeSlack().start()
        self.psa = FakePsa()
        self._psa_server = ThreadedApp(self.psa.app())
        self.psa.port = self._psa_server.port
        self._psa_server.start()

    def stop(self) -> None:
        """Stop every fake."""
        for stop in (self.smtp.stop, self.slack.stop, self._psa_server.stop):
            with contextlib.suppress(Exception):
                stop()


@dataclass
class Escalation:
    """One escalation created through the API and what it should cause."""

    session_id: str
    handoff_id: str
    ticket_id: str


@dataclass
class Team:
    """A tenant whose owner escalates to three engineers, with Slack and ConnectWise configured."""

    tenant: Tenant
    seniors: list[Any] = field(default_factory=list)

    @property
    def recipient_emails(self) -> list[str]:
        """Who gets a bell row and an email for every escalation."""
        return [p.email for p in self.seniors]


@dataclass
class System:
    """Service processes sharing env; `api` talks to handoff-api, `notifier_url` to the notifier."""

    infra: Infra
    fakes: Fakes
    log_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    procs: dict[str, ServiceProcess] = field(default_factory=dict)

    def base_env(self) -> dict[str, str]:
        """Environment of every process: this worker's database and vhost, the fakes, fast retries."""
        return {
            **service_env(self.infra, self.fakes.smtp, self.fakes.slack),
            "ANTHROPIC_API_KEY": "",
            **FAST_ENV,
            **self.env,
        }

    def start(self, services: Iterable[str] = SERVICES, **extra: dict[str, str]) -> System:
        """Start the given services (all by default) and wait until each is ready."""
        for name in services:
            proc = ServiceProcess(
                name, {**self.base_env(), **extra.get(name.replace("-", "_"), {})}, self.log_dir
            )
            self.procs[name] = proc
            proc.start(wait=False)
        for proc in self.procs.values():
            proc.wait_ready(timeout=60)
        return self

    def stop(self) -> None:
        """Stop every process (SIGTERM, then SIGKILL)."""
        for proc in self.procs.values():
            with contextlib.suppress(Exception):
                proc.stop()

    def url(self, service: str) -> str:
        """Base URL of a running service."""
        return self.procs[service].url

    def client(self, service: str = "handoff-api", **kwargs: Any) -> httpx.AsyncClient:
        """An HTTP client bound to one service."""
        limits = httpx.Limits(max_connections=50, max_keepalive_connections=50)
        return httpx.AsyncClient(base_url=self.url(service), timeout=30, limits=limits, **kwargs)

    def logs(self) -> str:
        """Every process' log (those stopped and replaced too), for failure messages and secret scans."""
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.log_dir.glob("*.log")))


async def make_team(api: httpx.AsyncClient, fakes: Fakes, *, seniors: int = 3) -> Team:
    """Sign up, add engineers, configure Slack and ConnectWise on the fakes."""
    tenant = await signup(api)
    team = Team(tenant=tenant)
    for _ in range(seniors):
        team.seniors.append(await add_user(api, tenant, "engineer"))
    headers = tenant.owner.headers
    slack = await api.put(
        f"{API}/integrations/slack",
        headers=headers,
        json={"bot_token": SLACK_TOKEN, "channel_id": SLACK_CHANNEL},
    )
    assert slack.status_code == 200, slack.text
    psa = await api.put(
        f"{API}/integrations/psa",
        headers=headers,
        json=fakes.psa.integration(),
    )
    assert psa.status_code == 200, psa.text
    return team


def new_ticket_id() -> str:
    """A ticket number no other escalation of the run uses."""
    return str(random.randint(10**8, 10**9 - 1))


async def create_sessions(
    api: httpx.AsyncClient, team: Team, count: int, *, concurrency: int = 20
) -> list[tuple[str, str]]:
    """`count` sessions of the owner, each on its own ticket: [(session_id, ticket_id)]."""
    gate = asyncio.Semaphore(concurrency)

    async def one(i: int) -> tuple[str, str]:
        ticket = new_ticket_id()
        async with gate:
            response = await api.post(
                f"{API}/ai-sessions",
                headers=team.tenant.owner.headers,
                json={
                    "title": f"Fault {i} {uuid.uuid4().hex[:6]}",
                    "problem": "Outlook prompts for the password in a loop",
                    "client_name": "Contoso",
                    "psa_ticket_id": ticket,
                },
            )
        assert response.status_code == 201, response.text
        return response.json()["id"], ticket

    return list(await asyncio.gather(*(one(i) for i in range(count))))


async def escalate_one(api: httpx.AsyncClient, team: Team, session_id: str) -> httpx.Response:
    """POST /handoff (escalate, no target) as the owner."""
    return await api.post(
        f"{API}/ai-sessions/{session_id}/handoff",
        headers=team.tenant.owner.headers,
        json={"intent": "escalate", "reason": "Stuck after a profile rebuild"},
    )


async def escalate_all(
    api: httpx.AsyncClient, team: Team, sessions: list[tuple[str, str]], *, concurrency: int = 20
) -> list[Escalation]:
    """Escalate every session (asserting 201 each); the escalations made."""
    gate = asyncio.Semaphore(concurrency)

    async def one(session_id: str, ticket: str) -> Escalation:
        async with gate:
            response = await escalate_one(api, team, session_id)
        assert response.status_code == 201, response.text
        return Escalation(session_id=session_id, handoff_id=response.json()["id"], ticket_id=ticket)

    return list(await asyncio.gather(*(one(s, t) for s, t in sessions)))


def rabbitmqctl(infra: Infra, *args: str, timeout: float = 120) -> str:
    """Run rabbitmqctl; its stdout."""
    done = subprocess.run(
        [*infra.rabbitmqctl, *args], check=True, capture_output=True, timeout=timeout, text=True
    )
    return done.stdout


def consumer_queues(infra: Infra) -> dict[str, int]:
    """Consumers per queue of this worker's vhost (`rabbitmqctl list_consumers`)."""
    out = rabbitmqctl(
        infra, "list_consumers", "-p", infra.vhost, "queue_name", "--quiet", "--no-table-headers"
    )
    counts: dict[str, int] = {}
    for line in out.splitlines():
        name = line.split("\t", 1)[0].strip()
        if name:
            counts[name] = counts.get(name, 0) + 1
    return counts


def unacked_held(infra: Infra, queues: Iterable[str]) -> int:
    """Messages delivered from `queues` and not yet acknowledged, read from their consumers' channels.

    Current, unlike `list_queues`, whose counts for a quorum queue are refreshed on the queue's tick
    (seconds late). Each consumer here has a channel of its own, so a channel's count is its queue's.
    """
    wanted = set(queues)
    consumers = rabbitmqctl(
        infra,
        "list_consumers",
        "-p",
        infra.vhost,
        "queue_name",
        "channel_pid",
        "--quiet",
        "--no-table-headers",
    )
    rows = (line.split("\t") for line in consumers.splitlines())
    channels = {row[1] for row in rows if len(row) == 2 and row[0] in wanted}
    if not channels:
        return 0
    listing = rabbitmqctl(
        infra, "list_channels", "pid", "messages_unacknowledged", "--quiet", "--no-table-headers"
    )
    counts = (line.split("\t") for line in listing.splitlines())
    return sum(int(row[1]) for row in counts if len(row) == 2 and row[0] in channels and row[1].isdigit())


def queue_depths(infra: Infra) -> dict[str, int]:
    """Ready + unacknowledged messages per queue of this worker's vhost."""
    out = rabbitmqctl(
        infra,
        "list_queues",
        "-p",
        infra.vhost,
        "name",
        "messages",
        "--quiet",
        "--no-table-headers",
    )
    depths: dict[str, int] = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit():
            depths[parts[0]] = int(parts[1])
    return depths

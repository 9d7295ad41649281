"""psa-sync fixtures: the fake PSA, the app running for real, accounts with a PSA integration."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from aio_pika.abc import AbstractRobustConnection
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import select

from flowpilot_shared.broker.topology import PSA_SYNC_DOCUMENTATION, declare_queue
from flowpilot_shared.db import Database
from flowpilot_shared.events import DocumentationGenerated, HandoffEscalated
from flowpilot_shared.models import IntegrationKind, PsaPush
from psa_sync.app import create_app
from psa_sync.settings import PsaSyncSettings
from tests.fakes.psa import FakePsa
from tests.harness import factories
from tests.harness.factories import Team, make_escalation, make_team, set_integration
from tests.harness.infra import Infra
from tests.harness.relays import relays_besides
from tests.harness.waiting import wait_until

StartApp = Callable[..., AbstractAsyncContextManager[FastAPI]]


def make_settings(infra: Infra, **overrides: Any) -> PsaSyncSettings:
    """psa-sync settings for this worker's database and vhost, with fast retries."""
    values: dict[str, Any] = {
        "database_url": infra.database_url,
        "amqp_url": infra.amqp_url,
        "allow_loopback_integrations": True,
        "consumer_retry_base_seconds": 0.05,
        "consumer_retry_max_seconds": 1.0,
        "outbox_poll_seconds": 0.2,
        "psa_retry_base_seconds": 0.05,
        "psa_retry_max_seconds": 0.5,
        "psa_max_attempts": 4,
        "psa_timeout_seconds": 5.0,
    }
    values.update(overrides)
    return PsaSyncSettings(**values)


@pytest.fixture
def start_app(infra: Infra, amqp: AbstractRobustConnection) -> StartApp:
    """Run the psa-sync app (relay and consumer) in-process with the given setting overrides."""

    @asynccontextmanager
    async def start(**overrides: Any) -> AsyncIterator[FastAPI]:
        settings = make_settings(infra, **overrides)
        # Declare the queue first, so events staged before the consumer is up are not unroutable.
        channel = await amqp.channel()
        await declare_queue(channel, PSA_SYNC_DOCUMENTATION, settings.delivery_limit)
        await channel.close()
        app = create_app(settings)
        # The tests commit docgen's documentation events: docgen's relay (and the others') publish them.
        async with LifespanManager(app), relays_besides("psa-sync", settings):
            yield app

    return start


@pytest.fixture
async def psa_app(start_app: StartApp) -> AsyncIterator[FastAPI]:
    """The psa-sync app with default test settings."""
    async with start_app() as app:
        yield app


@dataclass
class Scenario:
    """An account with an escalated session, ready to receive documentation."""

    team: Team
    escalation: HandoffEscalated

    @property
    def account_id(self) -> uuid.UUID:
        return self.team.account.id


async def make_scenario(
    db: Database,
    fake: FakePsa | None,
    provider: str | None,
    *,
    ticket: str | None = "4711",
    base_url: str | None = None,
    credentials: dict[str, str] | None = None,
) -> Scenario:
    """A team, an escalated session on `ticket`, and (when `provider`) its PSA integration."""
    team = await make_team(db)
    escalation = await make_escalation(db, team, escalator=team.users[1], psa_ticket_id=ticket)
    if provider is not None:
        assert fake is not None
        await set_integration(
            db,
            PsaSyncSettings(),  # the secret key the app under test decrypts integrations with
            team,
            IntegrationKind.psa,
            provider=provider,
            config={"base_url": base_url or fake.base_url(provider)},
            secrets=credentials or fake.credentials(provider),
        )
    return Scenario(team=team, escalation=escalation)


def documentation_event(scenario: Scenario, content: str | None = None) -> DocumentationGenerated:
    """A documentation.generated event for the scenario's escalation (documentation id fabricated)."""
    esc = scenario.escalation
    default = f"## Escalation\nTried: profile rebuild. Session {esc.session_id}"
    return factories.documentation_event(esc, content=content or default)


async def push_row(db: Database, documentation_id: uuid.UUID) -> PsaPush | None:
    """The push row of one documentation."""
    async with db.sessions() as session:
        return (
            await session.execute(select(PsaPush).where(PsaPush.documentation_id == documentation_id))
        ).scalar_one_or_none()


async def settled_row(db: Database, documentation_id: uuid.UUID, timeout: float = 15.0) -> PsaPush:
    """Wait until the push row is no longer pending."""

    async def probe() -> PsaPush | None:
        row = await push_row(db, documentation_id)
        return row if row is not None and row.status != "pending" else None

    return await wait_until(probe, timeout=timeout, message=f"push of {documentation_id} settled")

"""docgen fixtures: settings on this worker's infra, the fake Anthropic server, running apps."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

import pytest
from aio_pika.abc import AbstractRobustConnection
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from sqlalchemy import select

from docgen.app import create_app
from docgen.consumer import CONSUMER_NAME
from docgen.settings import DocgenSettings
from flowpilot_shared.broker.topology import DOCGEN_ESCALATIONS
from flowpilot_shared.db import Database
from flowpilot_shared.models.documentation import Documentation, EscalationPackage
from flowpilot_shared.settings import CoreSettings
from tests.fakes.anthropic import FakeAnthropic
from tests.harness.broker import purge_queues
from tests.harness.relays import relays_besides
from tests.harness.waiting import wait_until

SettingsFactory = Callable[..., DocgenSettings]
Versioned = TypeVar("Versioned", Documentation, EscalationPackage)


@pytest.fixture
def docgen_settings(core_settings: CoreSettings, fake_anthropic: FakeAnthropic) -> SettingsFactory:
    """Build DocgenSettings pointing at the fake (override any field, e.g. anthropic_api_key=None)."""

    def build(**overrides: Any) -> DocgenSettings:
        values: dict[str, Any] = {
            **core_settings.model_dump(),
            "anthropic_api_key": fake_anthropic.api_key,
            "anthropic_base_url": fake_anthropic.base_url,
            "docgen_model": "claude-sonnet-4-5",
            "ai_timeout_seconds": 5.0,
            "ai_max_retries": 1,
            "ai_total_timeout_seconds": 20.0,
            **overrides,
        }
        # The Anthropic fields are read through their environment names (validation aliases).
        values["ANTHROPIC_API_KEY"] = values.pop("anthropic_api_key")
        values["ANTHROPIC_BASE_URL"] = values.pop("anthropic_base_url")
        return DocgenSettings(**values)

    return build


@pytest.fixture
async def purged_queue(amqp: AbstractRobustConnection, core_settings: CoreSettings) -> None:
    """Start each test with an empty docgen queue (tests share a vhost; leftovers are others')."""
    await purge_queues(amqp, (DOCGEN_ESCALATIONS,), core_settings.delivery_limit)


@contextlib.asynccontextmanager
async def running_docgen(settings: DocgenSettings) -> AsyncIterator[FastAPI]:
    """A docgen app with its lifespan running and its consumer attached to the queue."""
    app = create_app(settings)
    # The tests commit handoff-api's escalations: its relay (and the others') publish them.
    async with (
        LifespanManager(app, startup_timeout=30, shutdown_timeout=30),
        relays_besides("docgen", settings),
    ):
        await wait_until(lambda: _consuming(app), timeout=15, message="docgen consumer started")
        yield app


async def _consuming(app: FastAPI) -> bool:
    consumers = app.state.runtime.consumers
    return bool(consumers) and all(c.name == CONSUMER_NAME and c._channel is not None for c in consumers)


async def documentation_rows(db: Database, handoff_id: object) -> list[Documentation]:
    """Every documentation version of a handoff, oldest first."""
    return await _versions(db, Documentation, handoff_id)


async def package_rows(db: Database, handoff_id: object) -> list[EscalationPackage]:
    """Every escalation package version of a handoff, oldest first."""
    return await _versions(db, EscalationPackage, handoff_id)


async def _versions(db: Database, model: type[Versioned], handoff_id: object) -> list[Versioned]:
    async with db.sessions() as session:
        rows = await session.execute(
            select(model).where(model.handoff_id == handoff_id).order_by(model.version)
        )
        return list(rows.scalars())

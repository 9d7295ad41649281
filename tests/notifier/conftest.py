"""Notifier fixtures: real notifier apps served by uvicorn on loopback ports, tokens, event staging."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy import select

from flowpilot_shared.db import Database
from flowpilot_shared.events import (
    HandoffClaimed,
    HandoffClaimedData,
    HandoffEscalated,
    PsaPushFailed,
    PsaPushFailedData,
)
from flowpilot_shared.models import Notification, User
from flowpilot_shared.settings import CoreSettings
from notifier.app import create_app
from notifier.settings import NotifierSettings
from notifier.stream.hub import StreamHub
from tests.fakes.smtp import FakeSmtp
from tests.harness.factories import Team, following
from tests.harness.people import minted_headers
from tests.harness.relays import relays_besides
from tests.harness.waiting import wait_until


@dataclass
class RunningNotifier:
    """One notifier replica serving HTTP on a loopback port."""

    app: FastAPI
    server: uvicorn.Server
    base_url: str
    settings: NotifierSettings

    @property
    def hub(self) -> StreamHub:
        """This replica's stream hub."""
        hub: StreamHub = self.app.state.stream_hub
        return hub

    def url(self, path: str) -> str:
        """Absolute URL of an API path (`/api/v1` prefixed when relative to it)."""
        return f"{self.base_url}{path if path.startswith('/') else '/api/v1/' + path}"


@contextlib.asynccontextmanager
async def serve_notifier(
    settings: NotifierSettings, *, send_buffer: int | None = None
) -> AsyncIterator[RunningNotifier]:
    """Run `create_app(settings)` under uvicorn (lifespan included) until the block ends.

    `send_buffer` caps the kernel send buffer of accepted connections (they inherit it from the
    listening socket), so a client that stops reading backs up into the app quickly.
    """
    app = create_app(settings)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if send_buffer is not None:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, send_buffer)
    listener.bind(("127.0.0.1", 0))
    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, lifespan="on", log_level="warning", timeout_graceful_shutdown=2
    )
    server = uvicorn.Server(config)
    # Running a server in a task must not take over the test process' signal handlers.
    server.capture_signals = contextlib.nullcontext  # type: ignore[method-assign,assignment]
    task = asyncio.create_task(server.serve(sockets=[listener]))
    await wait_until(lambda: _started(server, task), timeout=15, message="uvicorn started")
    port = listener.getsockname()[1]
    running = RunningNotifier(app=app, server=server, base_url=f"http://127.0.0.1:{port}", settings=settings)
    async with httpx.AsyncClient() as client:

        async def ready() -> bool:
            return (await client.get(running.url("/readyz"))).status_code == 200

        await wait_until(ready, timeout=20, message="notifier ready")
    try:
        # The tests commit the other services' events (an escalation, its documentation) for the
        # notifier to take up: their relays publish them, as in a deployment.
        async with relays_besides("notifier", settings):
            yield running
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait_for(task, timeout=15)
        listener.close()


async def _started(server: uvicorn.Server, task: asyncio.Task[None]) -> bool:
    if task.done():
        task.result()  # surface the startup error
    return server.started


def notifier_settings_from(core: CoreSettings, **overrides: Any) -> NotifierSettings:
    """Notifier settings on this worker's database and vhost; channels retry fast and give up soon.

    The whole notifier runs here, email included: without the `smtp` fixture's sink an email fails
    quickly instead of holding the consumer (and the app's shutdown) in its retry backoff.
    """
    fast = {
        "channel_max_attempts": 2,
        "channel_retry_base_seconds": 0.05,
        "channel_retry_max_seconds": 0.2,
        "channel_deadline_seconds": 2.0,
        "channel_attempt_timeout_seconds": 1.5,
        "smtp_timeout_seconds": 2.0,
    }
    return NotifierSettings(**{**core.model_dump(), **fast, **overrides})


@pytest.fixture
def notifier_settings(core_settings: CoreSettings, smtp: FakeSmtp) -> NotifierSettings:
    """Default notifier settings for tests (email to the sink)."""
    return notifier_settings_from(core_settings, smtp_host=smtp.host, smtp_port=smtp.port)


@pytest.fixture
async def notifier(notifier_settings: NotifierSettings) -> AsyncIterator[RunningNotifier]:
    """One running notifier replica."""
    async with serve_notifier(notifier_settings) as running:
        yield running


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client for talking to running replicas."""
    async with httpx.AsyncClient(timeout=10.0) as client:
        yield client


@pytest.fixture
def token_for(core_settings: CoreSettings) -> Callable[[User], dict[str, str]]:
    """Authorization headers of a user."""

    def make(user: User) -> dict[str, str]:
        return minted_headers(core_settings, user)

    return make


def ids(items: list[dict[str, Any]], key: str = "id") -> set[uuid.UUID]:
    """The UUIDs under `key` of a list of JSON objects."""
    return {uuid.UUID(i[key]) for i in items}


def claimed_event(escalated: HandoffEscalated, *, claimer: User, team: Team) -> HandoffClaimed:
    """The claim of an escalation by `claimer`."""
    data = HandoffClaimedData(
        handoff_id=escalated.data.handoff_id,
        claimed_at=datetime.now(UTC),
        session_title=escalated.data.session.title,
        claimer=team.ref(claimer),
        escalator=escalated.data.escalator,
    )
    return following(escalated, HandoffClaimed, data)


def push_failed_event(escalated: HandoffEscalated, *, error: str) -> PsaPushFailed:
    """A failed PSA note push of an escalation's documentation."""
    data = PsaPushFailedData(
        push_id=uuid.uuid4(),
        documentation_id=uuid.uuid4(),
        handoff_id=escalated.data.handoff_id,
        provider="connectwise",
        ticket_id=escalated.data.session.psa_ticket_id,
        error=error,
        session_title=escalated.data.session.title,
        escalator=escalated.data.escalator,
    )
    return following(escalated, PsaPushFailed, data)


async def bell_rows(db: Database, event_id: uuid.UUID) -> list[Notification]:
    """Bell rows created for one event."""
    async with db.sessions() as session:
        rows = await session.execute(select(Notification).where(Notification.event_id == event_id))
        return list(rows.scalars())

"""Channel fixtures: the three fakes, notifier settings pointing at them, the channel consumers running."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from aio_pika.abc import AbstractRobustConnection
from fastapi import FastAPI
from prometheus_client import REGISTRY
from sqlalchemy import func, select, update

from flowpilot_shared.broker.topology import (
    NOTIFIER_CHAT,
    NOTIFIER_EMAIL,
    NOTIFIER_TEAMS,
    QueueSpec,
)
from flowpilot_shared.consumer import Consumer
from flowpilot_shared.db import Database
from flowpilot_shared.events import AnyEvent, HandoffClaimed, HandoffEscalated
from flowpilot_shared.models.integrations import IntegrationKind
from flowpilot_shared.models.notifications import Delivery, DeliveryStatus
from flowpilot_shared.service import ServiceRuntime
from flowpilot_shared.settings import CoreSettings
from notifier import channels
from notifier.deliveries.views import router
from notifier.settings import NotifierSettings
from tests.fakes.slack import FakeSlack
from tests.fakes.smtp import FakeSmtp
from tests.fakes.teams import FakeTeams
from tests.harness.broker import purge_queues
from tests.harness.factories import Team, make_team, set_integration


@pytest.fixture
def channel_settings(core_settings: CoreSettings, smtp: FakeSmtp, slack: FakeSlack) -> NotifierSettings:
    """Notifier settings on the fakes, with short retry backoff."""
    return NotifierSettings(
        **{
            **core_settings.model_dump(),
            "smtp_host": smtp.host,
            "smtp_port": smtp.port,
            "smtp_timeout_seconds": 3.0,
            "slack_api_url": slack.api_url,
            "slack_timeout_seconds": 5.0,
            "teams_timeout_seconds": 5.0,
            "channel_max_attempts": 10,
            "channel_retry_base_seconds": 0.2,
            "channel_retry_max_seconds": 1.0,
            "channel_deadline_seconds": 30.0,
            "channel_attempt_timeout_seconds": 10.0,
        }
    )


async def forget_earlier_events(
    db: Database, amqp: AbstractRobustConnection, settings: NotifierSettings, specs: Iterable[QueueSpec]
) -> None:
    """Empty these queues and mark every unpublished outbox row published: earlier tests' events
    never reach this test's fakes."""
    await purge_queues(amqp, specs, settings.delivery_limit)
    async with db.driver() as conn:
        await conn.execute("UPDATE outbox SET published_at = now() WHERE published_at IS NULL")


@pytest.fixture
async def channel_consumers(
    channel_settings: NotifierSettings, db: Database, amqp: AbstractRobustConnection
) -> AsyncIterator[list[Consumer]]:
    """The email, Slack and Teams consumers consuming this worker's vhost; earlier tests' events gone.

    Earlier tests on this worker share its database and vhost: their escalations left in the channel
    queues, or still unpublished in the outbox (for the next test's relay to publish), would be sent
    into this test's fakes.
    """
    runtime = ServiceRuntime(name="notifier-test", settings=channel_settings, db=db)
    consumers = channels.channel_consumers(runtime)
    await forget_earlier_events(db, amqp, channel_settings, (NOTIFIER_EMAIL, NOTIFIER_CHAT, NOTIFIER_TEAMS))
    for consumer in consumers:
        await consumer.start(amqp)
    yield consumers
    for consumer in consumers:
        await consumer.stop()


FINAL = {DeliveryStatus.sent, DeliveryStatus.failed, DeliveryStatus.skipped}


@dataclass
class Chat:
    """Where a team's chat messages go."""

    channel_id: str
    bot_token: str


async def configure_chat(
    db: Database,
    settings: NotifierSettings,
    team: Team,
    *,
    slack: FakeSlack | None = None,
    teams: FakeTeams | None = None,
    bot_token: str = "xoxb-flowpilot-test",
    signing_secret: str | None = None,
) -> Chat:
    """Save the team's Slack and/or Teams integrations pointing at the fakes (with a signing secret:
    interactive Pick up)."""
    chat = Chat(channel_id=f"C{uuid.uuid4().hex[:10].upper()}", bot_token=bot_token)
    if slack is not None:
        secrets = {"bot_token": bot_token} | ({"signing_secret": signing_secret} if signing_secret else {})
        await set_integration(
            db, settings, team, IntegrationKind.slack, config={"channel_id": chat.channel_id}, secrets=secrets
        )
    if teams is not None:
        await set_integration(
            db, settings, team, IntegrationKind.teams, config={}, secrets={"webhook_url": teams.webhook_url}
        )
    return chat


@pytest.fixture
async def team_on_slack(
    db: Database, channel_settings: NotifierSettings, slack: FakeSlack
) -> tuple[Team, Chat]:
    """An owner and one engineer whose account posts to the fake Slack."""
    team = await make_team(db, engineers=1)
    return team, await configure_chat(db, channel_settings, team, slack=slack)


def delivery_of(event: HandoffEscalated | HandoffClaimed, **fields: Any) -> Delivery:
    """A ledger row of the event (its account, session, handoff and event filled in)."""
    of_event = {
        "account_id": event.account_id,
        "session_id": event.session_id,
        "handoff_id": event.data.handoff_id,
        "event_id": event.id,
        "event_type": event.type,
    }
    return Delivery(**{**of_event, **fields})


async def deliveries(db: Database, event_id: uuid.UUID, channel: str | None = None) -> list[Delivery]:
    """Ledger rows of one event (optionally one channel)."""
    async with db.sessions() as session:
        query = select(Delivery).where(Delivery.event_id == event_id)
        if channel is not None:
            query = query.where(Delivery.channel == channel)
        return list((await session.execute(query.order_by(Delivery.recipient))).scalars())


async def all_final(db: Database, event_id: uuid.UUID, expected: int, channel: str | None = None) -> bool:
    """Whether the event has `expected` ledger rows (on `channel`), each sent, failed or skipped."""
    rows = await deliveries(db, event_id, channel)
    return len(rows) == expected and all(r.status in FINAL for r in rows)


async def cut_off(db: Database, event: AnyEvent, *, still_for: timedelta) -> None:
    """The event's Slack row as a process leaves it that died mid-call `still_for` ago: `pending`, no
    message id."""
    async with db.sessions() as session, session.begin():
        await session.execute(
            update(Delivery)
            .where(Delivery.event_id == event.id, Delivery.channel == "slack")
            .values(status="pending", external_id=None, updated_at=func.now() - still_for)
        )


def slack_status_is(db: Database, event: AnyEvent, status: str) -> Callable[[], Awaitable[bool]]:
    """A condition: the event's one Slack delivery row has `status`."""

    async def check() -> bool:
        return [r.status for r in await deliveries(db, event.id, "slack")] == [status]

    return check


def consumer_count(consumer: str, outcome: str) -> float:
    """flowpilot_consumer_messages_total for one consumer and outcome."""
    value = REGISTRY.get_sample_value(
        "flowpilot_consumer_messages_total", {"consumer": consumer, "outcome": outcome}
    )
    return value or 0.0


@pytest.fixture
async def deliveries_api(
    channel_settings: NotifierSettings, db: Database
) -> AsyncIterator[httpx.AsyncClient]:
    """The notifier's deliveries router, mounted as the notifier mounts it."""
    app = FastAPI()
    app.state.settings = channel_settings
    app.state.db = db
    app.include_router(router, prefix="/api/v1")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://notifier"
    ) as client:
        yield client

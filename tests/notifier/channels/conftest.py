"""Channel fixtures: the three fakes, notifier settings pointing at them, the channel consumers running."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass

import pytest
from aio_pika.abc import AbstractRobustConnection
from prometheus_client import REGISTRY
from sqlalchemy import select

from flowpilot_shared.broker.topology import NOTIFIER_CHAT, NOTIFIER_EMAIL, NOTIFIER_TEAMS, declare_queue
from flowpilot_shared.consumer import Consumer
from flowpilot_shared.db import Database
from flowpilot_shared.integrations import save_integration
from flowpilot_shared.models.integrations import IntegrationKind
from flowpilot_shared.models.notifications import Delivery
from flowpilot_shared.security.crypto import SecretBox
from flowpilot_shared.service import ServiceRuntime
from flowpilot_shared.settings import CoreSettings
from notifier.channels import build_channel_consumers
from notifier.settings import NotifierSettings
from tests.fakes.slack import FakeSlack
from tests.fakes.smtp import FakeSmtp
from tests.fakes.teams import FakeTeams
from tests.harness.factories import Team


@pytest.fixture
def smtp() -> Iterator[FakeSmtp]:
    """A running SMTP sink."""
    sink = FakeSmtp().start()
    yield sink
    sink.stop()


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    """A running fake Slack Web API."""
    fake = FakeSlack().start()
    yield fake
    fake.stop()


@pytest.fixture
def teams() -> Iterator[FakeTeams]:
    """A running fake Teams webhook."""
    fake = FakeTeams().start()
    yield fake
    fake.stop()


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
    consumers = build_channel_consumers(runtime)
    async with amqp.channel() as channel:
        for spec in (NOTIFIER_EMAIL, NOTIFIER_CHAT, NOTIFIER_TEAMS):
            queue = await declare_queue(channel, spec, channel_settings.delivery_limit)
            await queue.purge()
    async with db.driver() as conn:
        await conn.execute("UPDATE outbox SET published_at = now() WHERE published_at IS NULL")
    for consumer in consumers:
        await consumer.start(amqp)
    yield consumers
    for consumer in consumers:
        await consumer.stop()


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
    box = SecretBox(settings.secret_key)
    async with db.sessions() as session, session.begin():
        if slack is not None:
            await save_integration(
                session,
                account_id=team.account.id,
                kind=IntegrationKind.slack,
                provider=None,
                config={"channel_id": chat.channel_id},
                secrets={"bot_token": bot_token}
                | ({"signing_secret": signing_secret} if signing_secret else {}),
                box=box,
            )
        if teams is not None:
            await save_integration(
                session,
                account_id=team.account.id,
                kind=IntegrationKind.teams,
                provider=None,
                config={},
                secrets={"webhook_url": teams.webhook_url},
                box=box,
            )
    return chat


async def deliveries(db: Database, event_id: uuid.UUID, channel: str | None = None) -> list[Delivery]:
    """Ledger rows of one event (optionally one channel)."""
    async with db.sessions() as session:
        query = select(Delivery).where(Delivery.event_id == event_id)
        if channel is not None:
            query = query.where(Delivery.channel == channel)
        return list((await session.execute(query.order_by(Delivery.recipient))).scalars())


def consumer_count(consumer: str, outcome: str) -> float:
    """flowpilot_consumer_messages_total for one consumer and outcome."""
    value = REGISTRY.get_sample_value(
        "flowpilot_consumer_messages_total", {"consumer": consumer, "outcome": outcome}
    )
    return value or 0.0


def sync_probe(check: Callable[[], object]) -> Callable[[], Awaitable[object]]:
    """Wrap a plain callable (a fake's state) for `wait_until`."""

    async def probe() -> object:
        return check()

    return probe

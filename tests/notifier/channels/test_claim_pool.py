"""A claim waiting for its escalation's Slack message holds no pooled connection meanwhile (issue 24,
item 12): with a pool of one, the database stays usable while the update waits."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aio_pika.abc import AbstractRobustConnection

from flowpilot_shared.broker.topology import NOTIFIER_CHAT
from flowpilot_shared.consumer import Consumer
from flowpilot_shared.db import Database
from flowpilot_shared.service import ServiceRuntime
from notifier.channels.dispatch import channel_consumer
from notifier.channels.sending import LedgerAccess
from notifier.channels.slack import SlackChannel
from notifier.settings import NotifierSettings
from tests.fakes.slack import FakeSlack
from tests.harness.broker import publish_event
from tests.harness.factories import make_escalation, make_team
from tests.harness.waiting import wait_until
from tests.notifier.channels.conftest import (
    configure_chat,
    deliveries,
    forget_earlier_events,
    slack_status_is,
)
from tests.notifier.conftest import claimed_event


@pytest.fixture
async def chat_consumer(
    channel_settings: NotifierSettings, one_connection: Database, db: Database, amqp: AbstractRobustConnection
) -> AsyncIterator[tuple[Consumer, SlackChannel]]:
    """The Slack consumer alone, on the one-connection pool; earlier tests' messages gone."""
    runtime = ServiceRuntime(name="notifier-test", settings=channel_settings, db=one_connection)
    slack_channel = SlackChannel(channel_settings, NOTIFIER_CHAT)
    consumer = channel_consumer(slack_channel, runtime, channel_settings, LedgerAccess.of(one_connection))
    await forget_earlier_events(db, amqp, channel_settings, (NOTIFIER_CHAT,))
    await consumer.start(amqp)
    yield consumer, slack_channel
    await consumer.stop()


async def test_a_claim_waiting_for_the_slack_message_leaves_the_pool_usable(
    db: Database,
    one_connection: Database,
    amqp: AbstractRobustConnection,
    channel_settings: NotifierSettings,
    slack: FakeSlack,
    chat_consumer: tuple[Consumer, SlackChannel],
) -> None:
    team = await make_team(db, engineers=2)
    chat = await configure_chat(db, channel_settings, team, slack=slack)
    escalation = await make_escalation(db, team, escalator=team.users[1])
    claim = claimed_event(escalation, claimer=team.users[2], team=team)
    _, channel = chat_consumer
    waiting = asyncio.Event()
    pause = channel.pause

    async def noticed_pause(seconds: float) -> None:
        waiting.set()  # the claim is waiting for the escalation's message
        await pause(seconds)

    channel.pause = noticed_pause  # type: ignore[method-assign]
    slack.delay_seconds = 60.0  # chat.postMessage hangs: the escalation's message is being posted
    try:
        await publish_event(amqp, escalation)

        async def posting() -> bool:
            return [r.status for r in await deliveries(db, escalation.id, "slack")] == ["pending"]

        await wait_until(posting, timeout=15, message="the escalation's Slack message in flight")
        await publish_event(amqp, claim)
        await asyncio.wait_for(waiting.wait(), timeout=15)

        # The one connection is free: anything else of the process can use the database.
        async with asyncio.timeout(5), one_connection.driver() as conn:
            assert await conn.fetchval("SELECT 1") == 1
    finally:
        slack.delay_seconds = 0.0  # the message is posted; the waiting claim then updates it

    await wait_until(slack_status_is(db, claim, "sent"), timeout=20, message="claim delivered to Slack")
    (message,) = slack.in_channel(chat.channel_id)
    (update,) = slack.of("chat.update")
    assert update.body["ts"] == message.ts and team.users[2].name in update.body["text"]

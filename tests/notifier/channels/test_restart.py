"""A notifier stopping mid-retry gives the message back at once; the next process carries on, once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from aio_pika.abc import AbstractRobustConnection
from sqlalchemy import func, select

from flowpilot_shared.consumer import Consumer
from flowpilot_shared.consumer import runtime as consumer_runtime
from flowpilot_shared.db import Database
from flowpilot_shared.service import ServiceRuntime
from notifier import channels
from notifier.settings import NotifierSettings
from tests.fakes.smtp import FakeSmtp
from tests.harness.broker import publish_event
from tests.harness.factories import make_escalation, make_team
from tests.harness.waiting import wait_until
from tests.notifier.channels.conftest import deliveries

# Long, so a shutdown that waited out the backoff is told apart from one that did not by order (the
# stop ends before the next attempt was due) rather than by a clock bound a busy box could miss.
BACKOFF_SECONDS = 120.0


@pytest.fixture
def channel_settings(channel_settings: NotifierSettings) -> NotifierSettings:
    """The channel settings with the long backoff (and a deadline that leaves room for it)."""
    return channel_settings.model_copy(
        update={
            "channel_retry_base_seconds": BACKOFF_SECONDS,
            "channel_retry_max_seconds": BACKOFF_SECONDS,
            "channel_deadline_seconds": 4 * BACKOFF_SECONDS,
        }
    )


async def test_stop_during_backoff_then_restart_sends_once(
    db: Database,
    amqp: AbstractRobustConnection,
    channel_settings: NotifierSettings,
    channel_consumers: list[Consumer],
    smtp: FakeSmtp,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A stopping consumer's grace for in-flight work would cut a held backoff short anyway (at 20 s):
    # out of the way, only the backoff giving its message back can end the stop before it is over.
    monkeypatch.setattr(consumer_runtime, "STOP_GRACE_SECONDS", 2 * BACKOFF_SECONDS)
    team = await make_team(db, engineers=2)
    event = await make_escalation(db, team, escalator=team.users[1])
    smtp.stop()
    await publish_event(amqp, event)

    async def retrying() -> bool:
        rows = await deliveries(db, event.id, "email")
        return len(rows) == 2 and all(r.status == "retrying" for r in rows)

    await wait_until(retrying, timeout=10, message="emails waiting to retry")
    for consumer in channel_consumers:
        await consumer.stop()
    async with db.sessions() as session:
        stopped_at = await session.scalar(select(func.now()))
    rows = await deliveries(db, event.id, "email")
    # The backoff did not hold the shutdown: stopped before either email's next attempt was due.
    assert stopped_at < min(r.updated_at for r in rows) + timedelta(seconds=BACKOFF_SECONDS)
    assert all(r.status == "retrying" and r.attempts == 1 for r in rows)  # nothing in flight or given up

    smtp.start()
    runtime = ServiceRuntime(name="notifier-test-2", settings=channel_settings, db=db)
    replacements = channels.channel_consumers(runtime)
    for consumer in replacements:
        await consumer.start(amqp)
    try:

        async def sent() -> bool:
            return [r.status for r in await deliveries(db, event.id, "email")] == ["sent", "sent"]

        await wait_until(sent, timeout=15, message="emails sent by the next process")
    finally:
        for consumer in replacements:
            await consumer.stop()
    assert sorted(r for m in smtp.messages for r in m.rcpt_tos) == sorted(
        [team.owner.email.lower(), team.users[2].email.lower()]
    )
    assert all(r.attempts > 1 for r in await deliveries(db, event.id, "email"))

"""A Slack post retried after an attempt whose answer was lost: found in the channel, not posted twice."""

from __future__ import annotations

import pytest
from aio_pika.abc import AbstractRobustConnection

from flowpilot_shared.db import Database
from notifier.channels.slack_posts import POST_EVENT_TYPE
from tests.fakes.slack import FakeSlack
from tests.harness.broker import publish_event
from tests.harness.factories import Team, make_escalation
from tests.harness.waiting import wait_until
from tests.notifier.channels.conftest import Chat, deliveries

pytestmark = pytest.mark.usefixtures("channel_consumers")


async def _posted_after_a_lost_answer(
    db: Database, amqp: AbstractRobustConnection, slack: FakeSlack, team: Team
) -> object:
    """Slack posts the escalation but answers only after our timeout; then it answers at once."""
    event = await make_escalation(db, team, escalator=team.users[1])
    slack.answer_delay_seconds = 60.0
    await publish_event(amqp, event)

    async def retrying() -> bool:
        return [r.status for r in await deliveries(db, event.id, "slack")] == ["retrying"]

    await wait_until(retrying, timeout=20, message="the first post's answer timed out")
    slack.answer_delay_seconds = 0.0

    async def sent() -> bool:
        return [r.status for r in await deliveries(db, event.id, "slack")] == ["sent"]

    await wait_until(sent, timeout=20, message="the Slack delivery recorded as sent")
    return event


async def test_a_retry_finds_the_message_slack_took_and_posts_nothing(
    db: Database, amqp: AbstractRobustConnection, slack: FakeSlack, team_on_slack: tuple[Team, Chat]
) -> None:
    team, chat = team_on_slack
    event = await _posted_after_a_lost_answer(db, amqp, slack, team)
    [message] = slack.in_channel(chat.channel_id)
    assert message.metadata == {"event_type": POST_EVENT_TYPE, "event_payload": {"event_id": str(event.id)}}
    [row] = await deliveries(db, event.id, "slack")
    # The row names the one message, so a claim updates the message people see.
    assert row.external_id == f"{chat.channel_id}:{message.ts}" and row.attempts == 2
    assert len(slack.posts(chat.channel_id)) == 1 and len(slack.of("conversations.history")) == 1


async def test_without_the_history_scope_a_retry_posts_again(
    db: Database, amqp: AbstractRobustConnection, slack: FakeSlack, team_on_slack: tuple[Team, Chat]
) -> None:
    """The app was installed without `channels:history`: the retry cannot look, so it posts (the
    escalation is never lost for want of the scope; the channel may show it twice)."""
    team, chat = team_on_slack
    slack.no_history_tokens.add(chat.bot_token)
    event = await _posted_after_a_lost_answer(db, amqp, slack, team)
    _, second = sorted(slack.in_channel(chat.channel_id), key=lambda m: float(m.ts))
    [row] = await deliveries(db, event.id, "slack")
    assert row.external_id == f"{chat.channel_id}:{second.ts}"
    assert len(slack.of("conversations.history")) == 1

"""A Slack post retried after an attempt whose answer was lost, or cut off by a crash: found in the
channel, not posted twice; posted when it is not there; left alone when the channel cannot tell."""

from __future__ import annotations

from datetime import timedelta

import pytest
from aio_pika.abc import AbstractRobustConnection

from flowpilot_shared.db import Database
from flowpilot_shared.events import HandoffEscalated
from notifier.channels.ledger import CRASHED_IN_FLIGHT
from notifier.channels.slack_posts import POST_EVENT_TYPE
from notifier.settings import NotifierSettings
from tests.fakes.slack import FakeSlack
from tests.harness.broker import publish_event
from tests.harness.factories import Team, make_escalation
from tests.harness.waiting import wait_until
from tests.notifier.channels.conftest import Chat, consumer_count, cut_off, deliveries, delivery_of

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


async def _status_is(db: Database, event: HandoffEscalated, status: str) -> None:
    async def reached() -> bool:
        return [r.status for r in await deliveries(db, event.id, "slack")] == [status]

    await wait_until(reached, timeout=30, message=f"the Slack delivery recorded as {status}")


async def test_a_post_cut_off_by_a_crash_after_slack_took_it_is_found_not_posted_again(
    db: Database, amqp: AbstractRobustConnection, slack: FakeSlack, team_on_slack: tuple[Team, Chat]
) -> None:
    team, chat = team_on_slack
    event = await make_escalation(db, team, escalator=team.users[1])
    await publish_event(amqp, event)
    await _status_is(db, event, "sent")
    await cut_off(db, event, still_for=timedelta(hours=1))
    await publish_event(amqp, event)  # the crashed consumer's message, redelivered
    await _status_is(db, event, "sent")
    [message] = slack.in_channel(chat.channel_id)
    [row] = await deliveries(db, event.id, "slack")
    assert row.external_id == f"{chat.channel_id}:{message.ts}" and row.attempts == 1
    assert len(slack.of("conversations.history")) == 1


@pytest.mark.parametrize("history", ["readable", "without-scope"])
async def test_a_post_cut_off_by_a_crash_before_slack_took_it_is_posted_only_when_the_channel_says_so(
    db: Database,
    amqp: AbstractRobustConnection,
    slack: FakeSlack,
    team_on_slack: tuple[Team, Chat],
    history: str,
) -> None:
    team, chat = team_on_slack
    if history == "without-scope":
        slack.no_history_tokens.add(chat.bot_token)
    event = await make_escalation(db, team, escalator=team.users[1])
    async with db.sessions() as session, session.begin():
        session.add(
            delivery_of(event, channel="slack", recipient=chat.channel_id, status="pending", attempts=1)
        )
    await cut_off(db, event, still_for=timedelta(hours=1))
    dead_before = consumer_count("notifier.slack", "dead_lettered")
    done_before = consumer_count("notifier.slack", "duplicate")
    await publish_event(amqp, event)
    if history == "readable":
        await _status_is(db, event, "sent")
        [message] = slack.in_channel(chat.channel_id)
        [row] = await deliveries(db, event.id, "slack")
        assert row.external_id == f"{chat.channel_id}:{message.ts}" and row.attempts == 2
    else:
        # It may have gone out, and nothing can tell: on record, never risked twice.
        await _status_is(db, event, "failed")
        [row] = await deliveries(db, event.id, "slack")
        assert row.last_error == CRASHED_IN_FLIGHT and row.attempts == 1
        assert slack.in_channel(chat.channel_id) == []
        # Taken as a crash's leftover, not dead-lettered: a replay would not resend it either.
        await wait_until(
            lambda: consumer_count("notifier.slack", "duplicate") > done_before,
            timeout=15,
            message="the redelivery acknowledged",
        )
        assert consumer_count("notifier.slack", "dead_lettered") == dead_before


async def test_a_post_possibly_still_in_flight_elsewhere_is_judged_only_after_the_attempt_timeout(
    db: Database,
    amqp: AbstractRobustConnection,
    slack: FakeSlack,
    team_on_slack: tuple[Team, Chat],
    channel_settings: NotifierSettings,
) -> None:
    """A duplicate delivery meets a row another replica may be posting for right now: it waits until
    that call must have ended before it looks (a look too early would post a second message)."""
    team, chat = team_on_slack
    event = await make_escalation(db, team, escalator=team.users[1])
    async with db.sessions() as session, session.begin():
        session.add(
            delivery_of(event, channel="slack", recipient=chat.channel_id, status="pending", attempts=1)
        )
    timeout = channel_settings.channel_attempt_timeout_seconds
    await cut_off(db, event, still_for=timedelta(seconds=timeout - 3))
    [before] = await deliveries(db, event.id, "slack")
    await publish_event(amqp, event)
    await _status_is(db, event, "sent")
    [post] = slack.of("chat.postMessage")
    assert post.received_at >= before.updated_at.timestamp() + timeout

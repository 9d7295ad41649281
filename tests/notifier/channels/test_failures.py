"""Failing channels: retried with backoff when transient, recorded at once when not, never blocking others."""

from __future__ import annotations

import time
import uuid

import pytest
from aio_pika.abc import AbstractRobustConnection

from flowpilot_shared.db import Database
from flowpilot_shared.events import HandoffEscalated
from flowpilot_shared.models.notifications import DeliveryStatus
from notifier.settings import NotifierSettings
from tests.fakes.slack import FakeSlack
from tests.fakes.smtp import FakeSmtp
from tests.fakes.teams import FakeTeams
from tests.harness.broker import publish_event
from tests.harness.factories import Team, make_escalation, make_team
from tests.harness.waiting import wait_until
from tests.notifier.channels.conftest import (
    Chat,
    configure_chat,
    consumer_count,
    deliveries,
)

# Every test here runs with the channel consumers started (the fixture starts and stops them).
pytestmark = pytest.mark.usefixtures("channel_consumers")


async def statuses(db: Database, event_id: uuid.UUID, channel: str) -> list[str]:
    return [r.status for r in await deliveries(db, event_id, channel)]


async def settled_as(
    db: Database, event_id: uuid.UUID, channel: str, expected: list[str], *, timeout: float, message: str
) -> None:
    """Wait until the event's deliveries on `channel` stand at `expected` (by recipient)."""

    async def reached() -> bool:
        return await statuses(db, event_id, channel) == expected

    await wait_until(reached, timeout=timeout, message=message)


async def escalated(db: Database, amqp: AbstractRobustConnection, team: Team) -> HandoffEscalated:
    """An escalation by the team's first engineer, published as the relay would."""
    event = await make_escalation(db, team, escalator=team.users[1])
    await publish_event(amqp, event)
    return event


async def test_smtp_down_then_back_sends_each_email_once_without_delaying_slack(
    db: Database,
    amqp: AbstractRobustConnection,
    channel_settings: NotifierSettings,
    smtp: FakeSmtp,
    slack: FakeSlack,
) -> None:
    team = await make_team(db, engineers=3)
    chat = await configure_chat(db, channel_settings, team, slack=slack)
    event = await make_escalation(db, team, escalator=team.users[1])
    smtp.stop()
    await publish_event(amqp, event)

    await wait_until(lambda: slack.posts(chat.channel_id), timeout=10, message="Slack posted")

    async def emails_retrying() -> bool:
        rows = await deliveries(db, event.id, "email")
        return len(rows) == 3 and all(r.status == "retrying" and r.attempts >= 1 for r in rows)

    await wait_until(emails_retrying, timeout=10, message="emails waiting to retry")
    assert smtp.messages == []
    back_at = time.time()
    smtp.start()

    await settled_as(db, event.id, "email", ["sent"] * 3, timeout=20, message="emails sent once SMTP is back")
    assert sorted(r for m in smtp.messages for r in m.rcpt_tos) == sorted(
        u.email.lower() for u in team.users if u != team.users[1]
    )
    assert len(smtp.messages) == 3
    rows = await deliveries(db, event.id, "email")
    assert all(r.attempts > 1 and r.last_error is not None for r in rows)  # the retry is on record
    assert slack.posts(chat.channel_id)[0].received_at < back_at  # Slack never waited for SMTP


async def test_a_shared_message_refused_as_a_whole_is_sent_again_to_each_alone(
    db: Database, amqp: AbstractRobustConnection, smtp: FakeSmtp
) -> None:
    """The recipients' shared message gets a 4xx at DATA: nobody got it, so each is tried again on
    their own record, and each ends up with exactly one email."""
    team = await make_team(db, engineers=2)
    event = await make_escalation(db, team, escalator=team.users[1])
    smtp.fail_next(1, "451 4.3.0 Try again later")
    await publish_event(amqp, event)

    await settled_as(db, event.id, "email", ["sent", "sent"], timeout=20, message="both sent on retry")
    expected = sorted(u.email.lower() for u in team.users if u != team.users[1])
    assert smtp.received() == expected
    assert [m.rcpt_tos for m in sorted(smtp.messages, key=lambda m: m.rcpt_tos)] == [[e] for e in expected]
    rows = await deliveries(db, event.id, "email")
    assert all(r.attempts == 2 and "451" in (r.last_error or "") for r in rows)
    # Each retry is the same message as the one refused: one Message-ID, the event's.
    assert {r.external_id for r in rows} == {m.headers["Message-ID"] for m in smtp.messages}
    assert len({r.external_id for r in rows}) == 1


async def test_a_resend_after_a_timeout_the_server_had_accepted_is_the_same_message(
    db: Database, amqp: AbstractRobustConnection, smtp: FakeSmtp
) -> None:
    """The server answers DATA only after our timeout: the message was in fact taken, and the retry
    sends it again. Both copies carry one Message-ID, so the recipient's mail client shows it once."""
    team = await make_team(db, engineers=1)
    event = await make_escalation(db, team, escalator=team.users[0])
    smtp.answer_delay_seconds = 60.0
    await publish_event(amqp, event)

    async def timed_out() -> bool:
        return any("Timeout" in (r.last_error or "") for r in await deliveries(db, event.id, "email"))

    await wait_until(timed_out, timeout=20, message="the first attempt timed out")
    smtp.answer_delay_seconds = 0.0
    await settled_as(db, event.id, "email", ["sent"], timeout=20, message="sent on retry")
    [recipient] = event.data.recipients
    address = recipient.email.lower()
    assert len(smtp.to(address)) == 2
    [row] = await deliveries(db, event.id, "email")
    assert {m.headers["Message-ID"] for m in smtp.to(address)} == {row.external_id}


async def test_smtp_4xx_is_retried_and_5xx_fails_at_once(
    db: Database,
    amqp: AbstractRobustConnection,
    smtp: FakeSmtp,
) -> None:
    team = await make_team(db, engineers=2)
    event = await make_escalation(db, team, escalator=team.users[1])
    bad = team.users[2].email.lower()
    # Both in the first message: one refused for good, one for now (retried alone).
    smtp.reject_recipient(bad, "550 5.1.1 No such user")
    smtp.reject_recipient(team.owner.email, "451 4.2.1 Mailbox busy", times=1)
    dead_before = consumer_count("notifier.email", "dead_lettered")
    await publish_event(amqp, event)

    async def settled() -> bool:
        return sorted(await statuses(db, event.id, "email")) == ["failed", "sent"]

    await wait_until(settled, timeout=15, message="one sent, one failed")
    rows = {r.recipient: r for r in await deliveries(db, event.id, "email")}
    assert rows[bad].attempts == 1 and "550" in (rows[bad].last_error or "")
    assert rows[team.owner.email.lower()].attempts == 2
    assert len(smtp.messages) == 1
    # A failed delivery dead-letters the event (visible, replayable); the sent one is not repeated.
    await wait_until(
        lambda: consumer_count("notifier.email", "dead_lettered") > dead_before,
        timeout=10,
        message="event dead-lettered",
    )


async def test_slack_429_with_retry_after_then_200_posts_once(
    db: Database, amqp: AbstractRobustConnection, slack: FakeSlack, team_on_slack: tuple[Team, Chat]
) -> None:
    team, chat = team_on_slack
    slack.rate_limit(retry_after=1, times=1)
    event = await escalated(db, amqp, team)
    await settled_as(db, event.id, "slack", ["sent"], timeout=15, message="Slack delivery sent")
    calls = slack.posts(chat.channel_id)
    assert len(calls) == 2  # the 429, then the accepted one
    assert calls[1].received_at - calls[0].received_at >= 0.9  # Retry-After honoured
    assert len(slack.in_channel(chat.channel_id)) == 1


async def test_slack_rate_limited_past_the_sdk_retry_is_retried_by_the_ledger(
    db: Database, amqp: AbstractRobustConnection, slack: FakeSlack, team_on_slack: tuple[Team, Chat]
) -> None:
    team, chat = team_on_slack
    slack.rate_limit(retry_after=1, times=2)
    slack.script(500, {"ok": False, "error": "internal_error"})
    event = await escalated(db, amqp, team)
    await settled_as(db, event.id, "slack", ["sent"], timeout=20, message="Slack delivery sent")
    (row,) = await deliveries(db, event.id, "slack")
    assert row.attempts == 3  # 429 twice (one SDK retry), 500, then accepted
    assert len(slack.in_channel(chat.channel_id)) == 1


async def test_slack_invalid_auth_fails_without_retries_and_email_is_unaffected(
    db: Database,
    amqp: AbstractRobustConnection,
    channel_settings: NotifierSettings,
    slack: FakeSlack,
    smtp: FakeSmtp,
) -> None:
    team = await make_team(db, engineers=1)
    slack.invalid_tokens.add("xoxb-revoked")
    chat = await configure_chat(db, channel_settings, team, slack=slack, bot_token="xoxb-revoked")
    event = await escalated(db, amqp, team)
    await settled_as(db, event.id, "slack", ["failed"], timeout=10, message="Slack delivery failed")
    (row,) = await deliveries(db, event.id, "slack")
    assert row.attempts == 1 and "invalid_auth" in (row.last_error or "")
    assert "xoxb-revoked" not in (row.last_error or "")
    assert len(slack.posts(chat.channel_id)) == 1
    await wait_until(lambda: statuses(db, event.id, "email"), timeout=10, message="email row")
    await wait_until(lambda: smtp.to(team.owner.email), timeout=10, message="email still sent")


async def test_teams_5xx_is_retried_and_4xx_is_final(
    db: Database,
    amqp: AbstractRobustConnection,
    channel_settings: NotifierSettings,
    teams: FakeTeams,
) -> None:
    team = await make_team(db, engineers=1)
    await configure_chat(db, channel_settings, team, teams=teams)
    teams.fail(503, times=1)
    teams.fail(429, times=1, retry_after=1)
    first = await escalated(db, amqp, team)
    await settled_as(db, first.id, "teams", ["sent"], timeout=15, message="Teams card sent after retries")
    (row,) = await deliveries(db, first.id, "teams")
    assert row.attempts == 3 and len(teams.cards()) == 1

    teams.fail(404, times=1)
    second = await escalated(db, amqp, team)
    await settled_as(
        db,
        second.id,
        "teams",
        [DeliveryStatus.failed.value],
        timeout=10,
        message="Teams 404 recorded as failed",
    )
    (row,) = await deliveries(db, second.id, "teams")
    assert row.attempts == 1 and "404" in (row.last_error or "")
    assert "sig=" not in (row.last_error or "")  # the webhook URL carries a signature: never recorded

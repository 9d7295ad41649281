"""Who gets an email, a Slack post and a Teams card for an escalation, exactly once."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from email.utils import parseaddr, parsedate_to_datetime

import pytest
from aio_pika.abc import AbstractRobustConnection
from sqlalchemy import update

from flowpilot_shared.db import Database
from flowpilot_shared.events import HandoffEscalated
from flowpilot_shared.models import User
from flowpilot_shared.outbox.relay import OutboxRelay
from notifier.channels.ledger import CRASHED_IN_FLIGHT
from notifier.settings import NotifierSettings
from tests.fakes.slack import FakeSlack
from tests.fakes.smtp import FakeSmtp
from tests.fakes.teams import FakeTeams
from tests.harness.broker import publish_event
from tests.harness.factories import make_escalation, make_team
from tests.harness.waiting import wait_until
from tests.notifier.channels.conftest import (
    all_final,
    configure_chat,
    consumer_count,
    deliveries,
    delivery_of,
)
from tests.shared.outbox_checks import running

# Every test here runs with the channel consumers started (the fixture starts and stops them).
pytestmark = pytest.mark.usefixtures("channel_consumers")


async def test_escalation_reaches_three_seniors_one_slack_one_teams(
    db: Database,
    channel_settings: NotifierSettings,
    smtp: FakeSmtp,
    slack: FakeSlack,
    teams: FakeTeams,
) -> None:
    team = await make_team(db, engineers=3, viewers=1, inactive=1)
    other = await make_team(db, engineers=2)
    chat = await configure_chat(db, channel_settings, team, slack=slack, teams=teams)
    _owner, escalator, engineer_1, engineer_2, viewer, deactivated = team.users
    # The real path: handoff-api's handoff writes the event (recipients chosen by its own rule) to the
    # outbox with the escalation, and the relay publishes it.
    event = await make_escalation(db, team, escalator=escalator, staged=True)
    async with running(OutboxRelay(db=db, settings=channel_settings, name="test-relay")):
        await wait_until(lambda: all_final(db, event.id, 5), timeout=20, message="5 deliveries final")

    # The owner and the other two active engineers: not the viewer, the deactivated engineer, the
    # escalator, nor anyone of another account.
    assert (viewer.role, deactivated.is_active) == ("viewer", False)
    expected = {team.owner.email.lower(), engineer_1.email.lower(), engineer_2.email.lower()}
    # One message carries them all (each an envelope recipient, all named in To), each exactly once.
    assert sorted(r for m in smtp.messages for r in m.rcpt_tos) == sorted(expected)
    assert len(smtp.messages) == 1
    (message,) = smtp.messages
    assert all(u.email.lower() in message.to.lower() for u in (team.owner, engineer_1, engineer_2))
    rows = await deliveries(db, event.id, "email")
    assert {r.recipient: r.status for r in rows} == dict.fromkeys(expected, "sent")
    assert {r.external_id for r in rows} == {message.headers["Message-ID"]}
    nobody_else = [u for u in [*team.users, *other.users] if u.email.lower() not in expected]
    for user in nobody_else:
        assert smtp.to(user.email) == []
    link = f"{channel_settings.public_url}/pilot/{event.session_id}?pickup=true"
    for mail in smtp.messages:
        assert "Outlook cannot connect" in mail.subject
        assert link in mail.text and link.replace("&", "&amp;") in mail.html
        assert "Contoso" in mail.text and "Stuck after profile rebuild" in mail.text
        assert escalator.name in mail.text and "2 steps" in mail.text

    posts = slack.posts()
    assert len(posts) == 1 and posts[0].body["channel"] == chat.channel_id
    assert posts[0].token == chat.bot_token
    button = posts[0].body["blocks"][-1]["elements"][0]
    assert button["text"]["text"] == "Pick up" and button["url"] == link
    assert "Outlook cannot connect" in posts[0].body["text"]

    cards = teams.cards()
    assert len(cards) == 1
    assert cards[0]["version"] == "1.4"
    assert cards[0]["actions"] == [{"type": "Action.OpenUrl", "title": "Pick up", "url": link}]

    rows = await deliveries(db, event.id)
    assert sorted((r.channel, r.status) for r in rows) == sorted(
        [("email", "sent")] * 3 + [("slack", "sent"), ("teams", "sent")]
    )
    assert all(r.attempts == 1 and r.session_id == event.session_id for r in rows)
    slack_row = next(r for r in rows if r.channel == "slack")
    assert slack_row.recipient == chat.channel_id and slack_row.external_id == f"{chat.channel_id}:" + (
        slack.in_channel(chat.channel_id)[0].ts
    )
    assert next(r for r in rows if r.channel == "teams").recipient == "webhook"


async def test_email_carries_any_script_intact(
    db: Database,
    amqp: AbstractRobustConnection,
    channel_settings: NotifierSettings,
    smtp: FakeSmtp,
) -> None:
    title = "Écran noir chez Zoë, 打印机 🖨"
    team = await make_team(db, engineers=1)
    target = team.users[1]
    event = await make_escalation(
        db,
        team,
        escalator=team.users[0],
        target=target,
        title=title,
        steps=[("action", "Redémarré le spouleur <b>deux fois</b>")],
    )
    await publish_event(amqp, event)
    await wait_until(lambda: smtp.messages, timeout=15, message="one email")
    assert len(smtp.messages) == 1
    mail = smtp.messages[0]
    assert title in mail.subject
    assert title in mail.text and "Redémarré le spouleur <b>deux fois</b>" in mail.text
    assert "Redémarré le spouleur &lt;b&gt;deux fois&lt;/b&gt;" in mail.html
    assert mail.headers["Content-Type"].startswith("multipart/alternative")
    # The headers a mail client and an MTA need, the recipient named, the row's Message-ID.
    assert mail.to == f"{target.name} <{target.email.lower()}>"
    assert mail.mail_from == parseaddr(channel_settings.smtp_from)[1]
    assert mail.headers["From"] == channel_settings.smtp_from
    assert parsedate_to_datetime(mail.headers["Date"]).tzinfo is not None
    assert mail.headers["X-FlowPilot-Event-ID"] == str(event.id)
    await wait_until(lambda: all_final(db, event.id, 1, "email"), timeout=15, message="the email recorded")
    [row] = await deliveries(db, event.id, "email")
    # One Message-ID per event (a resend is the same message), in the sender's domain.
    domain = parseaddr(channel_settings.smtp_from)[1].rpartition("@")[2]
    assert row.external_id == mail.headers["Message-ID"] == f"<escalation.{event.data.handoff_id}@{domain}>"
    assert "In-Reply-To" not in mail.headers


async def test_targeted_escalation_emails_only_the_target(
    db: Database,
    amqp: AbstractRobustConnection,
    channel_settings: NotifierSettings,
    smtp: FakeSmtp,
) -> None:
    team = await make_team(db, engineers=3)
    target = team.users[2]
    event = await make_escalation(db, team, escalator=team.users[1], target=target)
    await publish_event(amqp, event)
    # One email, plus visible `skipped` rows for the unconfigured Slack and Teams.
    await wait_until(lambda: all_final(db, event.id, 3), timeout=15, message="deliveries final")
    assert [m.rcpt_tos for m in smtp.messages] == [[target.email.lower()]]
    rows = {(r.channel, r.recipient): r for r in await deliveries(db, event.id)}
    assert rows[("email", target.email.lower())].status == "sent"
    assert rows[("slack", "-")].status == "skipped" and rows[("slack", "-")].last_error
    assert rows[("teams", "-")].status == "skipped"


async def _deactivated(db: Database, event: HandoffEscalated, person: User) -> None:
    async with db.sessions() as session, session.begin():
        await session.execute(update(User).where(User.id == person.id).values(is_active=False))


async def _crashed_mid_send(db: Database, event: HandoffEscalated, person: User) -> None:
    # A `pending` row means a process died mid-send: the email may have gone, so it is not resent.
    async with db.sessions() as session, session.begin():
        pending = delivery_of(
            event, channel="email", recipient=person.email.lower(), status="pending", attempts=1
        )
        session.add(pending)


@pytest.mark.parametrize(
    ("since_the_escalation", "row_says"),
    [
        (_deactivated, {"status": "skipped", "attempts": 0}),
        (_crashed_mid_send, {"status": "failed", "last_error": CRASHED_IN_FLIGHT, "attempts": 1}),
    ],
    ids=["recipient-deactivated", "call-in-flight-at-a-crash"],
)
async def test_a_recipient_not_to_be_emailed_now_gets_no_email_and_a_row_saying_why(
    db: Database,
    amqp: AbstractRobustConnection,
    smtp: FakeSmtp,
    since_the_escalation: Callable[[Database, HandoffEscalated, User], Awaitable[None]],
    row_says: dict[str, object],
) -> None:
    team = await make_team(db, engineers=2)
    event = await make_escalation(db, team, escalator=team.users[1])
    spared = team.users[2]
    await since_the_escalation(db, event, spared)
    await publish_event(amqp, event)
    await wait_until(lambda: all_final(db, event.id, 4), timeout=15, message="deliveries final")
    assert [m.rcpt_tos for m in smtp.messages] == [[team.owner.email.lower()]]
    row = next(r for r in await deliveries(db, event.id, "email") if r.recipient == spared.email.lower())
    assert {field: getattr(row, field) for field in row_says} == row_says


async def test_republished_event_sends_nothing_twice(
    db: Database,
    amqp: AbstractRobustConnection,
    channel_settings: NotifierSettings,
    smtp: FakeSmtp,
    slack: FakeSlack,
    teams: FakeTeams,
) -> None:
    team = await make_team(db, engineers=2)
    await configure_chat(db, channel_settings, team, slack=slack, teams=teams)
    event = await make_escalation(db, team, escalator=team.users[1])
    await publish_event(amqp, event)
    await wait_until(lambda: all_final(db, event.id, 4), timeout=15, message="deliveries final")
    before = {n: consumer_count(f"notifier.{n}", "duplicate") for n in ("email", "slack", "teams")}

    await publish_event(amqp, event)
    await publish_event(amqp, event)

    async def both_seen_as_duplicates() -> bool:
        return all(consumer_count(f"notifier.{n}", "duplicate") >= before[n] + 2 for n in before)

    await wait_until(both_seen_as_duplicates, timeout=15, message="duplicates acknowledged")
    assert len(smtp.received()) == 2
    assert len(slack.posts()) == 1
    assert len(teams.cards()) == 1
    assert all(r.attempts == 1 and r.status == "sent" for r in await deliveries(db, event.id))


async def test_copies_arriving_together_send_once_and_record_it_as_sent(
    db: Database, amqp: AbstractRobustConnection, smtp: FakeSmtp
) -> None:
    """A second copy of the event while the first is still sending: not taken for a crash's leftovers."""
    team = await make_team(db, engineers=2)
    event = await make_escalation(db, team, escalator=team.users[1])
    smtp.delay_seconds = 1.0  # the first copy's send is in flight when the second copy arrives
    await publish_event(amqp, event)
    await publish_event(amqp, event)
    await wait_until(lambda: len(smtp.received()) == 2, timeout=15, message="both emails sent")
    await wait_until(lambda: all_final(db, event.id, 2, "email"), timeout=15, message="email rows final")
    rows = await deliveries(db, event.id, "email")
    assert [(r.status, r.attempts, r.last_error) for r in rows] == [("sent", 1, None)] * 2
    assert sorted(r for m in smtp.messages for r in m.rcpt_tos) == sorted(r.recipient for r in rows)


async def test_emails_reuse_smtp_sessions(
    db: Database,
    amqp: AbstractRobustConnection,
    smtp: FakeSmtp,
) -> None:
    team = await make_team(db, engineers=3)
    events = [await make_escalation(db, team, escalator=team.users[1]) for _ in range(4)]
    for event in events:
        await publish_event(amqp, event)
        await wait_until(lambda e=event: all_final(db, e.id, 5), timeout=15, message="deliveries final")
    # Three recipients per escalation, twelve emails in four messages: no more sessions than sent at once.
    assert len(smtp.received()) == 12 and len(smtp.messages) == 4
    rows = [r for e in events for r in await deliveries(db, e.id, "email")]
    assert len(rows) == 12 and all(r.status == "sent" and r.attempts == 1 for r in rows)
    assert len({m.peer for m in smtp.messages}) <= 3

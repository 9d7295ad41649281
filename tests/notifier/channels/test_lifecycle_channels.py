"""Rounds, final notices and releases on email, Slack and Teams, exactly once each."""

from __future__ import annotations

import json

from aio_pika.abc import AbstractRobustConnection

from flowpilot_shared.db import Database
from flowpilot_shared.events import HandoffEscalated
from notifier.settings import NotifierSettings
from tests.fakes.slack import FakeSlack
from tests.fakes.smtp import FakeSmtp
from tests.fakes.teams import FakeTeams
from tests.harness.broker import publish_event
from tests.harness.factories import Team, make_escalation, make_team
from tests.harness.waiting import wait_until
from tests.notifier.channels.conftest import Chat, all_final, configure_chat, consumer_count
from tests.notifier.conftest import claimed_event
from tests.notifier.lifecycle_events import released_event, round_event, with_urgency


async def _posted_escalation(
    db: Database,
    amqp: AbstractRobustConnection,
    settings: NotifierSettings,
    slack: FakeSlack,
    teams: FakeTeams,
) -> tuple[Team, Chat, HandoffEscalated]:
    """A high-urgency escalation of a team with Slack and Teams, delivered everywhere."""
    team = await make_team(db, engineers=3)
    chat = await configure_chat(db, settings, team, slack=slack, teams=teams)
    escalation = with_urgency(await make_escalation(db, team, escalator=team.users[1]), "high")
    await publish_event(amqp, escalation)
    await wait_until(lambda: all_final(db, escalation.id, 5), timeout=20, message="escalation delivered")
    return team, chat, escalation


async def test_a_round_reaches_everyone_again_naming_the_round_once_per_round(
    db, amqp, channel_settings, channel_consumers, smtp: FakeSmtp, slack: FakeSlack, teams: FakeTeams
) -> None:
    team, chat, escalation = await _posted_escalation(db, amqp, channel_settings, slack, teams)
    [original] = slack.in_channel(chat.channel_id)
    # The escalation itself says how urgent it is.
    assert all(m.subject.startswith("[High urgency] Escalation: ") for m in smtp.messages)
    assert "Urgency:      High" in smtp.messages[0].text
    assert original.blocks[0]["text"]["text"].startswith("[High urgency] Escalation")
    assert "*Urgency:* High" in json.dumps(original.blocks)
    assert {"title": "Urgency", "value": "High"} in teams.cards()[0]["body"][2]["facts"]

    everyone = [team.ref(u) for u in team.users if u.id != escalation.data.escalator.id]
    first = round_event(escalation, round=1, recipients=everyone, waited_seconds=600)
    await publish_event(amqp, first)
    await publish_event(amqp, first)  # a duplicate delivery sends nothing twice
    await wait_until(lambda: all_final(db, first.id, 5), timeout=20, message="round 1 delivered")
    reminders = [m for m in smtp.messages if "reminder 1 of 3" in m.subject]
    assert sorted(r for m in reminders for r in m.rcpt_tos) == sorted(p.email.lower() for p in everyone)
    subject = (
        f"[High urgency] Still unclaimed after 10 min (reminder 1 of 3): {escalation.data.session.title}"
    )
    assert {m.subject for m in reminders} == {subject}
    link = f"{channel_settings.public_url}/pilot/{escalation.session_id}?pickup=true"
    assert link in reminders[0].text and "Urgency:      High" in reminders[0].text
    # Mail clients thread the reminder under the escalation email it is about.
    [escalation_email] = {m.headers["Message-ID"] for m in smtp.messages if "Escalation: " in m.subject}
    assert {(m.headers["In-Reply-To"], m.headers["References"]) for m in reminders} == {
        (escalation_email, escalation_email)
    }
    assert escalation_email not in {m.headers["Message-ID"] for m in reminders}
    [reply] = [m for m in slack.in_channel(chat.channel_id) if m.thread_ts]
    assert reply.thread_ts == original.ts and reply.reply_broadcast
    assert "reminder 1 of 3" in reply.text and link in json.dumps(reply.blocks)
    assert "reminder 1 of 3" in teams.cards()[-1]["body"][0]["text"]

    second = round_event(escalation, round=2, recipients=everyone, waited_seconds=1200)
    await publish_event(amqp, second)
    await wait_until(lambda: all_final(db, second.id, 5), timeout=20, message="round 2 delivered")
    for round_name in ("reminder 2 of 3", "reminder 1 of 3"):  # each person once per round
        copies = [r for m in smtp.messages if round_name in m.subject for r in m.rcpt_tos]
        assert sorted(copies) == sorted(p.email.lower() for p in everyone)
    assert len([m for m in slack.in_channel(chat.channel_id) if m.thread_ts]) == 2
    assert len(teams.cards()) == 3


async def test_the_final_notice_is_a_bell_and_an_email_to_owners_and_admins_only(
    db, amqp, channel_settings, channel_consumers, smtp: FakeSmtp, slack: FakeSlack, teams: FakeTeams
) -> None:
    team, _, escalation = await _posted_escalation(db, amqp, channel_settings, slack, teams)
    posts, cards = len(slack.calls), len(teams.cards())
    final = round_event(
        escalation, round=4, recipients=[team.ref(team.owner)], final=True, waited_seconds=2400
    )
    await publish_event(amqp, final)
    await wait_until(lambda: all_final(db, final.id, 1), timeout=20, message="final notice emailed")
    [notice] = [m for m in smtp.messages if "Nobody picked up" in m.subject]
    assert notice.rcpt_tos == [team.owner.email.lower()]
    assert (
        notice.subject
        == f"[High urgency] Nobody picked up: {escalation.data.session.title} (unclaimed for 40 min)"
    )
    assert "after 3 reminders" in notice.text
    assert len(slack.calls) == posts and len(teams.cards()) == cards


async def test_a_release_edits_the_slack_message_back_to_the_queue(
    db, amqp, channel_settings, channel_consumers, slack: FakeSlack, teams: FakeTeams
) -> None:
    team, chat, escalation = await _posted_escalation(db, amqp, channel_settings, slack, teams)
    claimer = team.users[2]
    claim = claimed_event(escalation, claimer=team.users[2], team=team)
    await publish_event(amqp, claim)
    await wait_until(lambda: all_final(db, claim.id, 2), timeout=20, message="claim delivered")
    release = released_event(escalation, team=team, by=claimer, claimer=claimer)
    await publish_event(amqp, release)
    await wait_until(lambda: all_final(db, release.id, 2), timeout=20, message="release delivered")
    [message] = slack.in_channel(chat.channel_id)
    assert len(message.updates) == 2 and len(slack.posts()) == 1
    text = json.dumps(message.blocks)
    assert f"*{claimer.name}* released it" in text and "back in the queue" in text
    assert "Pick up" in text and str(escalation.session_id) in text
    assert f"{claimer.name} released this: back in the queue" in teams.cards()[-1]["body"][0]["text"]


async def test_skipped_rows_are_on_the_ledger_and_a_redelivery_sends_nothing(
    db, amqp, channel_settings, channel_consumers, smtp: FakeSmtp
) -> None:
    team = await make_team(db, engineers=2)  # neither Slack nor Teams configured
    escalation = await make_escalation(db, team, escalator=team.users[1])
    recipients = [r.id for r in escalation.data.recipients]
    async with db.driver() as conn:  # everyone to be emailed left since: nothing to send on email
        await conn.execute("UPDATE users SET is_active = false WHERE id = ANY($1::uuid[])", recipients)
    await publish_event(amqp, escalation)

    await wait_until(
        lambda: all_final(db, escalation.id, 1, "slack"), timeout=20, message="slack's skipped row"
    )
    await wait_until(
        lambda: all_final(db, escalation.id, 1, "teams"), timeout=20, message="teams's skipped row"
    )
    await wait_until(
        lambda: all_final(db, escalation.id, len(recipients), "email"), timeout=20, message="email's rows"
    )
    async with db.driver() as conn:
        rows = await conn.fetch(
            "SELECT channel, recipient, status, last_error FROM deliveries WHERE event_id = $1", escalation.id
        )
    emailed = sorted(r["recipient"] for r in rows if r["channel"] == "email")
    assert emailed == sorted(u.email.lower() for u in team.users if u.id in recipients)
    assert {r["status"] for r in rows} == {"skipped"}
    chat = {r["channel"]: r["last_error"] for r in rows if r["channel"] != "email"}
    assert chat == {"slack": "Slack is not configured", "teams": "Teams is not configured"}

    # A redelivery finds every row there: nothing is sent, and no row is added.
    before = consumer_count("notifier.email", "duplicate")
    await publish_event(amqp, escalation)
    await wait_until(
        lambda: consumer_count("notifier.email", "duplicate") > before, timeout=20, message="the redelivery"
    )
    async with db.driver() as conn:
        assert await conn.fetchval(
            "SELECT count(*) FROM deliveries WHERE event_id = $1", escalation.id
        ) == len(rows)
    assert len(smtp.messages) == 0  # nothing sent, twice or once

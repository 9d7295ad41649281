"""A claim edits the escalation's Slack message in place and follows up on Teams."""

from __future__ import annotations

from datetime import timedelta

import pytest
from aio_pika.abc import AbstractRobustConnection

from flowpilot_shared.db import Database
from flowpilot_shared.events import HandoffClaimed, HandoffEscalated
from notifier.settings import NotifierSettings
from tests.fakes.slack import FakeSlack
from tests.fakes.teams import FakeTeams
from tests.harness.broker import publish_event
from tests.harness.factories import make_escalation, make_team
from tests.harness.waiting import wait_until
from tests.notifier.channels.conftest import (
    Chat,
    configure_chat,
    cut_off,
    deliveries,
    delivery_of,
    slack_status_is,
)
from tests.notifier.conftest import claimed_event

# Every test here runs with the channel consumers started (the fixture starts and stops them).
pytestmark = pytest.mark.usefixtures("channel_consumers")


async def slack_escalation_and_claim(
    db: Database, settings: NotifierSettings, slack: FakeSlack
) -> tuple[Chat, HandoffEscalated, HandoffClaimed]:
    """A team with Slack configured, one of its escalations and a claim of it (neither published)."""
    team = await make_team(db, engineers=2)
    chat = await configure_chat(db, settings, team, slack=slack)
    escalation = await make_escalation(db, team, escalator=team.users[1])
    return chat, escalation, claimed_event(escalation, claimer=team.users[2], team=team)


async def test_claim_updates_the_slack_message_and_posts_a_teams_follow_up(
    db: Database,
    amqp: AbstractRobustConnection,
    channel_settings: NotifierSettings,
    slack: FakeSlack,
    teams: FakeTeams,
) -> None:
    team = await make_team(db, engineers=2)
    chat = await configure_chat(db, channel_settings, team, slack=slack, teams=teams)
    escalation = await make_escalation(db, team, escalator=team.users[1])
    claim = claimed_event(escalation, claimer=team.users[2], team=team)
    # Published together: the claim waits for the escalation's message before editing it.
    await publish_event(amqp, escalation)
    await publish_event(amqp, claim)

    async def claim_delivered() -> bool:
        rows = await deliveries(db, claim.id)
        return sorted((r.channel, r.status) for r in rows) == [("slack", "sent"), ("teams", "sent")]

    await wait_until(claim_delivered, timeout=15, message="claim delivered to Slack and Teams")
    (message,) = slack.in_channel(chat.channel_id)
    assert len(slack.posts()) == 1
    (update,) = slack.of("chat.update")
    assert update.body["channel"] == chat.channel_id and update.body["ts"] == message.ts
    claimer = team.users[2].name
    assert f"{claimer} picked this up" in update.body["text"]
    assert claimer in message.blocks[0]["text"]["text"] and message.updates
    cards = teams.cards()
    assert len(cards) == 2 and f"{claimer} picked this up" in cards[1]["body"][0]["text"]
    (slack_row,) = await deliveries(db, claim.id, "slack")
    assert slack_row.external_id == f"{chat.channel_id}:{message.ts}"
    assert slack_row.handoff_id == escalation.data.handoff_id


async def test_claim_handled_before_its_escalation_still_updates_the_message(
    db: Database,
    amqp: AbstractRobustConnection,
    channel_settings: NotifierSettings,
    slack: FakeSlack,
) -> None:
    """The claim's lookup can come before the escalation's ledger row exists (both delivered at once)."""
    chat, escalation, claim = await slack_escalation_and_claim(db, channel_settings, slack)
    await publish_event(amqp, claim)
    await publish_event(amqp, escalation)

    await wait_until(slack_status_is(db, claim, "sent"), timeout=15, message="claim delivered to Slack")
    (message,) = slack.in_channel(chat.channel_id)
    (update,) = slack.of("chat.update")
    assert update.body["ts"] == message.ts


async def test_claim_without_a_posted_message_is_recorded_as_skipped(
    db: Database,
    amqp: AbstractRobustConnection,
    channel_settings: NotifierSettings,
    slack: FakeSlack,
) -> None:
    _, _, claim = await slack_escalation_and_claim(db, channel_settings, slack)
    await publish_event(amqp, claim)  # the escalation itself never reached Slack

    await wait_until(slack_status_is(db, claim, "skipped"), timeout=10, message="claim recorded as skipped")
    assert slack.of("chat.update") == []


async def test_a_claim_edit_cut_off_by_a_crash_is_made_again_without_looking(
    db: Database,
    amqp: AbstractRobustConnection,
    channel_settings: NotifierSettings,
    slack: FakeSlack,
) -> None:
    """An edit made twice changes nothing, so one a crash cut off is simply made again (no history
    read needed: it goes through even for an app without `channels:history`)."""
    chat, escalation, claim = await slack_escalation_and_claim(db, channel_settings, slack)
    slack.no_history_tokens.add(chat.bot_token)
    await publish_event(amqp, escalation)
    await wait_until(slack_status_is(db, escalation, "sent"), timeout=15, message="escalation posted")
    async with db.sessions() as session, session.begin():
        session.add(
            delivery_of(claim, channel="slack", recipient=chat.channel_id, status="pending", attempts=1)
        )
    await cut_off(db, claim, still_for=timedelta(hours=1))
    await publish_event(amqp, claim)

    await wait_until(slack_status_is(db, claim, "sent"), timeout=15, message="the edit made again")
    (message,) = slack.in_channel(chat.channel_id)
    (edit,) = slack.of("chat.update")
    assert edit.body["ts"] == message.ts and claim.data.claimer.name in edit.body["text"]
    (row,) = await deliveries(db, claim.id, "slack")
    assert row.attempts == 2 and slack.of("conversations.history") == []

"""The escalation's Slack message: mentions of recipients known to Slack who want them, and the
interactive Pick up button where the account's Slack app can receive clicks."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from flowpilot_shared.db import Database
from flowpilot_shared.settings import CoreSettings
from notifier.settings import NotifierSettings
from tests.fakes.slack import FakeSlack, SlackMessage
from tests.fakes.smtp import FakeSmtp
from tests.harness.factories import commit_events, make_escalation, make_team
from tests.harness.waiting import wait_until
from tests.notifier.channels.conftest import configure_chat
from tests.notifier.channels.test_quiet_hours import zone_at_night
from tests.notifier.conftest import RunningNotifier, notifier_settings_from


@pytest.fixture
def notifier_settings(core_settings: CoreSettings, smtp: FakeSmtp, slack: FakeSlack) -> NotifierSettings:
    """The whole notifier, its Slack channel on the fake."""
    return notifier_settings_from(
        core_settings, smtp_host=smtp.host, smtp_port=smtp.port, slack_api_url=slack.api_url
    )


async def posted(slack: FakeSlack, channel: str) -> SlackMessage:
    messages = await wait_until(lambda: slack.in_channel(channel), timeout=30, message="Slack post")
    assert len(messages) == 1
    return messages[0]


def actions(message: SlackMessage) -> list[dict[str, Any]]:
    return [e for b in message.blocks if b["type"] == "actions" for e in b["elements"]]


async def test_recipients_known_to_slack_with_mentions_on_are_mentioned(
    notifier: RunningNotifier, http: httpx.AsyncClient, db: Database, slack: FakeSlack, token_for
):
    team = await make_team(db, engineers=4)
    owner, escalator, quiet_one, not_in_slack, other = team.users
    in_slack = {
        person.id: slack.add_user(person.email.upper()) for person in (owner, escalator, quiet_one, other)
    }
    off = await http.put(
        notifier.url("me/notification-preferences"),
        headers=token_for(quiet_one),
        json={"chat_mentions": False},
    )
    assert off.status_code == 200, off.text
    chat = await configure_chat(
        db, notifier.settings, team, slack=slack, signing_secret="8f742231b10e8888abcd"
    )
    event = await make_escalation(db, team, escalator=escalator)
    await commit_events(db, event)

    message = await posted(slack, chat.channel_id)
    text = str(message.blocks) + message.text
    for person, expected in ((owner, True), (other, True), (quiet_one, False), (escalator, False)):
        assert (f"<@{in_slack[person.id]}>" in text) is expected, person.name
    mention_line = next(b for b in message.blocks if "*For:*" in b.get("text", {}).get("text", ""))
    assert sorted(mention_line["text"]["text"].removeprefix("*For:* ").split()) == sorted(
        [f"<@{in_slack[owner.id]}>", f"<@{in_slack[other.id]}>"]
    )
    assert message.text.startswith("<@")
    # Looked up by email once each: the two with mentions on, and the one Slack does not know.
    asked = sorted(c.body["email"] for c in slack.of("users.lookupByEmail"))
    assert asked == sorted(p.email.lower() for p in (owner, other, not_in_slack))

    # A signing secret is set: Pick up is an interactive button carrying the handoff id, beside the link.
    pickup, link = actions(message)
    assert (pickup["action_id"], pickup["value"]) == ("pickup", str(event.data.handoff_id))
    assert "url" not in pickup
    assert link["url"] == f"{notifier.settings.public_url}/pilot/{event.session_id}?pickup=true"


async def test_a_failing_lookup_never_holds_the_message(
    notifier: RunningNotifier, db: Database, slack: FakeSlack
):
    team = await make_team(db, engineers=2)
    slack.add_user(team.owner.email)
    slack.script(500, {"ok": False, "error": "internal_error"}, method="users.lookupByEmail", times=10)
    chat = await configure_chat(db, notifier.settings, team, slack=slack)
    event = await make_escalation(db, team, escalator=team.users[1])
    await commit_events(db, event)

    message = await posted(slack, chat.channel_id)
    assert "<@" not in str(message.blocks) + message.text
    assert slack.of("users.lookupByEmail")
    # No signing secret: Pick up stays a link, as before interactivity.
    (button,) = actions(message)
    assert button["url"] == f"{notifier.settings.public_url}/pilot/{event.session_id}?pickup=true"


async def test_quiet_hours_hold_back_a_mention_unless_the_handoff_is_urgent(
    notifier: RunningNotifier, http: httpx.AsyncClient, db: Database, slack: FakeSlack, token_for
):
    """A mention pings a phone: someone in their quiet hours is not mentioned (the message is still
    posted), unless the handoff is high urgency."""
    team = await make_team(db, engineers=2)
    owner, escalator, asleep = team.users
    in_slack = {person.id: slack.add_user(person.email) for person in (owner, asleep)}
    night = {"timezone": zone_at_night(), "quiet_hours": {"start": "22:00", "end": "07:00"}}
    quiet = await http.put(notifier.url("me/notification-preferences"), headers=token_for(asleep), json=night)
    assert quiet.status_code == 200, quiet.text
    chat = await configure_chat(db, notifier.settings, team, slack=slack)

    normal = await make_escalation(db, team, escalator=escalator)
    await commit_events(db, normal)
    message = await posted(slack, chat.channel_id)
    text = str(message.blocks) + message.text
    assert f"<@{in_slack[owner.id]}>" in text and f"<@{in_slack[asleep.id]}>" not in text

    urgent = await make_escalation(db, team, escalator=escalator, title="Mail down for everyone")
    urgent = urgent.model_copy(update={"data": urgent.data.model_copy(update={"urgency": "high"})})
    await commit_events(db, urgent)
    messages = await wait_until(
        lambda: [m for m in slack.in_channel(chat.channel_id) if "Mail down" in m.text],
        timeout=30,
        message="the urgent escalation's Slack post",
    )
    assert f"<@{in_slack[asleep.id]}>" in str(messages[0].blocks) + messages[0].text

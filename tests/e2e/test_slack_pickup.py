"""Pick up from Slack through the gateway and the real processes: the click is answered before the slow
part (who clicked, the claim) runs, the claim edits the channel message, a late click hears who has it."""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.e2e.conftest import Fakes, System
from tests.e2e.story import make_team, ok
from tests.fakes.slack import SlackMessage
from tests.harness.people import API, create_session, escalate
from tests.harness.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

SECRET = "e2e-slack-signing-secret-7c1d"
INTERACTIONS = f"{API}/integrations/slack/interactions"


async def test_pick_up_from_slack(system: System, fakes: Fakes, gw: httpx.AsyncClient):
    slack = fakes.slack
    team = await make_team(gw, fakes, slack=False, psa=False)
    sam, alex = team.seniors
    channel = f"C{uuid.uuid4().hex[:8].upper()}"
    await ok(
        await gw.put(
            f"{API}/integrations/slack",
            headers=team.owner.headers,
            json={"bot_token": "xoxb-e2e-token", "channel_id": channel, "signing_secret": SECRET},
        )
    )
    session = await create_session(
        gw, team.junior.token, title=f"VPN drops every hour {uuid.uuid4().hex[:6]}"
    )
    sid = str(session["id"])
    handoff = await escalate(gw, team.junior.token, sid, reason="Tunnel renegotiation fails")

    def pickable() -> SlackMessage | None:
        for message in slack.in_channel(channel):
            for block in message.blocks:
                if any(
                    e.get("value") == handoff["id"] and e["action_id"] == "pickup"
                    for e in block.get("elements", [])
                ):
                    return message
        return None

    message = await wait_until(pickable, timeout=30, message="the interactive Slack message")
    # As every member's Slack shows it until the edit arrives (a late click comes from this copy).
    as_posted = SlackMessage(message.channel, message.ts, message.text, copy.deepcopy(message.blocks))

    async def claimed_by() -> str | None:
        handoffs = await ok(await gw.get(f"{API}/ai-sessions/{sid}/handoffs", headers=team.owner.headers))
        value: str | None = next(h for h in handoffs if h["id"] == handoff["id"])["claimed_by"]
        return value

    sam_click = slack.click(signing_secret=SECRET, user_id=slack.add_user(sam.email), message=as_posted)
    slack.users_delay_seconds = 60.0  # Slack's users.info is slow: the click must be answered anyway
    try:
        answer = await gw.post(INTERACTIONS, content=sam_click.body, headers=sam_click.headers)
        assert (answer.status_code, answer.content) == (200, b"")
        assert await claimed_by() is None  # answered first; the claim waits for users.info
    finally:
        slack.users_delay_seconds = 0.0

    assert await wait_until(claimed_by, timeout=30, message="claimed after answering") == str(sam.id)
    # The notifier edits the channel message to name who took it (from handoff.claimed).
    updated = await wait_until(
        lambda: message.updates and sam.name in str(message.blocks),
        timeout=30,
        message="message edited",
    )
    assert updated and not any(b["type"] == "actions" for b in message.blocks)  # no button left to press
    replies = await wait_until(lambda: slack.replies(sam_click), timeout=15, message="reply to Sam")
    assert replies[0]["response_type"] == "ephemeral" and replies[0]["text"].startswith("You picked this up")

    alex_click = slack.click(signing_secret=SECRET, user_id=slack.add_user(alex.email), message=as_posted)
    assert (
        await gw.post(INTERACTIONS, content=alex_click.body, headers=alex_click.headers)
    ).status_code == 200
    late = await wait_until(lambda: slack.replies(alex_click), timeout=15, message="reply to Alex")
    assert late[0]["text"] == f"Already picked up by {sam.name}."

    forged = slack.click(signing_secret="guessed", user_id=slack.add_user(alex.email), message=as_posted)
    assert (await gw.post(INTERACTIONS, content=forged.body, headers=forged.headers)).status_code == 401
    assert await claimed_by() == str(sam.id)


async def test_notification_preferences_through_the_gateway(
    system: System, fakes: Fakes, gw: httpx.AsyncClient
):
    team = await make_team(gw, fakes, slack=False, psa=False)
    url = f"{API}/me/notification-preferences"
    mine = {
        "timezone": "Europe/Berlin",
        "quiet_hours": {"start": "21:30", "end": "06:30"},
        "email": True,
        "chat_mentions": False,
    }
    assert (await ok(await gw.get(url, headers=team.junior.headers)))["timezone"] == "UTC"
    assert await ok(await gw.put(url, headers=team.junior.headers, json=mine)) == mine
    assert await ok(await gw.get(url, headers=team.junior.headers)) == mine
    refused = await gw.put(url, headers=team.junior.headers, json={**mine, "timezone": "Europe/Atlantis"})
    assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == ["body", "timezone"]


async def test_an_email_held_back_by_quiet_hours_shows_on_the_timeline(
    system: System, fakes: Fakes, gw: httpx.AsyncClient
):
    team = await make_team(gw, fakes, slack=False, psa=False)
    quiet, awake = team.seniors
    now = datetime.now(UTC)
    window = {
        "start": (now - timedelta(hours=1)).strftime("%H:%M"),
        "end": (now + timedelta(hours=1)).strftime("%H:%M"),
    }
    preferences = {"timezone": "UTC", "quiet_hours": window, "email": True, "chat_mentions": True}
    await ok(await gw.put(f"{API}/me/notification-preferences", headers=quiet.headers, json=preferences))
    session = await create_session(gw, team.junior.token, psa_ticket_id=None)
    await escalate(gw, team.junior.token, session["id"])

    async def email_entries() -> dict[str, dict] | None:
        timeline = await ok(
            await gw.get(f"{API}/ai-sessions/{session['id']}/timeline", headers=awake.headers)
        )
        emails = {
            e["data"]["recipient"]: e["data"]
            for e in timeline
            if e["kind"] == "delivery" and e["data"]["channel"] == "email"
        }
        return emails if len(emails) == 3 else None  # the owner and both seniors

    emails = await wait_until(email_entries, timeout=30, message="the escalation's emails on the timeline")
    assert (emails[quiet.email]["status"], emails[quiet.email]["error"]) == ("skipped", "quiet_hours")
    assert emails[awake.email]["status"] == "sent"
    # What the timeline says is what the deliveries record says.
    records = await ok(
        await gw.get(
            f"{API}/notifications/deliveries",
            headers=team.tenant.owner.headers,
            params={"session_id": session["id"]},
        )
    )
    [record] = [r for r in records if r["channel"] == "email" and r["recipient"] == quiet.email]
    assert (record["status"], record["skip_reason"]) == ("skipped", "quiet_hours")

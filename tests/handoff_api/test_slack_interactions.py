"""Slack's Pick up button: a signed click claims through the same code as the HTTP claim; anything
unsigned, stale or forged is 401 and changes nothing; whoever does not get it is told why, only them.

In-process API (its answer returns once the after-answer work is done, so outcomes are read at once);
slack-sdk talks to the local Slack fake, which also signs the clicks and receives the replies.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy import select

from flowpilot_shared.db import Database
from flowpilot_shared.models import OutboxEvent
from flowpilot_shared.settings import CoreSettings
from tests.fakes.slack import Click, FakeSlack, SlackMessage, sign
from tests.harness.api import ApiClient, api_settings, running_api
from tests.harness.people import (
    API,
    Person,
    Tenant,
    add_story_cast,
    create_session,
    escalate,
    signup,
)

INTERACTIONS = f"{API}/integrations/slack/interactions"
SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BOT_TOKEN = "xoxb-interactive-test"


@pytest.fixture
async def api(core_settings: CoreSettings, slack: FakeSlack) -> AsyncIterator[ApiClient]:
    settings = api_settings(core_settings, slack_api_url=slack.api_url, allow_loopback_integrations=True)
    async with running_api(settings) as client:
        yield client


@dataclass
class Scene:
    """A team with Slack set up, one open escalation and its channel message."""

    tenant: Tenant
    seniors: list[Person]
    viewer: Person
    session_id: str
    handoff_id: str
    message: SlackMessage


async def scene(api: ApiClient, *, signing_secret: str | None = SECRET) -> Scene:
    tenant = await signup(api)
    junior, seniors, viewer = await add_story_cast(api, tenant)
    channel = f"C{uuid.uuid4().hex[:9].upper()}"
    body: dict[str, Any] = {"bot_token": BOT_TOKEN, "channel_id": channel}
    if signing_secret:
        body["signing_secret"] = signing_secret
    put = await api.put(f"{API}/integrations/slack", headers=tenant.owner.headers, json=body)
    assert put.status_code == 200, put.text
    assert SECRET not in put.text and bool(put.json()["configured"].get("signing_secret")) is bool(
        signing_secret
    )
    session = await create_session(api, junior.token)
    handoff = await escalate(api, junior.token, session["id"])
    message = SlackMessage(
        channel=channel,
        ts=f"{int(time.time())}.000100",
        text="Escalation",
        blocks=[
            {
                "type": "actions",
                "block_id": "pickup",
                "elements": [
                    {
                        "type": "button",
                        "action_id": "pickup",
                        "text": {"type": "plain_text", "text": "Pick up"},
                        "value": handoff["id"],
                    }
                ],
            }
        ],
    )
    return Scene(tenant, seniors, viewer, session["id"], handoff["id"], message)


async def post(api: ApiClient, click: Click, *, body: bytes | None = None, drop: str | None = None):
    headers = {k: v for k, v in click.headers.items() if k != drop}
    return await api.post(INTERACTIONS, content=click.body if body is None else body, headers=headers)


async def holder(api: ApiClient, s: Scene) -> str | None:
    response = await api.get(f"{API}/ai-sessions/{s.session_id}/handoffs", headers=s.tenant.owner.headers)
    claimed_by: str | None = next(h for h in response.json() if h["id"] == s.handoff_id)["claimed_by"]
    return claimed_by


async def claimed_events(db: Database, handoff_id: str) -> int:
    async with db.sessions() as session:
        rows = await session.execute(
            select(OutboxEvent.payload).where(OutboxEvent.routing_key == "handoff.claimed")
        )
        return sum(1 for payload in rows.scalars() if payload["data"]["handoff_id"] == handoff_id)


def only_reply(slack: FakeSlack, click: Click) -> str:
    (reply,) = slack.replies(click)
    assert reply["response_type"] == "ephemeral" and reply["replace_original"] is False
    text: str = reply["text"]
    return text


async def test_a_signed_click_claims_for_the_matching_senior(api: ApiClient, slack: FakeSlack, db: Database):
    s = await scene(api)
    sam = s.seniors[0]
    click = slack.click(signing_secret=SECRET, user_id=slack.add_user(sam.email.upper()), message=s.message)

    answer = await post(api, click)
    assert (answer.status_code, answer.content) == (200, b"")
    assert await holder(api, s) == str(sam.id)
    session = (await api.get(f"{API}/ai-sessions/{s.session_id}", headers=sam.headers)).json()
    assert (session["status"], session["owner_id"], session["picked_up_by"]) == (
        "picked_up",
        str(sam.id),
        str(sam.id),
    )
    # The same event as a console claim: the notifier edits the channel message from it.
    assert await claimed_events(db, s.handoff_id) == 1
    (lookup,) = slack.of("users.info")
    assert lookup.token == BOT_TOKEN and lookup.body["user"] == click.payload["user"]["id"]
    assert only_reply(slack, click).startswith("You picked this up")


async def test_a_late_click_hears_who_has_it_and_a_replay_changes_nothing(
    api: ApiClient, slack: FakeSlack, db: Database
):
    s = await scene(api)
    sam, alex = s.seniors
    first = slack.click(signing_secret=SECRET, user_id=slack.add_user(sam.email), message=s.message)
    second = slack.click(signing_secret=SECRET, user_id=slack.add_user(alex.email), message=s.message)
    assert (await post(api, first)).status_code == 200
    assert (await post(api, second)).status_code == 200
    assert only_reply(slack, second) == f"Already picked up by {sam.name}."

    # Slack retrying, or the same request sent again: still Sam's, and Sam is not told he lost it.
    assert (await post(api, first)).status_code == 200
    replies = [r["text"] for r in slack.replies(first)]
    assert replies[0].startswith("You picked this up") and replies[1].startswith("You already picked this up")
    assert await holder(api, s) == str(sam.id)
    assert await claimed_events(db, s.handoff_id) == 1


def _forged(slack: FakeSlack, s: Scene, user_id: str, case: str) -> tuple[Click, dict[str, Any]]:
    """A click that must be refused, and how to send it."""
    if case == "wrong secret":
        return slack.click(signing_secret="not-the-secret", user_id=user_id, message=s.message), {}
    if case in ("too old", "too far ahead"):
        skew = -301 if case == "too old" else 301
        return slack.click(
            signing_secret=SECRET, user_id=user_id, message=s.message, timestamp=int(time.time()) + skew
        ), {}
    click = slack.click(signing_secret=SECRET, user_id=user_id, message=s.message)
    if case == "no signature":
        return click, {"drop": "X-Slack-Signature"}
    if case == "no timestamp":
        return click, {"drop": "X-Slack-Request-Timestamp"}
    if case == "body changed after signing":
        return click, {"body": click.body.replace(b"pickup", b"pickuq", 1) + b"&x=1"}
    if case == "unknown handoff":
        other = SlackMessage(
            s.message.channel,
            s.message.ts,
            "",
            [
                {
                    "type": "actions",
                    "elements": [{**s.message.blocks[0]["elements"][0], "value": str(uuid.uuid4())}],
                }
            ],
        )
        return slack.click(signing_secret=SECRET, user_id=user_id, message=other), {}
    if case == "signature of another request":
        other = slack.click(signing_secret=SECRET, user_id=user_id, message=s.message)
        return click, {"body": other.body}
    raise AssertionError(case)


FORGED = [
    "wrong secret",
    "too old",
    "too far ahead",
    "no signature",
    "no timestamp",
    "body changed after signing",
    "unknown handoff",
    "signature of another request",
]


async def test_an_unverified_click_is_401_and_changes_nothing(api: ApiClient, slack: FakeSlack, db: Database):
    s = await scene(api)
    user_id = slack.add_user(s.seniors[0].email)
    for case in FORGED:
        click, how = _forged(slack, s, user_id, case)
        answer = await post(api, click, **how)
        assert answer.status_code == 401, (case, answer.text)
        assert answer.json() == {"detail": "Invalid or missing Slack signature"}, case
        assert await holder(api, s) is None, case
        assert await claimed_events(db, s.handoff_id) == 0, case
        assert slack.of("users.info") == [] and slack.replies(click) == [], case
    # The same click, signed properly, is then accepted: the refusals were about the requests alone.
    good = slack.click(signing_secret=SECRET, user_id=user_id, message=s.message)
    assert (await post(api, good)).status_code == 200
    assert await holder(api, s) == str(s.seniors[0].id)


async def test_without_a_signing_secret_no_click_is_trusted(api: ApiClient, slack: FakeSlack):
    s = await scene(api, signing_secret=None)
    click = slack.click(signing_secret=SECRET, user_id=slack.add_user(s.seniors[0].email), message=s.message)
    assert (await post(api, click)).status_code == 401
    assert await holder(api, s) is None


async def test_people_who_cannot_pick_it_up_are_told_why(api: ApiClient, slack: FakeSlack, db: Database):
    s = await scene(api)
    elsewhere = await signup(api)  # someone of another account: their email means nothing here
    cases = {
        "stranger": slack.add_user(f"stranger-{uuid.uuid4().hex[:6]}@example.com"),
        "viewer": slack.add_user(s.viewer.email),
        "other tenant": slack.add_user(elsewhere.owner.email),
        "no email": slack.add_user("", name="Integration bot"),
        "not in workspace": "U0NOBODY",
    }
    replies = {}
    for name, user_id in cases.items():
        click = slack.click(signing_secret=SECRET, user_id=user_id, message=s.message)
        assert (await post(api, click)).status_code == 200
        replies[name] = only_reply(slack, click)
    assert "No active FlowPilot person of this team has your Slack email" in replies["stranger"]
    assert "No active FlowPilot person" in replies["other tenant"]
    assert replies["viewer"].startswith("Engineer or admin access required") and "viewer" in replies["viewer"]
    assert "could not tell who you are" in replies["no email"]
    assert "could not tell who you are" in replies["not in workspace"]
    assert await holder(api, s) is None and await claimed_events(db, s.handoff_id) == 0


async def test_slack_down_after_the_answer_is_retried_within_bounds_then_explained(
    api: ApiClient, slack: FakeSlack
):
    s = await scene(api)
    slack.script(503, {"ok": False, "error": "service_unavailable"}, method="users.info", times=10)
    click = slack.click(signing_secret=SECRET, user_id=slack.add_user(s.seniors[0].email), message=s.message)
    assert (await post(api, click)).status_code == 200
    assert len(slack.of("users.info")) == api.app.state.settings.slack_call_attempts
    assert "could not check your Slack account" in only_reply(slack, click)
    assert await holder(api, s) is None


def test_the_fake_signs_as_slack_documents() -> None:
    # Slack's published example: the signature of this exact request with this secret.
    body = (
        b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
        b"&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
        b"&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
        b"&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
    )
    assert (
        sign(SECRET, "1531420618", body)
        == "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
    )

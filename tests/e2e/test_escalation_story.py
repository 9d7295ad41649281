"""One complete escalation story through the nginx gateway, against the four services as real processes."""

from __future__ import annotations

import asyncio
import json
import uuid

import httpx
import pytest

from tests.e2e.conftest import PUBLIC_URL, Fakes, System
from tests.e2e.story import Team, bell, make_team, ok
from tests.harness.people import API, create_session, escalate
from tests.harness.sse import open_stream
from tests.harness.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

STREAM = f"{API}/ai-sessions/escalations/stream"
STEPS = [
    ("observation", "Every user at Contoso gets a password prompt loop in Outlook since the MFA rollout"),
    ("action", "Cleared the Credential Manager entries for Office"),
    ("action", "Recreated the Outlook profile on one laptop"),
    ("observation", "OWA works; only the desktop client loops"),
]


async def _session(gw: httpx.AsyncClient, team: Team, ticket: str) -> dict[str, object]:
    return await create_session(
        gw,
        team.junior.token,
        title=f"Outlook password loop {uuid.uuid4().hex[:6]}",
        psa_ticket_id=ticket,
        steps=STEPS,
    )


async def _documentation(gw: httpx.AsyncClient, team: Team, session_id: str) -> dict[str, object] | None:
    response = await gw.get(f"{API}/ai-sessions/{session_id}/documentation", headers=team.junior.headers)
    return response.json() if response.status_code == 200 else None


async def test_escalation_story_through_the_gateway(system: System, fakes: Fakes, gw: httpx.AsyncClient):
    team = await make_team(gw, fakes)
    sam, alex = team.seniors
    ticket = str(70000 + uuid.uuid4().int % 10000)
    session = await _session(gw, team, ticket)
    sid = str(session["id"])

    async with open_stream(gw, STREAM, headers=sam.headers) as stream:
        await stream.wait_event("ready")
        handoff = await escalate(gw, team.junior.token, sid, reason="MFA loop beyond me")
        hid = handoff["id"]

        # A senior's live queue (through nginx) gets the escalation.
        created = await stream.wait_event("handoff_created", where=lambda d: d["session_id"] == sid)
        assert created.json()["handoff_id"] == hid and created.json()["title"] == session["title"]
        assert created.id

        # Bell rows: owner and both seniors, each exactly one, linking to the pickup screen.
        link = f"/pilot/{sid}?pickup=true"
        for person in team.recipients:
            rows = await wait_until(
                lambda p=person: bell(gw, p, sid), timeout=15, message=f"bell row for {person.name}"
            )
            assert len(rows) == 1 and rows[0]["link"] == link, rows
        await stream.wait_event("notification", where=lambda d: d["session_id"] == sid)

        # Emails: the same people, each one, with the absolute pickup link.
        for person in team.recipients:
            mails = await wait_until(
                lambda p=person: fakes.smtp.to(p.email), timeout=15, message=f"email to {person.name}"
            )
            assert len(mails) == 1
            assert session["title"] in mails[0].subject
            assert f"{PUBLIC_URL}{link}" in mails[0].text

        # Slack: one message in the team channel, carrying the pick-up link.
        posts = await wait_until(lambda: _ok_posts(fakes, team.channel), timeout=15, message="slack post")
        assert len(posts) == 1
        assert f"{PUBLIC_URL}{link}" in json.dumps(posts[0].body)

        # Documentation by the AI (the Anthropic fake), pushed as a note onto the ConnectWise ticket.
        doc = await wait_until(lambda: _documentation(gw, team, sid), timeout=30, message="documentation")
        assert doc["generated_by"] == "ai" and doc["handoff_id"] == hid
        assert any(session["title"] in json.dumps(b) for b in fakes.anthropic.bodies)
        notes = await wait_until(
            lambda: fakes.psa.ticket_notes("connectwise", ticket), timeout=30, message="PSA note"
        )
        assert len(notes) == 1 and notes[0]["internalAnalysisFlag"] is True
        pushes = await wait_until(lambda: _pushed(gw, team, sid), timeout=15, message="psa push recorded")
        assert pushes[0]["provider"] == "connectwise" and pushes[0]["ticket_id"] == ticket
        assert pushes[0]["external_note_id"] == str(notes[0]["id"])
        await stream.wait_event("documentation_ready", where=lambda d: d["session_id"] == sid)

        # Two seniors click "Pick up" at once: exactly one wins, the other is told who holds it.
        claim = f"{API}/ai-sessions/{sid}/handoffs/{hid}/claim"
        answers = await asyncio.gather(
            gw.post(claim, headers=sam.headers), gw.post(claim, headers=alex.headers)
        )
        statuses = sorted(r.status_code for r in answers)
        assert statuses == [200, 409], [r.text for r in answers]
        winner_answer = next(r for r in answers if r.status_code == 200)
        loser_answer = next(r for r in answers if r.status_code == 409)
        winner = sam if winner_answer.json()["claimed_by"] == str(sam.id) else alex
        assert winner.name in loser_answer.text
        await stream.wait_event("handoff_claimed", where=lambda d: d["session_id"] == sid)

    # The escalator's bell says who took it.
    junior_rows = await wait_until(
        lambda: _named(gw, team, sid, winner.name), timeout=15, message="escalator's claim bell row"
    )
    assert len(junior_rows) == 1
    # The Slack message was edited to name who took it.
    message = await wait_until(lambda: _updated(fakes, team.channel), timeout=15, message="slack chat.update")
    assert winner.name in message.text

    # Delivery records (owner's view): every email and the Slack post sent once.
    deliveries = await ok(
        await gw.get(
            f"{API}/notifications/deliveries", headers=team.owner.headers, params={"session_id": sid}
        )
    )
    items = deliveries if isinstance(deliveries, list) else deliveries["items"]
    sent_email = sorted(d["recipient"] for d in items if d["channel"] == "email" and d["status"] == "sent")
    assert sent_email == sorted(p.email for p in team.recipients)
    assert [d["status"] for d in items if d["channel"] == "slack"].count("sent") >= 1

    # Nobody else heard of it; nothing was sent twice.
    for person in (team.viewer,):
        assert await bell(gw, person, sid) == [] and fakes.smtp.to(person.email) == []
    assert [r["type"] for r in await bell(gw, team.junior, sid)] == [junior_rows[0]["type"]]
    assert fakes.smtp.to(team.junior.email) == []
    for person in team.recipients:
        assert len(fakes.smtp.to(person.email)) == 1
    assert len(_ok_posts(fakes, team.channel)) == 1
    assert len(fakes.psa.ticket_notes("connectwise", ticket)) == 1


async def test_template_documentation_without_an_api_key(system: System, fakes: Fakes, gw: httpx.AsyncClient):
    """docgen with no ANTHROPIC_API_KEY writes template documentation; the PSA note still lands."""
    system.replace("docgen", unset=("ANTHROPIC_API_KEY", "FLOWPILOT_ANTHROPIC_API_KEY"))
    try:
        team = await make_team(gw, fakes, slack=False)
        ticket = str(80000 + uuid.uuid4().int % 10000)
        session = await _session(gw, team, ticket)
        sid = str(session["id"])
        asked_before = len(fakes.anthropic.requests)
        await escalate(gw, team.junior.token, sid)
        doc = await wait_until(lambda: _documentation(gw, team, sid), timeout=30, message="documentation")
        assert doc["generated_by"] == "template"
        assert session["title"] in str(doc["content_markdown"])
        notes = await wait_until(
            lambda: fakes.psa.ticket_notes("connectwise", ticket), timeout=30, message="PSA note"
        )
        assert len(notes) == 1
        await wait_until(lambda: _pushed(gw, team, sid), timeout=15, message="psa push recorded")
        assert len(fakes.anthropic.requests) == asked_before
    finally:
        # Back to the AI path for whatever runs next; nobody waits for it unless they need docs.
        system.replace("docgen", wait=False)


# -- probes -------------------------------------------------------------------------------------------
def _ok_posts(fakes: Fakes, channel: str) -> list[object]:
    return [c for c in fakes.slack.posts(channel) if c.token]


def _updated(fakes: Fakes, channel: str) -> object | None:
    return next((m for m in fakes.slack.in_channel(channel) if m.updates), None)


async def _pushed(gw: httpx.AsyncClient, team: Team, sid: str) -> list[dict[str, object]] | None:
    pushes = await ok(await gw.get(f"{API}/ai-sessions/{sid}/psa-pushes", headers=team.junior.headers))
    return pushes if pushes and all(p["status"] == "pushed" for p in pushes) else None


async def _named(gw: httpx.AsyncClient, team: Team, sid: str, name: str) -> list[dict[str, object]] | None:
    rows = await bell(gw, team.junior, sid)
    return [r for r in rows if name in f"{r['title']} {r['body']}"] or None

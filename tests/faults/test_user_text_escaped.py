"""User text in a title, client, reason, step or name reaches Slack, Teams, email and the PSA note as text.

Through the whole system (real processes): the session and escalation are created over HTTP, the
chat message, card, email and ticket note are read where they land (the fakes, the SMTP sink).
"""

from __future__ import annotations

import json

import pytest

from tests.fakes.teams import FakeTeams
from tests.faults.system import SLACK_CHANNEL, System, make_team, new_ticket_id
from tests.harness.people import API, add_user
from tests.harness.waiting import wait_until

TITLE = "<!channel> Outlook down <https://evil.example|Open ticket> [Open ticket](https://evil.example)"
CLIENT = "Contoso <@U012AB3CD> & co"
REASON = "<!here> see <https://evil.example|the runbook> or [the runbook](https://evil.example) <img src=x onerror=alert(1)>"
STEP = "# Rebuilt profile\n1. [click](https://evil.example)"
CLAIMER = "Eve <!subteam^S123> [admin](https://evil.example)"
# What must never arrive: a Slack control sequence, or a Markdown link / tag / block made of user text.
SLACK_RAW = ("<!channel>", "<!here>", "<https://evil.example", "<@U012AB3CD>", "<!subteam")
MARKDOWN_RAW = (
    "[Open ticket](",
    "[the runbook](",
    "[click](",
    "[admin](",
    "<img",
    "<!channel>",
    "\n# Rebuilt",
)


def _assert_none(text: str, forbidden: tuple[str, ...], where: str) -> None:
    for raw in forbidden:
        assert raw not in text, f"{where} carries raw {raw!r}: {text[:600]}"


@pytest.mark.faults
@pytest.mark.timeout(240)
async def test_user_text_goes_out_escaped(system: System, fakes):
    teams = FakeTeams().start()
    try:
        system.start()
        async with system.client() as api:
            team = await make_team(api, fakes, seniors=1)
            owner = team.tenant.owner.headers
            put = await api.put(
                f"{API}/integrations/teams", headers=owner, json={"webhook_url": teams.webhook_url}
            )
            assert put.status_code == 200, put.text
            claimer = await add_user(api, team.tenant, "engineer", name=CLAIMER)
            ticket = new_ticket_id()
            session = await api.post(
                f"{API}/ai-sessions",
                headers=owner,
                json={
                    "title": TITLE,
                    "problem": "Prompt loop",
                    "client_name": CLIENT,
                    "psa_ticket_id": ticket,
                },
            )
            assert session.status_code == 201, session.text
            sid = session.json()["id"]
            step = await api.post(
                f"{API}/ai-sessions/{sid}/steps", headers=owner, json={"kind": "action", "content": STEP}
            )
            assert step.status_code == 201, step.text
            handoff = await api.post(
                f"{API}/ai-sessions/{sid}/handoff",
                headers=owner,
                json={"intent": "escalate", "reason": REASON},
            )
            assert handoff.status_code == 201, handoff.text

            async def chat_posted() -> bool:
                return bool(fakes.slack.in_channel(SLACK_CHANNEL)) and bool(teams.cards())

            await wait_until(chat_posted, timeout=60, message="Slack message and Teams card")
            claim = await api.post(
                f"{API}/ai-sessions/{sid}/handoffs/{handoff.json()['id']}/claim", headers=claimer.headers
            )
            assert claim.status_code == 200, claim.text

            async def settled() -> bool:
                message = fakes.slack.in_channel(SLACK_CHANNEL)[0]
                return (
                    bool(message.updates)
                    and len(teams.cards()) >= 2
                    and bool(fakes.psa.ticket_notes("connectwise", ticket))
                )

            await wait_until(settled, timeout=90, message="claim update, claim card and PSA note")

        # Slack: the posted message (fallback text and blocks) and its update when claimed.
        post = fakes.slack.posts(SLACK_CHANNEL)[0].body
        updates = [call.body for call in fakes.slack.of("chat.update")]
        assert updates
        for where, payload in (("post", post), *(("update", u) for u in updates)):
            _assert_none(json.dumps(payload), SLACK_RAW, f"Slack {where}")
        posted = json.dumps(post["blocks"])
        assert "&lt;!channel&gt; Outlook down &lt;https://evil.example|Open ticket&gt;" in posted
        assert "&lt;!here&gt;" in posted and "Contoso &lt;@U012AB3CD&gt; &amp; co" in posted
        assert "&lt;!channel&gt;" in post["text"]
        assert "Eve &lt;!subteam^S123&gt;" in updates[0]["text"]

        # Teams: the escalation card and the claim card.
        for card in teams.cards():
            _assert_none(json.dumps(card), MARKDOWN_RAW, "Teams card")
        escalation_card = json.dumps(teams.cards()[0])
        assert "\\\\[Open ticket\\\\](https://evil.example)" in escalation_card  # \[ in the JSON text
        assert "&lt;img src=x onerror=alert(1)&gt;" in escalation_card

        # The PSA note: the documentation with every piece of user text as text.
        note = fakes.psa.ticket_notes("connectwise", ticket)[0]["text"]
        _assert_none(note, MARKDOWN_RAW, "ConnectWise note")
        assert "\\[Open ticket\\](https://evil.example)" in note and "\\# Rebuilt profile" in note

        # Email: HTML autoescaped, the plain text part is text anyway.
        mail = fakes.smtp.to(team.seniors[0].email)[0]
        assert "&lt;!channel&gt;" in mail.html and "<img src=x" not in mail.html
    finally:
        teams.stop()

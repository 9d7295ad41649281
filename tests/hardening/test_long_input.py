"""Every session the API accepts gets its package, its documentation and its PSA note, however long
(issue 24, item 1): what does not fit is cut with a visible marker, nothing fails."""

from __future__ import annotations

import pytest

from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.psa import FakePsa
from tests.hardening.conftest import pipeline, settled_pushes, team_on_psa
from tests.harness.people import API, auth, escalate
from tests.harness.waiting import wait_until

# The API's own limits (handoff_api/fields.py): every field at its maximum.
TITLE, PROBLEM, CLIENT, TICKET, STEP, REASON = 300, 20_000, 200, 100, 20_000, 5_000


def longest(text: str, size: int) -> str:
    """`text` repeated (multi-byte characters included) to exactly `size` characters."""
    return (text * (size // len(text) + 1))[:size]


def long_steps() -> list[tuple[str, str]]:
    """Steps at the maximum size (more than an event carries), then more suggestions and questions
    than a package lists."""
    steps: list[tuple[str, str]] = []
    for n in range(3):
        steps.append(("action", longest(f"Rebuilt the Outlook profile, try {n} — ünïcödé ✓ ", STEP)))
        steps.append(("observation", longest(f"Still prompts after try {n}; 认证失败 ", STEP)))
    steps.append(("ai_suggestion", longest("Compare the Autodiscover XML with a working client ", STEP)))
    steps.append(("note", longest("Customer asked whether the tenant will be migrated? ", STEP)))
    for n in range(25):
        steps.append(("ai_suggestion", f"Check mailbox rule {n}"))
        steps.append(("observation", f"Does user {n} see it on webmail?"))
    return steps


# Autotask refuses a note description over 32,000 characters (the fake does too).
@pytest.mark.parametrize(("ai", "provider"), [("failing", "connectwise"), ("no_key", "autotask")])
async def test_a_session_at_every_maximum_gets_its_documentation_and_note(
    core_settings, amqp, fake_anthropic: FakeAnthropic, fake_psa: FakePsa, ai: str, provider: str
):
    if ai == "failing":
        fake_anthropic.fail(10, status=500)
    async with pipeline(core_settings, amqp, fake_anthropic, ai=ai == "failing") as system:
        api = system.api
        team = await team_on_psa(api, fake_psa, provider)
        ticket = "9" * TICKET
        created = await api.post(
            f"{API}/ai-sessions",
            headers=team.junior.headers,
            json={
                "title": longest("Outlook loops — ", TITLE),
                "problem": longest("Every user at Contoso gets a password loop (MFA) — ", PROBLEM),
                "client_name": longest("Contoso Ltd — ", CLIENT),
                "psa_ticket_id": ticket,
            },
        )
        assert created.status_code == 201, created.text
        sid = created.json()["id"]
        for kind, content in long_steps():
            added = await api.post(
                f"{API}/ai-sessions/{sid}/steps",
                headers=team.junior.headers,
                json={"kind": kind, "content": content},
            )
            assert added.status_code == 201, added.text
        reason = longest("Beyond me: conditional access or the hybrid setup? ", REASON - 3) + "END"
        await escalate(api, team.junior.token, sid, reason=reason)

        async def documentation() -> dict | None:
            response = await api.get(
                f"{API}/ai-sessions/{sid}/documentation", headers=auth(team.junior.token)
            )
            return response.json() if response.status_code == 200 else None

        doc = await wait_until(documentation, timeout=30, message="documentation of the long session")
        context = (
            await api.get(f"{API}/ai-sessions/{sid}/handoff-context", headers=team.junior.headers)
        ).json()
        [push] = await settled_pushes(api, team.junior, sid)
        notes = fake_psa.ticket_notes(provider, ticket)
        note_text = (notes[0].get("text") or notes[0].get("description")) if notes else ""

    assert doc["generated_by"] == "template", doc["generated_by"]
    markdown = doc["content_markdown"]
    # Cut where the package's limits are, with the marker; the reason and the next owner in full.
    assert "(… truncated)" in markdown
    assert reason in markdown and "### Next owner" in markdown
    assert "earlier step(s) of this session are not included here" in markdown
    package = context["escalation_package"]["content"]
    assert package["suggested_next_steps"] and package["open_questions"][-1].startswith("(… ")
    assert all(len(item["step"]) <= 2000 for item in package["steps_tried"])

    # The PSA note: pushed, within what the PSA takes, its middle cut with a visible mark.
    assert push["status"] == "pushed", push["last_error"]
    assert push["ticket_id"] == ticket
    assert len(note_text) <= 30_000 and "characters left out here" in note_text
    assert note_text.startswith("## Escalation: Outlook loops")
    assert "### Next owner" in note_text and note_text.endswith(f"[flowpilot:{doc['id']}]")

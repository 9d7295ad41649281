"""Regenerating documentation is throttled per session (429 with Retry-After) and updates the
escalation's one PSA note instead of piling up new ones (issue 24, item 10), for every provider."""

from __future__ import annotations

import httpx
import pytest

from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.psa import FakePsa
from tests.hardening.conftest import pipeline, pushes, settled_pushes, team_on_psa
from tests.harness.people import API, create_session, escalate
from tests.harness.waiting import wait_until

TICKET = "4711"


@pytest.mark.parametrize("provider", ["connectwise", "autotask", "halopsa"])
async def test_regenerations_are_throttled_and_update_the_one_note(
    core_settings, amqp, fake_anthropic: FakeAnthropic, fake_psa: FakePsa, provider: str
):
    docgen = {"regenerate_min_interval_seconds": 3.0}
    async with pipeline(core_settings, amqp, fake_anthropic, ai=False, docgen=docgen) as system:
        api = system.api
        team = await team_on_psa(api, fake_psa, provider)
        session = await create_session(
            api, team.junior.token, psa_ticket_id=TICKET, steps=[("action", "Rebuilt the profile")]
        )
        sid = session["id"]
        await escalate(api, team.junior.token, sid)
        [first] = await settled_pushes(api, team.junior, sid)
        assert first["status"] == "pushed", first["last_error"]
        added = await api.post(
            f"{API}/ai-sessions/{sid}/steps",
            headers=team.junior.headers,
            json={"kind": "observation", "content": "Autodiscover points at the old server"},
        )
        assert added.status_code == 201, added.text

        url = f"{API}/ai-sessions/{sid}/documentation/regenerate"
        transport = httpx.ASGITransport(app=system.docgen)
        async with httpx.AsyncClient(transport=transport, base_url="http://docgen") as docgen_api:
            regenerated = await docgen_api.post(url, headers=team.junior.headers)
            throttled = await docgen_api.post(url, headers=team.owner.headers)

            async def both_pushed() -> list[dict] | None:
                rows = await pushes(api, team.junior, sid)
                return rows if len(rows) == 2 and all(r["status"] == "pushed" for r in rows) else None

            await wait_until(both_pushed, timeout=30, message="the regenerated documentation pushed")

            async def allowed_again() -> httpx.Response | None:
                response = await docgen_api.post(url, headers=team.junior.headers)
                return response if response.status_code == 201 else None

            third = await wait_until(allowed_again, timeout=15, interval=0.5, message="throttle lifted")
            rows = await wait_until(
                lambda: _all_pushed(api, team, sid, 3), timeout=30, message="the third version pushed"
            )

    assert regenerated.status_code == 201, regenerated.text
    assert regenerated.json()["version"] == 2
    assert "Autodiscover points at the old server" in regenerated.json()["content_markdown"]
    # A second regeneration moments later, even by an admin: refused, nothing written.
    assert throttled.status_code == 429, throttled.text
    assert 1 <= int(throttled.headers["Retry-After"]) <= 3
    assert third.json()["version"] == 3  # the refused one took no version

    # One note on the ticket, holding the newest version; every push points at it.
    [note] = fake_psa.ticket_notes(provider, TICKET)
    text = note.get("text") or note.get("description") or note.get("note") or ""
    assert text.endswith(f"[flowpilot:{third.json()['id']}]")
    assert "Autodiscover points at the old server" in text
    assert {r["external_note_id"] for r in rows} == {str(note["id"])}
    assert len(fake_psa.calls(provider, "create_note")) == 1
    assert len(fake_psa.calls(provider, "update_note")) == 2


async def _all_pushed(api, team, sid: str, count: int) -> list[dict] | None:  # type: ignore[no-untyped-def]
    rows = await pushes(api, team.junior, sid)
    return rows if len(rows) == count and all(r["status"] == "pushed" for r in rows) else None

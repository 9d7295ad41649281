"""POST /api/v1/ai-sessions/{id}/documentation/regenerate: a new version, history kept, permissions."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
import pytest

from docgen.settings import DocgenSettings
from flowpilot_shared.models import SessionStep
from tests.docgen.conftest import documentation_rows, package_rows, running_docgen
from tests.harness.broker import capture
from tests.harness.factories import commit_events, make_escalation, make_team
from tests.harness.people import DOCUMENTATION_FIELDS, minted_headers
from tests.harness.waiting import wait_until

pytestmark = pytest.mark.usefixtures("purged_queue")


@contextlib.asynccontextmanager
async def documented(db, settings: DocgenSettings, event) -> AsyncIterator[httpx.AsyncClient]:
    """A running docgen that has written the escalation's first documentation, and a client of it."""
    async with running_docgen(settings) as app:
        await commit_events(db, event)
        await wait_until(lambda: documentation_rows(db, event.data.handoff_id), message="first documentation")
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://docgen"
        ) as client:
            yield client


async def test_regenerate_makes_new_versions_with_permission_checks(
    db, amqp, docgen_settings, fake_anthropic
):
    team = await make_team(db, engineers=2, viewers=1)
    _owner, junior, other_engineer, viewer = team.users
    stranger = (await make_team(db)).owner
    event = await make_escalation(db, team, escalator=junior, steps=[("action", "Ran sfc /scannow")])
    captured = await capture(amqp, "documentation.generated")
    # Regenerations back to back: the per-session throttle is off here (tested below).
    settings = docgen_settings(anthropic_api_key=None, regenerate_min_interval_seconds=0)
    url = f"/api/v1/ai-sessions/{event.session_id}/documentation/regenerate"
    async with documented(db, settings, event) as client:
        assert (await client.post(url)).status_code == 401
        other = await client.post(url, headers=minted_headers(settings, other_engineer))
        assert other.status_code == 403
        assert other.json()["detail"] == "Session owner or admin access required"
        assert (await client.post(url, headers=minted_headers(settings, viewer))).status_code == 403
        assert (await client.post(url, headers=minted_headers(settings, stranger))).status_code == 404
        missing = url.replace(str(event.session_id), "00000000-0000-0000-0000-000000000000")
        assert (await client.post(missing, headers=minted_headers(settings, junior))).status_code == 404
        bad_id = "/api/v1/ai-sessions/nope/documentation/regenerate"
        assert (await client.post(bad_id, headers=minted_headers(settings, junior))).status_code == 422

        by_owner_of_session = await client.post(url, headers=minted_headers(settings, junior))
        by_account_owner = await client.post(url, headers=minted_headers(settings, team.owner))
        await wait_until(
            lambda: len(captured.of_account(team.account.id)) >= 3,
            message="three documentation events",
        )

    assert by_owner_of_session.status_code == 201, by_owner_of_session.text
    body = by_owner_of_session.json()
    assert set(body) >= DOCUMENTATION_FIELDS
    assert body["version"] == 2 and body["generated_by"] == "template" and body["model"] is None
    assert body["handoff_id"] == str(event.data.handoff_id) and body["session_id"] == str(event.session_id)
    assert "Ran sfc /scannow" in body["content_markdown"]
    assert by_account_owner.status_code == 201 and by_account_owner.json()["version"] == 3

    docs = await documentation_rows(db, event.data.handoff_id)
    assert [d.version for d in docs] == [1, 2, 3]
    assert [p.version for p in await package_rows(db, event.data.handoff_id)] == [1, 2, 3]
    events = captured.of_account(team.account.id, "documentation.generated")
    assert sorted(e["data"]["version"] for e in events) == [1, 2, 3]
    assert {e["data"]["documentation_id"] for e in events} == {str(d.id) for d in docs}


async def test_regenerate_uses_current_steps_and_the_ai(db, docgen_settings, fake_anthropic):
    team = await make_team(db)
    junior = team.users[1]
    event = await make_escalation(
        db, team, escalator=junior, steps=[("action", "Cleared credential manager")]
    )
    settings = docgen_settings()
    async with documented(db, settings, event) as client:
        async with db.sessions() as session, session.begin():
            session.add(
                SessionStep(
                    session_id=event.session_id,
                    author_id=junior.id,
                    kind="action",
                    content="Reset MFA with token=ghp_16C7e42F292c6912E7710c838347Ae178B4a",
                )
            )
        response = await client.post(
            f"/api/v1/ai-sessions/{event.session_id}/documentation/regenerate",
            headers=minted_headers(settings, junior),
        )
    assert response.status_code == 201, response.text
    assert response.json()["generated_by"] == "ai" and response.json()["model"] == settings.docgen_model
    last = fake_anthropic.bodies[-1]
    sent = str(last)
    assert "Reset MFA" in sent and "ghp_16C7e42F292c6912E7710c838347Ae178B4a" not in sent
    # The fixed instructions are cached: the second call reads what the first one wrote.
    assert len(fake_anthropic.bodies) == 2 and last["system"] == fake_anthropic.bodies[0]["system"]


async def test_concurrent_regenerations_each_get_their_own_version(db, docgen_settings, fake_anthropic):
    # They read the same highest version; the losers of each insert take the next number.
    team = await make_team(db)
    junior = team.users[1]
    event = await make_escalation(db, team, escalator=junior)
    settings = docgen_settings(anthropic_api_key=None, regenerate_min_interval_seconds=0)
    url = f"/api/v1/ai-sessions/{event.session_id}/documentation/regenerate"
    async with documented(db, settings, event) as client:
        answers = await asyncio.gather(
            *(client.post(url, headers=minted_headers(settings, junior)) for _ in range(4))
        )
    assert [a.status_code for a in answers] == [201] * 4, [a.text for a in answers]
    assert sorted(a.json()["version"] for a in answers) == [2, 3, 4, 5]
    assert [d.version for d in await documentation_rows(db, event.data.handoff_id)] == [1, 2, 3, 4, 5]
    assert [p.version for p in await package_rows(db, event.data.handoff_id)] == [1, 2, 3, 4, 5]


async def test_concurrent_regenerations_of_a_session_are_throttled_to_one(db, docgen_settings):
    # Issue 24, item 10: each regeneration is a model call and a PSA update; one per interval.
    team = await make_team(db)
    junior = team.users[1]
    event = await make_escalation(db, team, escalator=junior)
    other = await make_escalation(db, team, escalator=junior)
    settings = docgen_settings(anthropic_api_key=None, regenerate_min_interval_seconds=60)
    url = f"/api/v1/ai-sessions/{event.session_id}/documentation/regenerate"
    async with documented(db, settings, event) as client:
        answers = await asyncio.gather(
            *(client.post(url, headers=minted_headers(settings, junior)) for _ in range(4))
        )
        # The throttle is per session: another session of the account is not held back.
        elsewhere = await client.post(
            f"/api/v1/ai-sessions/{other.session_id}/documentation/regenerate",
            headers=minted_headers(settings, junior),
        )
    assert sorted(a.status_code for a in answers) == [201, 429, 429, 429], [a.text for a in answers]
    for refused in (a for a in answers if a.status_code == 429):
        assert 55 <= int(refused.headers["Retry-After"]) <= 60
    assert [d.version for d in await documentation_rows(db, event.data.handoff_id)] == [1, 2]
    assert elsewhere.status_code == 201, elsewhere.text

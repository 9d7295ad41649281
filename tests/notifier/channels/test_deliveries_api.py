"""GET /api/v1/notifications/deliveries: owners and admins of the account only, newest first."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx

from flowpilot_shared.db import Database
from notifier.settings import NotifierSettings
from tests.harness.factories import make_escalation, make_team
from tests.harness.people import minted_headers
from tests.notifier.channels.conftest import delivery_of

FIELDS = {
    "id",
    "event_id",
    "event_type",
    "session_id",
    "handoff_id",
    "channel",
    "recipient",
    "status",
    "attempts",
    "last_error",
    "skip_reason",
    "created_at",
    "updated_at",
}


async def test_deliveries_are_for_owners_and_admins_of_the_account(
    deliveries_api: httpx.AsyncClient, db: Database, channel_settings: NotifierSettings
) -> None:
    team = await make_team(db, engineers=1, viewers=1)
    other = await make_team(db, engineers=1)
    event = await make_escalation(db, team, escalator=team.users[1])
    other_event = await make_escalation(db, other, escalator=other.users[1])
    now = datetime.now(UTC)
    async with db.sessions() as session, session.begin():
        for i, (channel, status) in enumerate([("email", "sent"), ("slack", "failed"), ("teams", "skipped")]):
            session.add(
                delivery_of(
                    event,
                    channel=channel,
                    recipient=f"r{i}",
                    status=status,
                    attempts=1,
                    created_at=now + timedelta(seconds=i),
                    last_error="invalid_auth" if status == "failed" else None,
                )
            )
        session.add(
            delivery_of(
                other_event, handoff_id=None, channel="email", recipient="x@example.com", status="sent"
            )
        )

    owner = await deliveries_api.get(
        "/api/v1/notifications/deliveries", headers=minted_headers(channel_settings, team.owner)
    )
    assert owner.status_code == 200, owner.text
    rows = owner.json()
    assert [r["channel"] for r in rows] == ["teams", "slack", "email"]  # newest first
    assert set(rows[0]) == FIELDS
    assert rows[1]["last_error"] == "invalid_auth" and rows[1]["session_id"] == str(event.session_id)

    scoped = await deliveries_api.get(
        "/api/v1/notifications/deliveries",
        params={"session_id": str(event.session_id)},
        headers=minted_headers(channel_settings, team.owner),
    )
    assert len(scoped.json()) == 3

    for user in (team.users[1], team.users[2]):  # engineer, viewer
        refused = await deliveries_api.get(
            "/api/v1/notifications/deliveries", headers=minted_headers(channel_settings, user)
        )
        assert refused.status_code == 403

    outsider = await deliveries_api.get(
        "/api/v1/notifications/deliveries", headers=minted_headers(channel_settings, other.owner)
    )
    assert [r["event_id"] for r in outsider.json()] == [str(other_event.id)]
    foreign = await deliveries_api.get(
        "/api/v1/notifications/deliveries",
        params={"session_id": str(event.session_id)},
        headers=minted_headers(channel_settings, other.owner),
    )
    assert foreign.status_code == 404
    unknown = await deliveries_api.get(
        "/api/v1/notifications/deliveries",
        params={"session_id": str(uuid.uuid4())},
        headers=minted_headers(channel_settings, team.owner),
    )
    assert unknown.status_code == 404
    malformed = await deliveries_api.get(
        "/api/v1/notifications/deliveries",
        params={"session_id": "nope"},
        headers=minted_headers(channel_settings, team.owner),
    )
    assert malformed.status_code == 422
    assert (await deliveries_api.get("/api/v1/notifications/deliveries")).status_code == 401

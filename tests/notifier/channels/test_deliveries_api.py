"""GET /api/v1/notifications/deliveries: owners and admins of the account only, newest first."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI

from flowpilot_shared.db import Database
from flowpilot_shared.models import User
from flowpilot_shared.models.notifications import Delivery
from flowpilot_shared.security.tokens import issue_token
from notifier.deliveries.views import router
from notifier.settings import NotifierSettings
from tests.harness.factories import make_escalation, make_team

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


@pytest.fixture
async def api(channel_settings: NotifierSettings, db: Database) -> AsyncIterator[httpx.AsyncClient]:
    """The deliveries router mounted as the notifier mounts it."""
    app = FastAPI()
    app.state.settings = channel_settings
    app.state.db = db
    app.include_router(router, prefix="/api/v1")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://notifier"
    ) as client:
        yield client


def auth(settings: NotifierSettings, user: User) -> dict[str, str]:
    token = issue_token(
        user_id=user.id, account_id=user.account_id, secret=settings.jwt_secret, ttl_seconds=600
    )
    return {"Authorization": f"Bearer {token}"}


async def test_deliveries_are_for_owners_and_admins_of_the_account(
    api: httpx.AsyncClient, db: Database, channel_settings: NotifierSettings
) -> None:
    team = await make_team(db, engineers=1, viewers=1)
    other = await make_team(db, engineers=1)
    event = await make_escalation(db, team, escalator=team.users[1])
    other_event = await make_escalation(db, other, escalator=other.users[1])
    now = datetime.now(UTC)
    async with db.sessions() as session, session.begin():
        for i, (channel, status) in enumerate([("email", "sent"), ("slack", "failed"), ("teams", "skipped")]):
            session.add(
                Delivery(
                    account_id=team.account.id,
                    session_id=event.session_id,
                    handoff_id=event.data.handoff_id,
                    event_id=event.id,
                    event_type=event.type,
                    channel=channel,
                    recipient=f"r{i}",
                    status=status,
                    attempts=1,
                    created_at=now + timedelta(seconds=i),
                    last_error="invalid_auth" if status == "failed" else None,
                )
            )
        session.add(
            Delivery(
                account_id=other.account.id,
                session_id=other_event.session_id,
                event_id=other_event.id,
                event_type=other_event.type,
                channel="email",
                recipient="x@example.com",
                status="sent",
            )
        )

    owner = await api.get("/api/v1/notifications/deliveries", headers=auth(channel_settings, team.owner))
    assert owner.status_code == 200, owner.text
    rows = owner.json()
    assert [r["channel"] for r in rows] == ["teams", "slack", "email"]  # newest first
    assert set(rows[0]) == FIELDS
    assert rows[1]["last_error"] == "invalid_auth" and rows[1]["session_id"] == str(event.session_id)

    scoped = await api.get(
        "/api/v1/notifications/deliveries",
        params={"session_id": str(event.session_id)},
        headers=auth(channel_settings, team.owner),
    )
    assert len(scoped.json()) == 3

    for user in (team.users[1], team.users[2]):  # engineer, viewer
        refused = await api.get("/api/v1/notifications/deliveries", headers=auth(channel_settings, user))
        assert refused.status_code == 403

    outsider = await api.get("/api/v1/notifications/deliveries", headers=auth(channel_settings, other.owner))
    assert [r["event_id"] for r in outsider.json()] == [str(other_event.id)]
    foreign = await api.get(
        "/api/v1/notifications/deliveries",
        params={"session_id": str(event.session_id)},
        headers=auth(channel_settings, other.owner),
    )
    assert foreign.status_code == 404
    unknown = await api.get(
        "/api/v1/notifications/deliveries",
        params={"session_id": str(uuid.uuid4())},
        headers=auth(channel_settings, team.owner),
    )
    assert unknown.status_code == 404
    malformed = await api.get(
        "/api/v1/notifications/deliveries",
        params={"session_id": "nope"},
        headers=auth(channel_settings, team.owner),
    )
    assert malformed.status_code == 422
    assert (await api.get("/api/v1/notifications/deliveries")).status_code == 401

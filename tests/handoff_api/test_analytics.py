"""`GET /analytics/escalations`: counts and pickup times on a known set; roles, tenancy, bad dates."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from prometheus_client import REGISTRY

from flowpilot_shared.db import Database
from tests.harness.people import API, add_user, create_session, escalate, signup

STATS = f"{API}/analytics/escalations"
# Pin an escalation in time: created `age` ago, claimed `waited` seconds after it entered the queue.
PIN = """
UPDATE handoffs SET created_at = now() - make_interval(secs => $2), queued_at = $3::timestamptz,
  claimed_at = CASE WHEN $4::uuid IS NULL THEN NULL ELSE now() - make_interval(secs => $2) + make_interval(secs => $5) END,
  claimed_by = $4::uuid, reescalations = $6
WHERE id = $1
"""


async def _pin(
    db: Database, handoff_id: str, *, age: float, waited: float = 0, by=None, rounds: int = 0
) -> None:
    async with db.driver() as conn:
        await conn.execute(PIN, uuid.UUID(handoff_id), age, None, by.id if by else None, waited, rounds)


async def test_known_set(api, db):
    tenant = await signup(api)
    junior = await add_user(api, tenant, "engineer")
    sam, alex = (
        await add_user(api, tenant, "engineer", name="Sam"),
        await add_user(api, tenant, "admin", name="Alex"),
    )
    stranger = await signup(api)
    stranger_junior = await add_user(api, stranger, "engineer")
    hours = 3600

    async def escalation() -> str:
        session = await create_session(api, junior.token)
        return str((await escalate(api, junior.token, session["id"]))["id"])

    await _pin(db, await escalation(), age=2 * hours, waited=60, by=sam)
    await _pin(db, await escalation(), age=3 * hours, waited=120, by=sam, rounds=1)
    await _pin(db, await escalation(), age=4 * hours, waited=300, by=alex)
    await _pin(db, await escalation(), age=5 * hours, rounds=3)  # still unclaimed after 3 reminders
    await _pin(db, await escalation(), age=40 * 24 * hours, waited=10, by=alex)  # outside the 30 days
    other = await create_session(api, stranger_junior.token)
    await escalate(api, stranger_junior.token, other["id"])  # another account's: never counted

    stats = (await api.get(STATS, headers=tenant.owner.headers)).json()
    assert {k: stats[k] for k in ("escalations", "claimed", "unclaimed", "reescalated")} == {
        "escalations": 4,
        "claimed": 3,
        "unclaimed": 1,
        "reescalated": 2,
    }
    assert stats["median_time_to_pickup_seconds"] == 120.0
    assert stats["p90_time_to_pickup_seconds"] == 264.0  # 120 + 0.8 * (300 - 120)
    assert stats["by_claimer"] == [
        {"user_id": str(sam.id), "name": "Sam", "claimed": 2, "median_time_to_pickup_seconds": 90.0},
        {"user_id": str(alex.id), "name": "Alex", "claimed": 1, "median_time_to_pickup_seconds": 300.0},
    ]
    # A window of 4.5 h up to 2.5 h ago holds the second and third only (naive times are UTC).
    now = datetime.now(UTC)
    since = (now - timedelta(hours=4.5)).replace(tzinfo=None).isoformat()
    until = (now - timedelta(hours=2.5)).isoformat()
    narrow = (
        await api.get(STATS, headers=tenant.owner.headers, params={"since": since, "until": until})
    ).json()
    assert (narrow["escalations"], narrow["claimed"], narrow["median_time_to_pickup_seconds"]) == (
        2,
        2,
        210.0,
    )
    wide = (await api.get(STATS, headers=alex.headers, params={"since": "2000-01-01T00:00:00Z"})).json()
    assert wide["escalations"] == 5


async def test_an_empty_window_has_nulls_not_errors(api):
    tenant = await signup(api)
    stats = (await api.get(STATS, headers=tenant.owner.headers)).json()
    assert stats["escalations"] == 0 and stats["median_time_to_pickup_seconds"] is None
    assert stats["p90_time_to_pickup_seconds"] is None and stats["by_claimer"] == []


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"since": "yesterday"}, "since"),
        ({"until": "2026-13-45T00:00:00Z"}, "until"),
        ({"since": "2026-05-02T00:00:00Z", "until": "2026-05-01T00:00:00Z"}, "since"),
        ({"since": "2026-05-01T00:00:00Z", "until": "2026-05-01T00:00:00Z"}, "since"),
        ({"until": "0001-01-02T00:00:00Z"}, "until"),
    ],
)
async def test_bad_dates_are_422_naming_the_parameter(api, params, field):
    tenant = await signup(api)
    response = await api.get(STATS, headers=tenant.owner.headers, params=params)
    assert response.status_code == 422, response.text
    assert ["query", field] in [e["loc"] for e in response.json()["detail"]]


async def test_owner_or_admin_only(api):
    tenant = await signup(api)
    for role in ("engineer", "viewer"):
        person = await add_user(api, tenant, role)
        assert (await api.get(STATS, headers=person.headers)).status_code == 403
    assert (await api.get(STATS)).status_code == 401


async def test_a_claim_observes_the_time_to_pickup_histogram(api):
    def observed() -> float:
        return REGISTRY.get_sample_value("flowpilot_time_to_pickup_seconds_count") or 0.0

    tenant = await signup(api)
    junior, sam = await add_user(api, tenant, "engineer"), await add_user(api, tenant, "engineer")
    session = await create_session(api, junior.token)
    handoff = await escalate(api, junior.token, session["id"])
    before = observed()
    claim = await api.post(
        f"{API}/ai-sessions/{session['id']}/handoffs/{handoff['id']}/claim", headers=sam.headers
    )
    assert claim.status_code == 200
    assert observed() == before + 1
    metrics = (await api.get("/metrics")).text
    assert "flowpilot_time_to_pickup_seconds_bucket" in metrics

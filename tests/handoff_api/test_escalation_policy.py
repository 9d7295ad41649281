"""`GET/PUT /escalation-policy`: defaults, owner/admin only, ranges (422 naming the field), re-planning."""

from __future__ import annotations

import pytest

from tests.harness.people import API, add_user, create_session, escalate, signup
from tests.harness.timers import set_policy, timer_of

POLICY = f"{API}/escalation-policy"


async def test_defaults_then_set_by_an_admin_and_read_back(api):
    tenant = await signup(api)
    admin = await add_user(api, tenant, "admin")
    other = await signup(api)
    default = (await api.get(POLICY, headers=tenant.owner.headers)).json()
    assert (default["reescalate_after_seconds"], default["max_rounds"]) == (600, 3)

    saved = await set_policy(api, admin, reescalate_after_seconds=90, max_rounds=0)
    assert (saved["reescalate_after_seconds"], saved["max_rounds"]) == (90, 0)
    read = (await api.get(POLICY, headers=tenant.owner.headers)).json()
    assert (read["reescalate_after_seconds"], read["max_rounds"]) == (90, 0)
    # Bounds are inclusive; each account has its own policy.
    await set_policy(api, tenant.owner, reescalate_after_seconds=86400, max_rounds=10)
    await set_policy(api, tenant.owner, reescalate_after_seconds=5, max_rounds=10)
    theirs = (await api.get(POLICY, headers=other.owner.headers)).json()
    assert (theirs["reescalate_after_seconds"], theirs["max_rounds"]) == (600, 3)


async def test_engineers_and_viewers_may_neither_read_nor_set_it(api):
    tenant = await signup(api)
    for role in ("engineer", "viewer"):
        person = await add_user(api, tenant, role)
        assert (await api.get(POLICY, headers=person.headers)).status_code == 403
        body = {"reescalate_after_seconds": 60, "max_rounds": 1}
        assert (await api.put(POLICY, headers=person.headers, json=body)).status_code == 403
    assert (await api.get(POLICY)).status_code == 401
    read = (await api.get(POLICY, headers=tenant.owner.headers)).json()
    assert read["reescalate_after_seconds"] == 600


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"reescalate_after_seconds": 4, "max_rounds": 3}, "reescalate_after_seconds"),
        ({"reescalate_after_seconds": 86401, "max_rounds": 3}, "reescalate_after_seconds"),
        ({"reescalate_after_seconds": 60, "max_rounds": -1}, "max_rounds"),
        ({"reescalate_after_seconds": 60, "max_rounds": 11}, "max_rounds"),
        ({"reescalate_after_seconds": "60", "max_rounds": 3}, "reescalate_after_seconds"),
        ({"reescalate_after_seconds": 60.5, "max_rounds": 3}, "reescalate_after_seconds"),
        ({"reescalate_after_seconds": True, "max_rounds": 3}, "reescalate_after_seconds"),
        ({"reescalate_after_seconds": None, "max_rounds": 3}, "reescalate_after_seconds"),
        ({"max_rounds": 3}, "reescalate_after_seconds"),
        ({"reescalate_after_seconds": 60}, "max_rounds"),
    ],
)
async def test_out_of_range_or_malformed_is_422_naming_the_field_and_changes_nothing(api, body, field):
    tenant = await signup(api)
    response = await api.put(POLICY, headers=tenant.owner.headers, json=body)
    assert response.status_code == 422, response.text
    assert ["body", field] in [e["loc"] for e in response.json()["detail"]]
    read = (await api.get(POLICY, headers=tenant.owner.headers)).json()
    assert (read["reescalate_after_seconds"], read["max_rounds"]) == (600, 3)


async def test_not_a_json_object_is_422(api):
    tenant = await signup(api)
    for raw in (b"[1, 2]", b"not json", b""):
        response = await api.put(
            POLICY, headers={**tenant.owner.headers, "Content-Type": "application/json"}, content=raw
        )
        assert response.status_code == 422, (raw, response.text)


async def test_a_new_interval_moves_the_due_time_of_waiting_escalations(api, db):
    tenant = await signup(api)
    junior = await add_user(api, tenant, "engineer")
    session = await create_session(api, junior.token)
    await escalate(api, junior.token, session["id"])
    timer = await timer_of(db, session["id"])
    assert timer is not None and 590 < timer["due_in"] <= 600  # the default policy, on the database's clock
    await set_policy(api, tenant.owner, reescalate_after_seconds=3600, max_rounds=2)
    moved = await timer_of(db, session["id"])
    assert moved is not None and moved["last_at"] == timer["last_at"]
    assert (moved["due_at"] - moved["last_at"]).total_seconds() == 3600

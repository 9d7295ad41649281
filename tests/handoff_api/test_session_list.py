"""`GET /ai-sessions`: the account's sessions for the console's Sessions page, newest change first."""

from __future__ import annotations

from tests.harness.people import API, add_user, create_session, escalate, signup


async def test_lists_the_accounts_sessions_filtered_by_owner_and_status(api):
    tenant = await signup(api)
    junior = await add_user(api, tenant, "engineer")
    senior = await add_user(api, tenant, "engineer")
    viewer = await add_user(api, tenant, "viewer")
    first = await create_session(api, junior.token, title="First")
    second = await create_session(api, junior.token, title="Second")
    theirs = await create_session(api, senior.token, title="Senior's own")
    await escalate(api, junior.token, first["id"])
    other = await signup(api)
    await create_session(api, (await add_user(api, other, "engineer")).token, title="Other tenant")

    everything = await api.get(f"{API}/ai-sessions", headers=viewer.headers)
    assert everything.status_code == 200, everything.text
    # Most recently changed first: the escalation touched the first session last.
    assert [s["id"] for s in everything.json()] == [first["id"], theirs["id"], second["id"]]
    assert set(everything.json()[0]) == {
        "id", "owner_id", "title", "client_name", "psa_ticket_id", "status", "created_at", "updated_at",
    }  # fmt: skip

    mine = (await api.get(f"{API}/ai-sessions", params={"mine": "true"}, headers=junior.headers)).json()
    assert [s["title"] for s in mine] == ["First", "Second"]
    escalated = await api.get(
        f"{API}/ai-sessions", params={"status": ["escalated", "parked"]}, headers=senior.headers
    )
    assert [(s["title"], s["status"]) for s in escalated.json()] == [("First", "escalated")]
    limited = await api.get(f"{API}/ai-sessions", params={"limit": 1}, headers=senior.headers)
    assert len(limited.json()) == 1
    both = await api.get(
        f"{API}/ai-sessions",
        params={"mine": "true", "status": ["active"], "limit": 5},
        headers=junior.headers,
    )
    assert [s["title"] for s in both.json()] == ["Second"]


async def test_bad_filters_are_422_naming_the_parameter(api):
    tenant = await signup(api)
    for params, field in (
        ({"status": "sleeping"}, "status"),
        ({"limit": 0}, "limit"),
        ({"mine": "x"}, "mine"),
    ):
        refused = await api.get(f"{API}/ai-sessions", params=params, headers=tenant.owner.headers)
        assert refused.status_code == 422, refused.text
        assert refused.json()["detail"][0]["loc"][:2] == ["query", field]
    assert (await api.get(f"{API}/ai-sessions")).status_code == 401

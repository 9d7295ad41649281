"""Sessions and the events about them stay bounded (issue 24, item 9): steps per session have a limit
(answered 422, nothing written), and an event carries the newest steps within a byte limit."""

from __future__ import annotations

import json

from flowpilot_shared.events import SNAPSHOT_MAX_STEP_BYTES, SNAPSHOT_MAX_STEPS
from flowpilot_shared.settings import CoreSettings
from tests.harness.api import api_settings, running_api
from tests.harness.broker import capture
from tests.harness.people import API, add_user, create_session, escalate, signup
from tests.harness.waiting import wait_until


async def test_a_step_past_the_limit_is_refused_and_nothing_is_written(core_settings: CoreSettings):
    async with running_api(api_settings(core_settings, max_steps_per_session=5)) as api:
        tenant = await signup(api)
        junior = await add_user(api, tenant, "engineer")
        session = await create_session(api, junior.token, steps=[("action", f"Try {n}") for n in range(5)])
        url = f"{API}/ai-sessions/{session['id']}/steps"
        refused = await api.post(url, headers=junior.headers, json={"kind": "action", "content": "One more"})
        after = await api.get(f"{API}/ai-sessions/{session['id']}", headers=junior.headers)

    assert refused.status_code == 422, refused.text
    [error] = refused.json()["detail"]
    assert error["loc"] == ["path", "session_id"] and "at most 5 steps" in error["msg"]
    assert [s["content"] for s in after.json()["steps"]] == [f"Try {n}" for n in range(5)]


async def test_the_escalation_event_carries_the_newest_steps_within_its_bounds(
    core_settings: CoreSettings, amqp
):
    captured = await capture(amqp, "handoff.escalated")
    big = [("observation", f"{n:03d} " + "日志" * 9_998) for n in range(6)]  # 20,000 characters, 60 KB each
    small = [("action", f"Small step {n}") for n in range(SNAPSHOT_MAX_STEPS + 20)]
    async with running_api(api_settings(core_settings, rate_limit_per_minute=0)) as api:
        tenant = await signup(api)
        junior = await add_user(api, tenant, "engineer")
        heavy = await create_session(api, junior.token, steps=big)
        many = await create_session(api, junior.token, steps=small)
        await escalate(api, junior.token, heavy["id"])
        await escalate(api, junior.token, many["id"])

        async def both() -> list[dict] | None:
            events = captured.of_account(tenant.account_id, "handoff.escalated")
            return events if len(events) == 2 else None

        events = {e["session_id"]: e["data"]["session"] for e in await wait_until(both, message="two events")}

    by_bytes = events[heavy["id"]]
    sizes = [len(s["content"].encode()) for s in by_bytes["steps"]]
    # The newest steps that fit the byte limit, oldest of them first; the others counted.
    assert sum(sizes) <= SNAPSHOT_MAX_STEP_BYTES and len(sizes) == 1
    assert by_bytes["steps"][-1]["content"].startswith("005 ")
    assert by_bytes["steps_omitted"] == 5
    by_count = events[many["id"]]
    assert [s["content"] for s in by_count["steps"]] == [c for _, c in small[-SNAPSHOT_MAX_STEPS:]]
    assert by_count["steps_omitted"] == 20
    assert len(json.dumps(by_bytes)) < 2 * SNAPSHOT_MAX_STEP_BYTES

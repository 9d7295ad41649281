"""The stream under hostile or broken clients: unreadable Last-Event-IDs, open-stream caps, access revoked."""

from __future__ import annotations

import asyncio
import uuid

from tests.harness.api import api_settings, running_api
from tests.harness.factories import commit_events, make_escalation, make_team
from tests.harness.people import API, add_user, create_session, escalate, signup
from tests.harness.sse import open_stream
from tests.harness.waiting import wait_until
from tests.notifier.conftest import notifier_settings_from, serve_notifier

STREAM = "ai-sessions/escalations/stream"
# Not "<txid>.<seq>", or parts beyond PostgreSQL's bigint: none can name a row of the event log.
UNREADABLE_IDS = [
    "1234567890123456789",
    "abc",
    "9" * 300,
    "9999999999999999999.9999999999999999999",
    "9223372036854775808.1",
    "1.2.3",
]


async def test_unreadable_last_event_id_still_gets_ready_and_live_events(notifier, http, db, token_for):
    team = await make_team(db, engineers=2)
    url = notifier.url(STREAM)
    for last_id in UNREADABLE_IDS:
        for how in ("header", "query"):
            headers = token_for(team.owner)
            if how == "header":
                target, headers = url, {**headers, "Last-Event-ID": last_id}
            else:
                target = f"{url}?last_event_id={last_id}"
            async with open_stream(http, target, headers=headers) as stream:
                ready = await stream.wait_event("ready")
                assert ready.json()["resumed"] is False, (how, last_id)
                reset = await stream.wait_event("reset")
                assert reset.json()["reason"] == "malformed_last_event_id"
                event = await make_escalation(db, team, escalator=team.users[1])
                await commit_events(db, event)
                await stream.wait_event(
                    "handoff_created", where=lambda d, e=event: d["event_id"] == str(e.id)
                )
            # (The owner's bell row for the escalation may come along as a `notification` event.)
            names = [e.event for e in stream.events if e.event != "notification"]
            assert names == ["ready", "reset", "handoff_created"], (how, last_id)


async def test_streams_past_the_caps_answer_429(notifier_settings, http, db, token_for):
    settings = notifier_settings.model_copy(
        update={"sse_max_streams_per_user": 2, "sse_max_streams_per_account": 3}
    )
    team = await make_team(db, engineers=3)
    owner, first, second = team.owner, team.users[1], team.users[2]
    async with serve_notifier(settings) as notifier:
        url = notifier.url(STREAM)
        async with (
            open_stream(http, url, headers=token_for(owner)) as one,
            open_stream(http, url, headers=token_for(owner)) as two,
        ):
            await one.wait_event("ready")
            await two.wait_event("ready")
            refused = await http.get(url, headers=token_for(owner))
            assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
            assert refused.json()["detail"] == "Too many open streams for this user"
            async with open_stream(http, url, headers=token_for(first)) as three:
                await three.wait_event("ready")  # another user of the account still gets one
                refused = await http.get(url, headers=token_for(second))
                assert refused.status_code == 429
                assert refused.json()["detail"] == "Too many open streams for this account"
        # Closed streams free their places (once the replica has seen them go).
        await wait_until(lambda: _no_streams(notifier, team.account.id), timeout=15, message="streams closed")
        async with open_stream(http, url, headers=token_for(second)) as again:
            await again.wait_event("ready")


async def _no_streams(notifier, account_id: uuid.UUID) -> bool:
    return notifier.hub.subscriber_count(account_id) == 0


async def test_streams_end_when_their_user_loses_access(core_settings, http):
    # The user changes go through handoff-api; the notifier replica learns of them by itself.
    settings = notifier_settings_from(core_settings, sse_access_recheck_seconds=0.5)
    async with (
        running_api(api_settings(core_settings, rate_limit_per_minute=0)) as api,
        serve_notifier(settings) as notifier,
    ):
        tenant = await signup(api)
        deactivated, demoted, deleted, keeper = [await add_user(api, tenant) for _ in range(4)]
        url = notifier.url(STREAM)
        async with (
            open_stream(http, url, headers=deactivated.headers) as s_deactivated,
            open_stream(http, url, headers=demoted.headers) as s_demoted,
            open_stream(http, url, headers=deleted.headers) as s_deleted,
            open_stream(http, url, headers=keeper.headers) as s_keeper,
        ):
            for stream in (s_deactivated, s_demoted, s_deleted, s_keeper):
                await stream.wait_event("ready")
            owner = tenant.owner.headers
            changes = [
                api.patch(f"{API}/users/{deactivated.id}", headers=owner, json={"is_active": False}),
                api.patch(f"{API}/users/{demoted.id}", headers=owner, json={"role": "viewer"}),
                api.delete(f"{API}/users/{deleted.id}", headers=owner),
            ]
            assert [r.status_code for r in await asyncio.gather(*changes)] == [200, 200, 204]
            for stream in (s_deactivated, s_demoted, s_deleted):
                await asyncio.wait_for(stream.closed.wait(), timeout=20)
            assert not s_keeper.closed.is_set()
            session = await create_session(api, tenant.owner.token)
            await escalate(api, tenant.owner.token, session["id"])
            await s_keeper.wait_event("handoff_created", where=lambda d: d["session_id"] == session["id"])
        for person, status in ((deactivated, 401), (demoted, 403), (deleted, 401)):
            assert (await http.get(url, headers=person.headers)).status_code == status
        for stream in (s_deactivated, s_demoted, s_deleted):
            assert [e.event for e in stream.events] == ["ready"]

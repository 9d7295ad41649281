"""Replicas and slow clients: every replica's clients hear everything, nobody waits for a laggard."""

from __future__ import annotations

import socket

import httpx
from prometheus_client import REGISTRY

from flowpilot_shared.unit_of_work import OrmUnitOfWork
from tests.harness.factories import commit_events, documentation_event, make_escalation, make_team
from tests.harness.sse import open_stream
from tests.harness.waiting import wait_until
from tests.notifier.conftest import bell_rows, serve_notifier

STREAM = "ai-sessions/escalations/stream"


async def test_two_replicas_each_client_hears_every_event_once(notifier_settings, http, db, token_for):
    team = await make_team(db, engineers=3)
    owner, escalator, eng2 = team.users[0], team.users[1], team.users[2]
    async with (
        serve_notifier(notifier_settings) as one,
        serve_notifier(notifier_settings) as two,
        open_stream(http, one.url(STREAM), headers=token_for(owner)) as on_one,
        open_stream(http, two.url(STREAM), headers=token_for(eng2)) as on_two,
    ):
        await on_one.wait_event("ready")
        await on_two.wait_event("ready")
        event = await make_escalation(db, team, escalator=escalator)
        marker = await make_escalation(db, team, escalator=escalator)
        await commit_events(db, event)
        await commit_events(db, marker)
        for stream in (on_one, on_two):
            for escalated in (event, marker):
                await stream.wait_event(
                    "handoff_created", where=lambda d, e=escalated: d["event_id"] == str(e.id)
                )
            await stream.wait_for(lambda s: len(s.named("notification")) >= 2, message="both bell rows")
        rows, marker_rows = await bell_rows(db, event.id), await bell_rows(db, marker.id)
        assert len(marker_rows) == 3
        assert sorted(r.user_id for r in rows) == sorted([owner.id, eng2.id, team.users[3].id])
        for stream, user in ((on_one, owner), (on_two, eng2)):
            created = [e.json()["event_id"] for e in stream.named("handoff_created")]
            assert sorted(created) == sorted([str(event.id), str(marker.id)])
            notes = [e.json()["id"] for e in stream.named("notification")]
            # One per escalation, the user's own rows, whichever replica created them.
            mine = {str(r.id) for r in [*rows, *marker_rows] if r.user_id == user.id}
            assert len(notes) == 2 and set(notes) == mine


async def test_a_client_that_stops_reading_is_dropped_others_keep_receiving(notifier_settings, db, token_for):
    team = await make_team(db, engineers=1)
    settings = notifier_settings.model_copy(update={"sse_client_buffer": 16})
    labels = {"reason": "slow_client"}
    dropped_before = REGISTRY.get_sample_value("flowpilot_notifier_stream_dropped_clients_total", labels) or 0
    # A tiny receive window so a client that stops reading backs up into the server quickly.
    small = httpx.AsyncHTTPTransport(socket_options=[(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)])
    async with (
        serve_notifier(settings, send_buffer=8192) as notifier,
        httpx.AsyncClient(transport=small) as slow_http,
        httpx.AsyncClient() as http,
        open_stream(slow_http, notifier.url(STREAM), headers=token_for(team.owner)) as slow,
        open_stream(http, notifier.url(STREAM), headers=token_for(team.users[1])) as fast,
    ):
        await slow.wait_event("ready")
        await fast.wait_event("ready")
        assert notifier.hub.subscriber_count(team.account.id) == 2
        slow.pause()
        escalated = await make_escalation(db, team, escalator=team.users[1])
        # 15 bursts of 10 events of ~8 KB: far more than the slow client's socket and buffer hold.
        events = [documentation_event(escalated, title="T" * 8000 + f" #{i}") for i in range(150)]
        for start in range(0, len(events), 10):
            async with OrmUnitOfWork(db.sessions) as uow:
                for event in events[start : start + 10]:
                    uow.add_event(event)
                await uow.commit()
            await fast.wait_for(
                lambda s, n=start + 10: len(s.named("documentation_ready")) >= n, message=f"burst {start}"
            )

        async def slow_dropped() -> bool:
            value = REGISTRY.get_sample_value("flowpilot_notifier_stream_dropped_clients_total", labels) or 0
            return value > dropped_before and notifier.hub.subscriber_count(team.account.id) == 1

        await wait_until(slow_dropped, timeout=15, message="slow client dropped")
        slow.resume()
        await wait_until(lambda: _closed(slow), timeout=15, message="slow stream ended")
        got = [e.json()["event_id"] for e in slow.named("documentation_ready")]
        everything = {str(e.id) for e in events}
        assert len(got) < len(events)
        fast_ids = [e.json()["event_id"] for e in fast.named("documentation_ready")]
        assert len(fast_ids) == len(events) and set(fast_ids) == everything

        # It resumes from the last event it got and receives everything it missed.
        assert got, "the slow client got some events before falling behind"
        headers = {**token_for(team.owner), "Last-Event-ID": slow.named("documentation_ready")[-1].id}
        async with open_stream(http, notifier.url(STREAM), headers=headers) as resumed:
            missing = everything - set(got)
            await resumed.wait_for(
                lambda s: missing <= {e.json()["event_id"] for e in s.named("documentation_ready")},
                timeout=15,
                message="the missed events",
            )


async def _closed(stream) -> bool:
    return stream.closed.is_set()

"""The stream under hostile or broken clients: unreadable Last-Event-IDs, open-stream caps, access revoked."""

from __future__ import annotations

from tests.harness.factories import make_escalation, make_team
from tests.harness.sse import open_stream
from tests.notifier.conftest import emit

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
                await emit(db, event)
                await stream.wait_event("handoff_created", where=lambda d, e=event: d["event_id"] == str(e.id))
            # (The owner's bell row for the escalation may come along as a `notification` event.)
            names = [e.event for e in stream.events if e.event != "notification"]
            assert names == ["ready", "reset", "handoff_created"], (how, last_id)

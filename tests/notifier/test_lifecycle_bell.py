"""Bell rows and stream events of rounds, final notices and releases."""

from __future__ import annotations

from tests.harness.factories import commit_events, make_escalation, make_team
from tests.harness.sse import open_stream
from tests.harness.waiting import wait_until
from tests.notifier.conftest import bell_rows
from tests.notifier.lifecycle_events import released_event, round_event, with_urgency

STREAM = "ai-sessions/escalations/stream"


async def _rows_when(db, event_id, count: int):
    rows = await bell_rows(db, event_id)
    return rows if len(rows) >= count else None


async def test_rounds_final_notice_and_release_on_the_bell_and_the_stream(notifier, http, db, token_for):
    team = await make_team(db, engineers=3, viewers=1)
    owner, escalator, sam, alex, viewer = team.users
    escalation = with_urgency(await make_escalation(db, team, escalator=escalator, target=sam), "high")
    everyone = [team.ref(u) for u in (owner, sam, alex, viewer)]  # the viewer is refused by the notifier
    first = round_event(escalation, round=1, recipients=everyone, max_rounds=1, waited_seconds=300)
    final = round_event(escalation, round=2, recipients=[team.ref(owner)], final=True, max_rounds=1)
    release = released_event(escalation, team=team, by=owner, claimer=sam)

    async with open_stream(http, notifier.url(STREAM), headers=token_for(alex)) as stream:
        await stream.wait_event("ready")
        await commit_events(db, first, final, release)
        reminded = await wait_until(lambda: _rows_when(db, first.id, 3), message="round bell rows")
        assert {r.user_id for r in reminded} == {owner.id, sam.id, alex.id}
        for row in reminded:
            assert (
                row.type == "handoff_reescalated"
                and row.link == f"/pilot/{escalation.session_id}?pickup=true"
            )
            assert row.title == f"High urgency: Still unclaimed after 5 min: {escalation.data.session.title}"
            assert row.body.startswith("Reminder 1 of 1: ")
        [notice] = await wait_until(lambda: _rows_when(db, final.id, 1), message="final notice bell row")
        assert notice.user_id == owner.id and notice.type == "handoff_unclaimed"
        assert "after 10 min and 1 reminder: " in notice.body
        [released] = await wait_until(lambda: _rows_when(db, release.id, 1), message="release bell row")
        assert released.user_id == escalator.id and released.type == "handoff_released"
        assert released.title == f"{owner.name} released {escalation.data.session.title}"

        rounds = [
            (await stream.wait_event("handoff_reescalated", where=lambda d, n=n: d["round"] == n)).json()
            for n in (1, 2)
        ]
        assert [(r["final"], r["urgency"], r["handoff_id"]) for r in rounds] == [
            (False, "high", str(escalation.data.handoff_id)),
            (True, "high", str(escalation.data.handoff_id)),
        ]
        assert rounds[0]["session_id"] == str(escalation.session_id) and rounds[0]["recipients"] == 4
        back = (await stream.wait_event("handoff_released")).json()
        assert back["handoff_id"] == str(escalation.data.handoff_id) and back["status"] == "escalated"
        assert back["released_by"] == {"id": str(owner.id), "name": owner.name}
        assert back["claimer"]["id"] == str(sam.id) and back["urgency"] == "high"
        # The round's bell row reached this senior's stream too.
        await stream.wait_event("notification", where=lambda d: d["type"] == "handoff_reescalated")

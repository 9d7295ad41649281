"""Escalation lifecycle end to end: reminders, the owners' final notice, claim, release, restarts, replicas.

The four services run as real processes behind nginx; a 5-second policy keeps the stories short.
"""

from __future__ import annotations

import uuid
from datetime import datetime

import httpx
import pytest

from tests.e2e.conftest import Fakes, System
from tests.e2e.lifecycle_story import (
    final_notices,
    has_timer,
    reminders,
    rounds_of,
    timeline,
    wait_for_database_clock,
)
from tests.e2e.story import Team, bell, make_team, ok
from tests.harness.people import API, create_session, escalate
from tests.harness.processes import ServiceProcess
from tests.harness.sse import open_stream
from tests.harness.timers import set_policy
from tests.harness.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

STREAM = f"{API}/ai-sessions/escalations/stream"
INTERVAL = 5


async def _escalated(
    gw: httpx.AsyncClient, team: Team, *, rounds: int, **kwargs: object
) -> tuple[str, str, str]:
    """A 5-second policy with `rounds` rounds, then the junior's escalation: (session id, handoff id, title)."""
    await set_policy(gw, team.owner, reescalate_after_seconds=INTERVAL, max_rounds=rounds)
    title = f"VPN drops every hour {uuid.uuid4().hex[:6]}"
    session = await create_session(gw, team.junior.token, title=title, psa_ticket_id=None)
    handoff = await escalate(gw, team.junior.token, session["id"], reason="Tunnel flaps", **kwargs)
    return session["id"], handoff["id"], title


async def test_two_reminder_rounds_then_owners_and_admins_are_told_once(system: System, fakes: Fakes, gw):
    team = await make_team(gw, fakes, psa=False)
    sam, alex = team.seniors  # an engineer and an admin
    async with open_stream(gw, STREAM, headers=alex.headers) as stream:
        await stream.wait_event("ready")
        sid, hid, title = await _escalated(gw, team, rounds=2, target_user_id=sam.id, urgency="high")
        # Targeted at Sam: only Sam hears of the escalation itself ...
        await wait_until(lambda: fakes.smtp.to(sam.email), timeout=30, message="escalation email to Sam")
        # ... then every senior, round after round, and finally the owners and admins.
        for person in (team.owner, alex):
            await wait_until(
                lambda p=person: final_notices(fakes, p, title),
                timeout=90,
                message=f"final notice to {person.name}",
            )
        events = [
            (
                await stream.wait_event(
                    "handoff_reescalated", where=lambda d, n=n: d["round"] == n, timeout=30
                )
            ).json()
            for n in (1, 2, 3)
        ]
    assert [(e["final"], e["urgency"], e["handoff_id"]) for e in events] == [
        (False, "high", hid),
        (False, "high", hid),
        (True, "high", hid),
    ]
    # Each round waited one more interval (on the database's clock, whatever the box's load).
    assert [e["waited_seconds"] >= INTERVAL * n for n, e in enumerate(events, start=1)] == [True] * 3
    for person in (team.owner, sam, alex):
        for n in (1, 2):
            assert len(reminders(fakes, person, title, n, 2)) == 1, (person.name, n)
    assert len(final_notices(fakes, team.owner, title)) == 1 and len(final_notices(fakes, alex, title)) == 1
    assert final_notices(fakes, sam, title) == []
    for person in (team.junior, team.viewer):
        assert [m for m in fakes.smtp.to(person.email) if title in m.subject] == []
    kinds = {p.name: sorted(r["type"] for r in await bell(gw, p, sid)) for p in (team.owner, sam, alex)}
    assert kinds[sam.name] == ["handoff_escalated", "handoff_reescalated", "handoff_reescalated"]
    for name in (team.owner.name, alex.name):
        assert kinds[name] == ["handoff_reescalated", "handoff_reescalated", "handoff_unclaimed"]
    # Slack: the escalation, and one reply per round in its thread (the final notice is not posted).
    [message] = [m for m in fakes.slack.in_channel(team.channel) if not m.thread_ts]
    replies = [m for m in fakes.slack.in_channel(team.channel) if m.thread_ts == message.ts]
    assert sorted("reminder 1 of 2" in r.text for r in replies) == [False, True] and len(replies) == 2
    # Told once: the timer is gone, and two more intervals bring nothing.
    assert not await has_timer(system, sid)
    await wait_for_database_clock(system, 2 * INTERVAL)
    assert [(r["data"]["round"], r["data"]["final"]) for r in await rounds_of(gw, alex, sid)] == [
        (1, False),
        (2, False),
        (3, True),
    ]
    assert len(final_notices(fakes, team.owner, title)) == 1


async def test_a_claim_stops_the_reminders(system: System, fakes: Fakes, gw):
    team = await make_team(gw, fakes, psa=False)
    sam = team.seniors[0]
    sid, hid, title = await _escalated(gw, team, rounds=3)
    await wait_until(lambda: reminders(fakes, sam, title, 1, 3), timeout=60, message="round 1 reminder")
    await ok(await gw.post(f"{API}/ai-sessions/{sid}/handoffs/{hid}/claim", headers=sam.headers))
    assert not await has_timer(system, sid)
    await wait_for_database_clock(system, 2 * INTERVAL)
    items = await timeline(gw, team.owner, sid)
    after_claim = [i["kind"] for i in items[[i["kind"] for i in items].index("claim") :]]
    assert "round" not in after_claim, after_claim
    assert reminders(fakes, sam, title, 3, 3) == []


async def test_release_back_to_the_queue_another_senior_claims_and_the_whole_story_is_on_the_timeline(
    system: System, fakes: Fakes, gw
):
    team = await make_team(gw, fakes)
    sam, alex = team.seniors
    ticket = str(60000 + uuid.uuid4().int % 10000)
    session = await create_session(
        gw,
        team.junior.token,
        title=f"Teams calls drop {uuid.uuid4().hex[:6]}",
        psa_ticket_id=ticket,
        steps=[("action", "Reinstalled the Teams client"), ("observation", "Calls still drop after 5 min")],
    )
    sid = session["id"]
    await set_policy(gw, team.owner, reescalate_after_seconds=INTERVAL, max_rounds=3)
    hid = (await escalate(gw, team.junior.token, sid, reason="Network team needed"))["id"]
    await wait_until(lambda: reminders(fakes, sam, session["title"], 1, 3), timeout=60, message="round 1")
    await wait_until(lambda: fakes.psa.ticket_notes("connectwise", ticket), timeout=60, message="PSA note")
    base = f"{API}/ai-sessions/{sid}/handoffs/{hid}"
    await ok(await gw.post(f"{base}/claim", headers=sam.headers))

    async with open_stream(gw, STREAM, headers=alex.headers) as stream:
        await stream.wait_event("ready")
        released = await ok(await gw.post(f"{base}/release", headers=sam.headers))
        assert released["claimed_at"] is None and released["claimed_by"] is None
        back = (await stream.wait_event("handoff_released", where=lambda d: d["session_id"] == sid)).json()
        assert back["released_by"]["id"] == str(sam.id) and back["handoff_id"] == hid
    queue = await ok(await gw.get(f"{API}/ai-sessions/queue", headers=alex.headers))
    assert hid in [i["handoff_id"] for i in queue]
    read = await ok(await gw.get(f"{API}/ai-sessions/{sid}", headers=team.junior.headers))
    assert read["status"] == "escalated" and read["owner_id"] == str(team.junior.id)
    # The escalator hears of it; the channel message says so and offers Pick up again.
    rows = await wait_until(
        lambda: _released_rows(gw, team, sid), timeout=30, message="the escalator's release bell row"
    )
    assert sam.name in rows[0]["title"]
    message = await wait_until(
        lambda: _released_message(fakes, team.channel), timeout=30, message="Slack message edited"
    )
    assert f"*{sam.name}* released it" in str(message.blocks) and "Pick up" in str(message.blocks)
    claimed = await ok(await gw.post(f"{base}/claim", headers=alex.headers))
    assert claimed["claimed_by"] == str(alex.id)

    async def told() -> list[dict] | None:
        items = await timeline(gw, team.owner, sid)
        kinds = {i["kind"] for i in items}
        wanted = {"step", "escalation", "round", "delivery", "documentation", "psa_note", "claim", "release"}
        released_delivered = any(
            i["kind"] == "delivery" and i["data"]["event_type"] == "handoff.released" for i in items
        )
        return items if wanted <= kinds and released_delivered else None

    items = await wait_until(told, timeout=60, message="the whole story on the timeline")
    assert [i["at"] for i in items] == sorted(i["at"] for i in items)
    kinds = [i["kind"] for i in items]
    assert kinds[:3] == ["step", "step", "escalation"]
    claims = [i for i in items if i["kind"] == "claim"]
    assert [c["actor"]["name"] for c in claims] == [sam.name, alex.name]
    [release] = [i for i in items if i["kind"] == "release"]
    assert release["actor"]["name"] == sam.name and claims[0]["at"] < release["at"] < claims[1]["at"]
    emails = {
        i["data"]["recipient"]: i
        for i in items
        if i["kind"] == "delivery"
        and i["data"]["channel"] == "email"
        and i["data"]["event_type"] == "handoff.escalated"
    }
    assert set(emails) == {p.email for p in team.recipients}
    assert {e["data"]["status"] for e in emails.values()} == {"sent"}
    [note] = [i for i in items if i["kind"] == "psa_note"]
    assert note["data"]["status"] == "pushed" and note["data"]["ticket_id"] == ticket
    stranger = await make_team(gw, fakes, slack=False, psa=False)
    assert (
        await gw.get(f"{API}/ai-sessions/{sid}/timeline", headers=stranger.owner.headers)
    ).status_code == 404


async def test_a_round_due_while_every_service_was_stopped_fires_once_after_they_start(
    system: System, fakes: Fakes, gw
):
    team = await make_team(gw, fakes, psa=False)
    sam = team.seniors[0]
    sid, _, title = await _escalated(gw, team, rounds=2)
    stopped = dict(system.services)
    for process in stopped.values():
        process.stop()
    try:
        # Both rounds' times pass while nothing runs.
        await wait_for_database_clock(system, 2 * INTERVAL + 1)
        assert await has_timer(system, sid)
    finally:
        # New processes on the same ports (as System.replace does), so later tests count starts afresh.
        for name, process in stopped.items():
            system.services[name] = ServiceProcess(name, system.env(), system.log_dir, port=process.port)
            system.services[name].start(wait=False)
        for process in system.services.values():
            process.wait_ready(timeout=90)
    await wait_until(
        lambda: reminders(fakes, sam, title, 1, 2), timeout=60, message="round 1 after the start"
    )
    await wait_until(lambda: final_notices(fakes, team.owner, title), timeout=60, message="the final notice")
    rounds = await rounds_of(gw, team.owner, sid)
    assert [(r["data"]["round"], r["data"]["final"]) for r in rounds] == [(1, False), (2, False), (3, True)]
    # Late, never lost, and no burst: the missed round fired once, the next one an interval after it.
    assert rounds[0]["data"]["waited_seconds"] >= 2 * INTERVAL + 1
    gap = _seconds_between(rounds[0]["at"], rounds[1]["at"])
    assert gap >= INTERVAL - 0.5, gap
    for person in (team.owner, sam, team.seniors[1]):
        assert (
            len(reminders(fakes, person, title, 1, 2)) == 1
            and len(reminders(fakes, person, title, 2, 2)) == 1
        )


async def test_two_replicas_of_handoff_api_fire_each_round_once(system: System, fakes: Fakes, gw):
    second = ServiceProcess("handoff-api", system.env(), system.log_dir).start()
    try:
        team = await make_team(gw, fakes, psa=False)
        sid, _, title = await _escalated(gw, team, rounds=2)
        await wait_until(
            lambda: final_notices(fakes, team.owner, title), timeout=90, message="the final notice"
        )
        rounds = await rounds_of(gw, team.owner, sid)
        assert [(r["data"]["round"], r["data"]["final"]) for r in rounds] == [
            (1, False),
            (2, False),
            (3, True),
        ]
        for person in (team.owner, *team.seniors):
            assert (
                len(reminders(fakes, person, title, 1, 2)) == 1
                and len(reminders(fakes, person, title, 2, 2)) == 1
            )
        replies = [m for m in fakes.slack.in_channel(team.channel) if m.thread_ts]
        assert len([r for r in replies if title in r.text]) == 2
    finally:
        second.stop()


# -- probes -------------------------------------------------------------------------------------------
async def _released_rows(gw: httpx.AsyncClient, team: Team, sid: str) -> list[dict] | None:
    rows = [r for r in await bell(gw, team.junior, sid) if r["type"] == "handoff_released"]
    return rows or None


def _released_message(fakes: Fakes, channel: str) -> object | None:
    return next(
        (
            m
            for m in fakes.slack.in_channel(channel)
            if not m.thread_ts and "back in the queue" in str(m.blocks)
        ),
        None,
    )


def _seconds_between(first: str, second: str) -> float:
    return (datetime.fromisoformat(second) - datetime.fromisoformat(first)).total_seconds()

"""Quiet hours and email preferences, end to end through the notifier: set through its API, applied when
the escalation email goes out, visible on the delivery records; the bell row is written regardless."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

import httpx

from flowpilot_shared.db import Database
from flowpilot_shared.events import HandoffEscalated
from flowpilot_shared.models import User
from tests.fakes.smtp import FakeSmtp
from tests.harness.factories import commit_events, make_escalation, make_team
from tests.harness.waiting import wait_until
from tests.notifier.conftest import RunningNotifier, bell_rows

PREFS = "me/notification-preferences"
DELIVERIES = "notifications/deliveries"
SETTLED = {"sent", "failed", "skipped"}


def clock(at: datetime) -> str:
    return at.strftime("%H:%M")


def window_around_now(zone: str, *, starts_in: timedelta, lasts: timedelta) -> dict[str, str]:
    """Quiet hours starting `starts_in` from now (negative: already begun) on that zone's wall clock."""
    local = datetime.now(UTC).astimezone(ZoneInfo(zone))
    return {"start": clock(local + starts_in), "end": clock(local + starts_in + lasts)}


def zone_at_night() -> str:
    """A real zone where it is now between 22:30 and 06:30 (one always exists: offsets span 26 hours)."""
    now = datetime.now(UTC)
    for name in sorted(available_timezones()):
        if "/" not in name or name.startswith(("Etc/", "posix/", "right/", "SystemV/")):
            continue
        local = now.astimezone(ZoneInfo(name)).time()
        if local >= time(22, 30) or local < time(6, 30):
            return name
    raise AssertionError("no zone is at night now")


async def prefer(
    http: httpx.AsyncClient, notifier: RunningNotifier, headers: dict[str, str], body: dict[str, Any]
):
    response = await http.put(notifier.url(PREFS), headers=headers, json=body)
    assert response.status_code == 200, response.text


async def settled_emails(
    http: httpx.AsyncClient,
    notifier: RunningNotifier,
    headers: dict[str, str],
    event: HandoffEscalated,
    count: int,
) -> dict[str, dict[str, Any]]:
    """The event's email records by recipient, once `count` of them are final (via the deliveries API)."""

    async def probe() -> dict[str, dict[str, Any]] | None:
        response = await http.get(
            notifier.url(DELIVERIES), headers=headers, params={"session_id": str(event.session_id)}
        )
        assert response.status_code == 200, response.text
        rows = [r for r in response.json() if r["channel"] == "email" and r["event_id"] == str(event.id)]
        if len(rows) == count and all(r["status"] in SETTLED for r in rows):
            return {r["recipient"]: r for r in rows}
        return None

    return await wait_until(probe, timeout=30, message=f"{count} email records settled")


async def test_quiet_hours_and_email_off_skip_the_email_with_the_reason_and_the_bell_still_rings(
    notifier: RunningNotifier, http: httpx.AsyncClient, db: Database, smtp: FakeSmtp, token_for
):
    team = await make_team(db, engineers=5)
    owner, escalator, night_owl, later, no_email, plain = team.users
    # Now inside a window in a half-hour zone (±1 h); a window wrapping midnight in a zone where it is
    # night now; a window that starts in an hour; email off; no preferences at all.
    await prefer(
        http,
        notifier,
        token_for(owner),
        {
            "timezone": "Asia/Kolkata",
            "quiet_hours": window_around_now(
                "Asia/Kolkata", starts_in=timedelta(hours=-1), lasts=timedelta(hours=2)
            ),
        },
    )
    night = zone_at_night()
    await prefer(
        http,
        notifier,
        token_for(night_owl),
        {"timezone": night, "quiet_hours": {"start": "22:00", "end": "07:00"}},
    )
    await prefer(
        http,
        notifier,
        token_for(later),
        {
            "timezone": "America/New_York",
            "quiet_hours": window_around_now(
                "America/New_York", starts_in=timedelta(hours=1), lasts=timedelta(hours=1)
            ),
        },
    )
    await prefer(http, notifier, token_for(no_email), {"email": False})

    event = await make_escalation(db, team, escalator=escalator)
    await commit_events(db, event)

    records = await settled_emails(http, notifier, token_for(owner), event, 5)
    expected: dict[User, tuple[str, str | None]] = {
        owner: ("skipped", "quiet_hours"),
        night_owl: ("skipped", "quiet_hours"),
        later: ("sent", None),
        no_email: ("skipped", "preference"),
        plain: ("sent", None),
    }
    for person, (status, reason) in expected.items():
        record = records[person.email.lower()]
        assert (record["status"], record["skip_reason"]) == (status, reason), (person.name, night, record)
        assert len(smtp.to(person.email)) == (1 if status == "sent" else 0)

    # The bell row is always written: quiet hours and email preferences are about email only.
    rows = await wait_until(lambda: _rows(db, event, 5), timeout=20, message="five bell rows")
    assert {r.user_id for r in rows} == {p.id for p in expected}


async def test_high_urgency_cuts_through_quiet_hours_but_not_through_email_off(
    notifier: RunningNotifier, http: httpx.AsyncClient, db: Database, smtp: FakeSmtp, token_for
):
    team = await make_team(db, engineers=3)
    owner, escalator, no_email, plain = team.users
    await prefer(
        http,
        notifier,
        token_for(owner),
        {
            "timezone": "Europe/Berlin",
            "quiet_hours": window_around_now(
                "Europe/Berlin", starts_in=timedelta(hours=-1), lasts=timedelta(hours=2)
            ),
        },
    )
    await prefer(http, notifier, token_for(no_email), {"email": False})
    normal = await make_escalation(db, team, escalator=escalator)
    urgent = await make_escalation(db, team, escalator=escalator, title="Mail server down for everyone")
    urgent = urgent.model_copy(update={"data": urgent.data.model_copy(update={"urgency": "high"})})
    await commit_events(db, normal, urgent)

    quiet = await settled_emails(http, notifier, token_for(owner), normal, 3)
    loud = await settled_emails(http, notifier, token_for(owner), urgent, 3)
    key = owner.email.lower()
    assert (quiet[key]["status"], quiet[key]["skip_reason"]) == ("skipped", "quiet_hours")
    assert (loud[key]["status"], loud[key]["skip_reason"]) == ("sent", None)
    for records in (quiet, loud):
        assert records[no_email.email.lower()]["skip_reason"] == "preference"
        assert records[plain.email.lower()]["status"] == "sent"
    mails = smtp.to(owner.email)
    assert len(mails) == 1 and "Mail server down for everyone" in mails[0].subject
    assert len(smtp.to(plain.email)) == 2 and smtp.to(no_email.email) == []


async def _rows(db: Database, event: HandoffEscalated, count: int):
    rows = await bell_rows(db, event.id)
    return rows if len(rows) >= count else None

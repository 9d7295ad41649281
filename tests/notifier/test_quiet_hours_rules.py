"""Quiet hours on the person's wall clock: windows that wrap midnight, and daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from flowpilot_shared.db import Database
from notifier.preferences.rules import (
    PREFERENCE,
    QUIET_HOURS,
    Preferences,
    email_skip_reason,
    in_quiet_hours,
    is_urgent,
)
from notifier.preferences.schemas import NotificationPreferencesIn
from tests.harness.factories import make_escalation, make_team

NIGHT = Preferences(timezone="America/New_York", quiet_start=time(22, 0), quiet_end=time(7, 0))
EARLY = Preferences(timezone="America/New_York", quiet_start=time(1, 0), quiet_end=time(3, 0))
HALF_HOUR = Preferences(timezone="Asia/Kolkata", quiet_start=time(9, 0), quiet_end=time(9, 30))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("prefs", "instant", "quiet"),
    [
        # New York in winter is UTC-5: 03:30 UTC is 22:30 there, 12:00 UTC is 07:00 (the end, excluded).
        (NIGHT, utc(2026, 1, 15, 3, 30), True),
        (NIGHT, utc(2026, 1, 15, 11, 59), True),
        (NIGHT, utc(2026, 1, 15, 12, 0), False),
        (NIGHT, utc(2026, 1, 15, 2, 59), False),
        # In summer it is UTC-4: the same wall-clock window sits an hour earlier in UTC.
        (NIGHT, utc(2026, 7, 15, 2, 0), True),
        (NIGHT, utc(2026, 7, 15, 11, 30), False),
        # 8 March 2026, 02:00 EST became 03:00 EDT: 06:30 UTC is 01:30 EST (quiet), 07:30 UTC is
        # 03:30 EDT (after the window), although only an hour passed in UTC.
        (EARLY, utc(2026, 3, 8, 6, 30), True),
        (EARLY, utc(2026, 3, 8, 7, 30), False),
        # 1 November 2026, 02:00 EDT fell back to 01:00 EST: 01:00-03:00 local lasts three real hours.
        (EARLY, utc(2026, 11, 1, 5, 30), True),
        (EARLY, utc(2026, 11, 1, 6, 30), True),
        (EARLY, utc(2026, 11, 1, 7, 30), True),
        (EARLY, utc(2026, 11, 1, 8, 0), False),
        # Half-hour zones: India is UTC+5:30 all year.
        (HALF_HOUR, utc(2026, 5, 1, 3, 45), True),
        (HALF_HOUR, utc(2026, 5, 1, 4, 0), False),
        (Preferences(), utc(2026, 5, 1, 4, 0), False),
    ],
)
def test_quiet_hours_follow_the_zone_database(prefs: Preferences, instant: datetime, quiet: bool) -> None:
    assert in_quiet_hours(prefs, instant) is quiet


def test_urgency_cuts_through_quiet_hours_but_not_email_off() -> None:
    night = utc(2026, 1, 15, 3, 30)
    assert email_skip_reason(NIGHT, now=night, urgent=False) == QUIET_HOURS
    assert email_skip_reason(NIGHT, now=night, urgent=True) is None
    off = Preferences(email=False)
    assert email_skip_reason(off, now=night, urgent=True) == PREFERENCE
    assert email_skip_reason(Preferences(), now=night, urgent=False) is None


async def test_urgency_is_read_from_the_event(db: Database) -> None:
    team = await make_team(db, engineers=1)
    event = await make_escalation(db, team, escalator=team.users[1])
    assert not is_urgent(event)
    urgent = event.model_copy(update={"data": event.data.model_copy(update={"urgency": "high"})})
    assert is_urgent(urgent)


def test_the_request_body_becomes_stored_preferences() -> None:
    body = NotificationPreferencesIn.model_validate(
        {"timezone": "Europe/Berlin", "quiet_hours": {"start": "23:15", "end": "06:45"}, "email": True}
    )
    assert body.to_preferences() == Preferences(
        timezone="Europe/Berlin",
        quiet_start=time(23, 15),
        quiet_end=time(6, 45),
        email=True,
        chat_mentions=True,
    )

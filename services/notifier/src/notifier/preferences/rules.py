"""What a person's preferences mean for one message: quiet hours in their zone, email on or off,
whether a chat message may mention them.

Wall-clock times are read through the zone database (zoneinfo, with the pinned tzdata package
behind it), never through a fixed offset, so a daylight-saving change moves quiet hours with
the person's clock.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, time
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import asyncpg

from flowpilot_shared.events import AnyEvent
from flowpilot_shared.models.accounts import ENGINEER_OR_ADMIN
from flowpilot_shared.models.preferences import DEFAULT_TIMEZONE

# Skip reasons on the delivery record (`skipped` rows keep theirs in `last_error`).
QUIET_HOURS = "quiet_hours"
PREFERENCE = "preference"

# Those of an event's recipients a message may still go to (active seniors of the account), each with
# their address and the preferences they saved (NULLs: never saved, the defaults apply).
ELIGIBLE_SENIORS = """
SELECT u.id, u.email AS address, p.user_id IS NOT NULL AS saved, p.timezone, p.quiet_start, p.quiet_end,
       p.email, p.chat_mentions
FROM users u LEFT JOIN notification_preferences p ON p.user_id = u.id
WHERE u.id = ANY($1::uuid[]) AND u.account_id = $2 AND u.is_active AND u.deleted_at IS NULL
  AND u.role = ANY($3::text[])
"""
SENIOR_ROLES = sorted(role.value for role in ENGINEER_OR_ADMIN)


@dataclass(frozen=True)
class Preferences:
    """One person's preferences; the defaults are what a person who never set any gets."""

    timezone: str = DEFAULT_TIMEZONE
    quiet_start: time | None = None
    quiet_end: time | None = None
    email: bool = True
    chat_mentions: bool = True


DEFAULTS = Preferences()


@lru_cache(maxsize=1)
def known_zones() -> frozenset[str]:
    """Every IANA zone name the zone database knows."""
    return frozenset(available_timezones())


@lru_cache(maxsize=512)
def zone(name: str) -> ZoneInfo:
    """The zone of that name; UTC for a name the database no longer knows (never fail a delivery on it)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TIMEZONE)


def in_quiet_hours(prefs: Preferences, now: datetime) -> bool:
    """Whether the aware instant `now` falls in the person's quiet hours, on their wall clock.

    The window includes its start and excludes its end; a start after the end wraps midnight
    (22:00-07:00 is quiet from 22:00 to 06:59).
    """
    start, end = prefs.quiet_start, prefs.quiet_end
    if start is None or end is None or start == end:
        return False
    local = now.astimezone(zone(prefs.timezone)).time().replace(tzinfo=None)
    if start < end:
        return start <= local < end
    return local >= start or local < end


def is_urgent(event: AnyEvent) -> bool:
    """Whether the event is about a high-urgency handoff (those cut through quiet hours)."""
    return getattr(event.data, "urgency", "normal") == "high"


def email_skip_reason(prefs: Preferences, *, now: datetime, urgent: bool) -> str | None:
    """Why an email to this person is not sent now, or None to send it.

    `email: false` is never overridden; urgency cuts through quiet hours only.
    """
    if not prefs.email:
        return PREFERENCE
    if not urgent and in_quiet_hours(prefs, now):
        return QUIET_HOURS
    return None


@dataclass(frozen=True)
class Senior:
    """A recipient a message may still go to: their address and preferences."""

    address: str
    preferences: Preferences


async def eligible_seniors(
    conn: asyncpg.Connection, *, account_id: uuid.UUID, user_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, Senior]:
    """Those of these people who may still be sent an escalation (active seniors of the account),
    each with their preferences (the defaults if never saved): one statement."""
    ids = list(set(user_ids))
    if not ids:
        return {}
    rows = await conn.fetch(ELIGIBLE_SENIORS, ids, account_id, SENIOR_ROLES)
    return {
        row["id"]: Senior(
            address=row["address"],
            preferences=Preferences(
                timezone=row["timezone"],
                quiet_start=row["quiet_start"],
                quiet_end=row["quiet_end"],
                email=row["email"],
                chat_mentions=row["chat_mentions"],
            )
            if row["saved"]
            else DEFAULTS,
        )
        for row in rows
    }


def mentionable_emails(
    seniors: Mapping[uuid.UUID, Senior], *, user_ids: Iterable[uuid.UUID], now: datetime, urgent: bool
) -> list[str]:
    """Emails of these people whom a chat message may mention: eligible seniors with mentions on and,
    unless the handoff is urgent, outside their quiet hours (a mention pings their phone; the
    message itself is still posted to the channel)."""
    people = [seniors[i] for i in set(user_ids) if i in seniors]
    return sorted(
        senior.address
        for senior in people
        if senior.preferences.chat_mentions and (urgent or not in_quiet_hours(senior.preferences, now))
    )

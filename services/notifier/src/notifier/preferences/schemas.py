"""Request and response bodies of `/me/notification-preferences` (DESIGN.md "Reaching people on their terms")."""

from __future__ import annotations

from datetime import time
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, StrictBool, StrictStr, model_validator

from flowpilot_shared.models.preferences import DEFAULT_TIMEZONE
from notifier.preferences.rules import Preferences, known_zones


def _hh_mm(value: str) -> str:
    hours, sep, minutes = value.partition(":")
    if not (sep and len(hours) == 2 and len(minutes) == 2 and hours.isdigit() and minutes.isdigit()):
        raise ValueError("must be a time as HH:MM (00:00 to 23:59)")
    if int(hours) > 23 or int(minutes) > 59:
        raise ValueError("must be a time as HH:MM (00:00 to 23:59)")
    return value


def _iana_zone(value: str) -> str:
    if value not in known_zones():
        raise ValueError("unknown time zone: use an IANA name such as Europe/Berlin or UTC")
    return value


ClockTime = Annotated[StrictStr, AfterValidator(_hh_mm)]
ZoneName = Annotated[StrictStr, AfterValidator(_iana_zone)]


def as_clock(value: time) -> str:
    """A stored time as HH:MM."""
    return value.strftime("%H:%M")


def as_time(value: str) -> time:
    """HH:MM (already validated) as a time."""
    hours, minutes = value.split(":")
    return time(int(hours), int(minutes))


class QuietHours(BaseModel):
    """A daily window on the person's wall clock; a start after the end wraps midnight."""

    model_config = ConfigDict(extra="ignore")

    start: ClockTime
    end: ClockTime

    @model_validator(mode="after")
    def _not_empty(self) -> QuietHours:
        # Equal ends could mean "never" or "all day": refused, so nobody gets the one they did not mean.
        if self.start == self.end:
            raise ValueError("start and end must differ (send quiet_hours: null for none)")
        return self


class NotificationPreferencesIn(BaseModel):
    """`PUT /me/notification-preferences`: the whole document; a field left out takes its default
    (unknown fields are ignored, as everywhere in the contract)."""

    model_config = ConfigDict(extra="ignore")

    timezone: ZoneName = DEFAULT_TIMEZONE
    quiet_hours: QuietHours | None = None
    email: StrictBool = True
    chat_mentions: StrictBool = True

    def to_preferences(self) -> Preferences:
        """The stored form."""
        quiet = self.quiet_hours
        return Preferences(
            timezone=self.timezone,
            quiet_start=as_time(quiet.start) if quiet else None,
            quiet_end=as_time(quiet.end) if quiet else None,
            email=self.email,
            chat_mentions=self.chat_mentions,
        )


class NotificationPreferencesOut(BaseModel):
    """The caller's preferences as stored (the defaults when never set)."""

    timezone: str
    quiet_hours: QuietHours | None
    email: bool
    chat_mentions: bool

    @classmethod
    def of(cls, prefs: Preferences) -> NotificationPreferencesOut:
        """The response body of stored preferences."""
        quiet = None
        if prefs.quiet_start is not None and prefs.quiet_end is not None:
            quiet = QuietHours(start=as_clock(prefs.quiet_start), end=as_clock(prefs.quiet_end))
        return cls(
            timezone=prefs.timezone, quiet_hours=quiet, email=prefs.email, chat_mentions=prefs.chat_mentions
        )

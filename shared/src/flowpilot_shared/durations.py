"""Durations in words, as messages and timelines show them."""

from __future__ import annotations

from datetime import timedelta


def humanize(delta: timedelta) -> str:
    """A timedelta as '3 h 5 min', '12 min' or 'under a minute'."""
    minutes = int(delta.total_seconds() // 60)
    if minutes < 1:
        return "under a minute"
    hours, minutes = divmod(minutes, 60)
    if hours and minutes:
        return f"{hours} h {minutes} min"
    return f"{hours} h" if hours else f"{minutes} min"


def humanize_seconds(seconds: float) -> str:
    """`humanize` of a number of seconds."""
    return humanize(timedelta(seconds=seconds))

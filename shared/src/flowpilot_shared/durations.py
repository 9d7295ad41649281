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


def humanize_wait(seconds: float) -> str:
    """How long something has waited: '45 s' under a minute (intervals can be that short), else `humanize`."""
    if seconds < 60:
        return f"{max(int(seconds), 0)} s"
    return humanize(timedelta(seconds=seconds))

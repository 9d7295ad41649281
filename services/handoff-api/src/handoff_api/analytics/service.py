"""Escalation counts and pickup times of an account, from handoff-api's own handoffs table."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from flowpilot_shared.web.auth import Caller
from handoff_api.analytics.schemas import ClaimerStats, EscalationStats
from handoff_api.errors import InvalidField

DEFAULT_WINDOW = timedelta(days=30)
# The account's escalations created in the window, with each claimed one's wait in the queue.
_WINDOW = """
WITH e AS (
  SELECT h.claimed_by, h.reescalations,
         extract(epoch FROM h.claimed_at - coalesce(h.queued_at, h.created_at)) AS waited
  FROM handoffs h
  WHERE h.account_id = :account_id AND h.intent = 'escalate'
    AND h.created_at >= :since AND h.created_at < :until
)
"""
TOTALS = text(
    _WINDOW
    + """
SELECT count(*) AS escalations, count(claimed_by) AS claimed,
       count(*) FILTER (WHERE reescalations > 0) AS reescalated,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY waited) AS median,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY waited) AS p90
FROM e
"""
)
BY_CLAIMER = text(
    _WINDOW
    + """
SELECT e.claimed_by AS user_id, u.name, count(*) AS claimed,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY e.waited) AS median
FROM e JOIN users u ON u.id = e.claimed_by
GROUP BY e.claimed_by, u.name
ORDER BY count(*) DESC, u.name, e.claimed_by
"""
)


def window(since: datetime | None, until: datetime | None) -> tuple[datetime, datetime]:
    """The window asked for (naive times are UTC); by default the 30 days up to now; 422 if empty."""
    until = _aware(until) if until is not None else datetime.now(UTC)
    try:
        since = _aware(since) if since is not None else until - DEFAULT_WINDOW
    except OverflowError as exc:  # an `until` in the first days of year 1
        raise InvalidField("until", "too early for the default 30-day window", location="query") from exc
    if since >= until:
        raise InvalidField("since", "must be before until", location="query")
    return since, until


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _seconds(value: float | None) -> float | None:
    return None if value is None else round(float(value), 1)


async def escalation_stats(
    *, session: AsyncSession, caller: Caller, since: datetime | None, until: datetime | None
) -> EscalationStats:
    """Counts, re-escalations and time to pickup (median, p90, per claimer) of the window."""
    start, end = window(since, until)
    params: dict[str, uuid.UUID | datetime] = {"account_id": caller.account_id, "since": start, "until": end}
    totals = (await session.execute(TOTALS, params)).one()
    claimers = (await session.execute(BY_CLAIMER, params)).all()
    return EscalationStats(
        since=start,
        until=end,
        escalations=totals.escalations,
        claimed=totals.claimed,
        unclaimed=totals.escalations - totals.claimed,
        reescalated=totals.reescalated,
        median_time_to_pickup_seconds=_seconds(totals.median),
        p90_time_to_pickup_seconds=_seconds(totals.p90),
        by_claimer=[
            ClaimerStats(
                user_id=c.user_id,
                name=c.name,
                claimed=c.claimed,
                median_time_to_pickup_seconds=_seconds(c.median),
            )
            for c in claimers
        ],
    )

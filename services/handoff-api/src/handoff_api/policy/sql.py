"""The account's re-escalation interval as SQL, for every statement that (re)starts a timer.

A subquery rather than a parameter: the escalation's one write statement reads it in place (no
extra round trip), and an account without a policy row gets the default.
"""

from __future__ import annotations

from flowpilot_shared.models.lifecycle import DEFAULT_REESCALATE_AFTER_SECONDS

# LISTENed to by every replica's timer loop: a policy change re-plans the account's due times.
TIMERS_CHANNEL = "flowpilot_timers"


def interval_seconds_sql(account: str) -> str:
    """The re-escalation interval (seconds) of the account the SQL expression `account` names."""
    return (
        "coalesce((SELECT p.reescalate_after_seconds FROM escalation_policies p "
        f"WHERE p.account_id = {account}), {DEFAULT_REESCALATE_AFTER_SECONDS})"
    )


def start_timer_sql(*, session: str, handoff: str, account: str, source: str = "") -> str:
    """INSERT (or restart) the session's timer: due one interval from now, no round fired yet.

    `source` is the FROM clause when the values come from a CTE (the escalation's guarded write).
    """
    return f"""
INSERT INTO escalation_timers (session_id, handoff_id, account_id, due_at, last_at, rounds_fired)
SELECT {session}, {handoff}, {account}, now() + make_interval(secs => {interval_seconds_sql(account)}), now(), 0
{source}
ON CONFLICT (session_id) DO UPDATE
SET handoff_id = excluded.handoff_id, account_id = excluded.account_id, due_at = excluded.due_at,
    last_at = excluded.last_at, rounds_fired = 0
"""

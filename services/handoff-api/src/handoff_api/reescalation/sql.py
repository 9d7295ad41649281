"""The timer loop's statements: take the due timers, the people to tell, settle what fired, plan the sleep."""

from __future__ import annotations

from flowpilot_shared.models.lifecycle import DEFAULT_MAX_ROUNDS, DEFAULT_REESCALATE_AFTER_SECONDS
from handoff_api.policy.sql import interval_seconds_sql

# The due timers this replica takes (another replica's are skipped, never waited for), with all a
# round needs: whether the escalation still waits (unclaimed, the session awaiting pickup, no handoff
# since), how long it has waited, the session, the escalator and the account's policy.
# $1 limit, $2 statuses awaiting pickup
TAKE_DUE = f"""
WITH due AS (
  SELECT session_id, handoff_id, account_id, rounds_fired FROM escalation_timers
  WHERE due_at <= now() ORDER BY due_at LIMIT $1
  FOR UPDATE SKIP LOCKED
)
SELECT due.session_id, due.handoff_id, due.account_id, due.rounds_fired,
       (h.intent = 'escalate' AND h.claimed_at IS NULL AND s.status = ANY($2::text[])
        AND NOT EXISTS (SELECT 1 FROM handoffs n WHERE n.session_id = h.session_id AND n.created_at > h.created_at))
         IS TRUE AS waiting,
       floor(extract(epoch FROM now() - coalesce(h.queued_at, h.created_at)))::int AS waited_seconds,
       s.title, s.client_name, h.reason, h.urgency, h.created_at AS escalated_at,
       e.id AS e_id, e.name AS e_name, e.email AS e_email, e.role AS e_role,
       {interval_seconds_sql("due.account_id")} AS interval_seconds,
       coalesce(p.max_rounds, {DEFAULT_MAX_ROUNDS}) AS max_rounds
FROM due
LEFT JOIN handoffs h ON h.id = due.handoff_id
LEFT JOIN ai_sessions s ON s.id = due.session_id
LEFT JOIN users e ON e.id = h.from_user_id
LEFT JOIN escalation_policies p ON p.account_id = due.account_id
"""

# Who can be told now: active people of these accounts with these roles. $1 accounts, $2 roles
PEOPLE = """
SELECT account_id, id, name, email, role FROM users
WHERE account_id = ANY($1::uuid[]) AND is_active AND deleted_at IS NULL AND role = ANY($2::text[])
ORDER BY name, id
"""

# One statement settles the batch: advance the timers of rounds (due one interval after this firing),
# end those of final notices and of escalations that moved on, count the firings on their handoffs.
# $1 advanced sessions, $2 their intervals, $3 ended sessions, $4 handoffs that fired
SETTLE = """
WITH advanced AS (
  UPDATE escalation_timers t
  SET rounds_fired = t.rounds_fired + 1, last_at = now(), due_at = now() + make_interval(secs => a.seconds)
  FROM unnest($1::uuid[], $2::int[]) AS a(session_id, seconds) WHERE t.session_id = a.session_id
), ended AS (
  DELETE FROM escalation_timers WHERE session_id = ANY($3::uuid[])
)
UPDATE handoffs SET reescalations = reescalations + 1 WHERE id = ANY($4::uuid[])
"""

# What the loop sleeps on: seconds to the earliest due time (an index probe, however many timers),
# and the shortest interval any account uses (a timer started meanwhile is due no sooner than that).
NEXT_WAKE = f"""
SELECT extract(epoch FROM (SELECT min(due_at) FROM escalation_timers) - now())::float8 AS due_in,
       least((SELECT min(reescalate_after_seconds) FROM escalation_policies),
             {DEFAULT_REESCALATE_AFTER_SECONDS})::float8 AS shortest_interval
"""

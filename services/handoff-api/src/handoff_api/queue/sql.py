"""The shared queue's one statement: each session awaiting pickup with its open escalation, who
escalated it, and its newest round or release (what the reminder badge shows).

Every senior's console reads the queue again on each live event, so a read is paid once per senior
per escalation event: one round trip selecting only the columns shown. Through the ORM it took four
statements and loaded whole sessions (the problem text) and user rows.

$1 the caller's account, $2 the statuses awaiting pickup, $3 the limit.
"""

from __future__ import annotations

QUEUE_SQL = """
SELECT s.id AS session_id, s.title, s.status, s.escalation_reason, s.escalated_to_id, s.updated_at,
       h.id AS handoff_id, h.reason, h.urgency, h.target_user_id, h.created_at,
       u.id AS escalator_id, u.name AS escalator_name,
       r.kind AS last_kind, r.at AS last_at, r.data AS last_data,
       (SELECT max_rounds FROM escalation_policies WHERE account_id = $1) AS max_rounds
FROM (
  SELECT id, title, status, escalation_reason, escalated_to_id, updated_at, owner_id
  FROM ai_sessions WHERE account_id = $1 AND status = ANY($2::text[])
  ORDER BY updated_at LIMIT $3
) s
LEFT JOIN LATERAL (
  SELECT id, reason, urgency, target_user_id, created_at, from_user_id FROM handoffs
  WHERE session_id = s.id AND intent = 'escalate' AND claimed_at IS NULL
  ORDER BY created_at DESC LIMIT 1
) h ON true
JOIN users u ON u.id = coalesce(h.from_user_id, s.owner_id)
LEFT JOIN LATERAL (
  SELECT kind, at, data FROM timeline_entries
  WHERE session_id = s.id AND account_id = $1 AND handoff_id = h.id AND kind IN ('round', 'release')
  ORDER BY at DESC LIMIT 1
) r ON true
"""

# The sidebar badge, read by every senior's console on each live event as the queue is.
QUEUE_COUNT_SQL = "SELECT count(*) FROM ai_sessions WHERE account_id = $1 AND status = ANY($2::text[])"

"""The handoff transaction as two plain statements: one locking read, one write (Core text, no ORM)."""

from __future__ import annotations

from sqlalchemy import text

from flowpilot_shared.unit_of_work import NOTIFY_OUTBOX_SQL, OUTBOX_INSERT_SQL

# The session (locked), the target when one is named (active engineer or admin of this account), the
# session's steps and the untargeted escalation's recipients: one round trip. Aggregates are ordered
# alike so the parallel arrays zip row by row; `recipients` is NULL unless asked for.
READ = text(
    """
SELECT s.owner_id, s.status, s.title, s.problem, s.client_name, s.psa_ticket_id, s.created_at,
       t.id AS t_id, t.name AS t_name, t.email AS t_email, t.role AS t_role,
       st.ids AS step_ids, st.kinds AS step_kinds, st.contents AS step_contents,
       st.authors AS step_authors, st.created AS step_created,
       r.ids AS r_ids, r.names AS r_names, r.emails AS r_emails, r.roles AS r_roles
FROM ai_sessions s
LEFT JOIN users t
  ON t.id = :target AND t.account_id = s.account_id AND t.is_active AND t.deleted_at IS NULL
     AND t.role = ANY(:roles)
LEFT JOIN LATERAL (
  SELECT array_agg(x.id ORDER BY x.position) AS ids, array_agg(x.kind ORDER BY x.position) AS kinds,
         array_agg(x.content ORDER BY x.position) AS contents,
         array_agg(x.author_id ORDER BY x.position) AS authors,
         array_agg(x.created_at ORDER BY x.position) AS created
  FROM session_steps x WHERE x.session_id = s.id
) st ON true
LEFT JOIN LATERAL (
  SELECT array_agg(u.id ORDER BY u.name, u.id) AS ids, array_agg(u.name ORDER BY u.name, u.id) AS names,
         array_agg(u.email ORDER BY u.name, u.id) AS emails,
         array_agg(u.role ORDER BY u.name, u.id) AS roles
  FROM users u
  WHERE CAST(:recipients AS boolean) AND u.account_id = s.account_id AND u.id <> :caller
    AND u.is_active AND u.deleted_at IS NULL AND u.role = ANY(:roles)
) r ON true
WHERE s.id = :session_id AND s.account_id = :account_id
FOR UPDATE OF s
"""
)

_HANDOFF = """
WITH h AS (
  INSERT INTO handoffs (id, account_id, session_id, intent, reason, from_user_id, target_user_id, created_at)
  VALUES (:handoff_id, :account_id, :session_id, :intent, :reason, :caller, :target, :now)
), s AS (
  UPDATE ai_sessions SET {assignments}, updated_at = :now WHERE id = :session_id
), o AS ({outbox})
SELECT {notify}
"""

# Handoff row, session update, outbox row and the relays' wake-up (delivered on commit): one round trip.
WRITE_ESCALATE = text(
    _HANDOFF.format(
        assignments="status = 'escalated', escalation_reason = :reason, escalated_to_id = :target, "
        "picked_up_by = NULL",
        outbox=OUTBOX_INSERT_SQL,
        notify=NOTIFY_OUTBOX_SQL,
    )
)
WRITE_PARK = text(
    _HANDOFF.format(assignments="status = 'parked'", outbox=OUTBOX_INSERT_SQL, notify=NOTIFY_OUTBOX_SQL)
)

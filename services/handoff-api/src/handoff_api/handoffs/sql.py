"""The handoff as two plain asyncpg statements and no transaction block: one read, one guarded write."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flowpilot_shared.unit_of_work import outbox_sql
from handoff_api.policy.sql import start_timer_sql

# The caller (no row unless still active in this account: the request's authentication), the session
# with its version (`xmin`, which every update of the row changes), the target when one is named
# (active engineer or admin of this account), the session's steps and the untargeted escalation's
# recipients: one round trip. Aggregates are ordered alike so the parallel arrays zip row by row; the
# recipients are NULL unless asked for.
# $1 session, $2 account, $3 target (or NULL), $4 caller, $5 senior roles, $6 list recipients?
READ = """
SELECT c.name AS c_name, c.email AS c_email, c.role AS c_role,
       s.id AS s_id, s.xmin AS version, s.owner_id, s.status, s.title, s.problem, s.client_name,
       s.psa_ticket_id, s.created_at,
       t.id AS t_id, t.name AS t_name, t.email AS t_email, t.role AS t_role,
       st.ids AS step_ids, st.kinds AS step_kinds, st.contents AS step_contents,
       st.authors AS step_authors, st.created AS step_created,
       r.ids AS r_ids, r.names AS r_names, r.emails AS r_emails, r.roles AS r_roles
FROM users c
LEFT JOIN ai_sessions s ON s.id = $1 AND s.account_id = c.account_id
LEFT JOIN users t
  ON t.id = $3 AND t.account_id = s.account_id AND t.is_active AND t.deleted_at IS NULL
     AND t.role = ANY($5::text[])
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
  WHERE $6::boolean AND u.account_id = s.account_id AND u.id <> $4
    AND u.is_active AND u.deleted_at IS NULL AND u.role = ANY($5::text[])
) r ON true
WHERE c.id = $4 AND c.account_id = $2 AND c.is_active AND c.deleted_at IS NULL
"""

# Compare-and-set: the session moves only if it is still the version READ saw (an update since, such
# as a step added or a concurrent handoff, leaves it alone), and the handoff and outbox rows go in only
# with it. PostgreSQL re-checks the version after waiting for a concurrent writer's row lock. The
# statement's own row count (the outbox INSERT) says whether it happened.
# An escalation also starts (or replaces) the session's re-escalation timer in the same statement,
# the account's interval read in place.
# $1 handoff, $2 account, $3 session, $4 intent, $5 reason, $6 caller, $7 target, $8 now, $9 version,
# $10 urgency, $11.. outbox
_HANDOFF = """
WITH s AS (
  UPDATE ai_sessions SET {assignments}, updated_at = $8::timestamptz
  WHERE id = $3::uuid AND xmin = $9::xid
  RETURNING id
), h AS (
  INSERT INTO handoffs
    (id, account_id, session_id, intent, reason, from_user_id, target_user_id, created_at, urgency)
  SELECT $1::uuid, $2::uuid, s.id, $4::text, $5::text, $6::uuid, $7::uuid, $8::timestamptz, $10::text FROM s
){timer}
{outbox}
"""
_TIMER = ", tm AS ({insert})".format(
    insert=start_timer_sql(session="s.id", handoff="$1::uuid", account="$2::uuid", source="FROM s")
)
WRITE_OUTBOX_FIRST = 11


@dataclass(frozen=True)
class HandoffWrite:
    """The parameters of `WRITE_ESCALATE` / `WRITE_PARK` before the outbox's, named ($1..$10 in order)."""

    handoff_id: uuid.UUID
    account_id: uuid.UUID
    session_id: uuid.UUID
    intent: str
    reason: str
    caller_id: uuid.UUID
    target_user_id: uuid.UUID | None
    now: datetime
    version: int
    urgency: str

    def args(self) -> tuple[Any, ...]:
        """In the statement's order."""
        return (
            self.handoff_id,
            self.account_id,
            self.session_id,
            self.intent,
            self.reason,
            self.caller_id,
            self.target_user_id,
            self.now,
            self.version,
            self.urgency,
        )


# Handoff row, session update and outbox row: one statement, committed as a whole (the relay is told
# after).
def write_escalate_sql(*, timer: bool = True) -> str:
    """The escalation's statement (`timer` False: without its timer, for the benchmark's comparison)."""
    return _HANDOFF.format(
        assignments="status = 'escalated', escalation_reason = $5::text, escalated_to_id = $7::uuid, picked_up_by = NULL",
        timer=_TIMER if timer else "",
        outbox=outbox_sql(WRITE_OUTBOX_FIRST, only_with="s"),
    )


WRITE_ESCALATE = write_escalate_sql()
WRITE_PARK = _HANDOFF.format(
    assignments="status = 'parked'", timer="", outbox=outbox_sql(WRITE_OUTBOX_FIRST, only_with="s")
)

"""The statements of a PSA push that run as plain driver-level SQL (one round trip each)."""

from __future__ import annotations

from flowpilot_shared.integrations import INTEGRATION_COLUMNS
from flowpilot_shared.unit_of_work import outbox_sql

PUSH_COLUMNS = (
    "id",
    "account_id",
    "session_id",
    "handoff_id",
    "documentation_id",
    "event_id",
    "provider",
    "ticket_id",
    "status",
    "marker",
    "attempts",
)
# A new row starts at attempt 1; a `pending` row (an earlier attempt failed or its outcome is
# unknown) moves to its next attempt; a settled row is left alone (nothing returned). The same round
# trip reads what other versions of the same escalation's documentation left on the ticket: the note
# the newest pushed one is on (a regenerated documentation updates it), and the markers of pushes
# still pending after an attempt (one that timed out or crashed may have created its note, which a
# version finding no earlier note updates instead of adding a second one). It runs while the push
# lock is held, so its snapshot already shows what the lock's previous holder committed.
# Parameters: PUSH_COLUMNS in order ($2 account, $4 handoff, $5 documentation, $7 provider, $8 ticket).
CLAIM_SQL = f"""
WITH c AS (
  INSERT INTO psa_pushes ({", ".join(PUSH_COLUMNS)})
  VALUES ({", ".join(f"${i}" for i in range(1, len(PUSH_COLUMNS) + 1))})
  ON CONFLICT (documentation_id) DO UPDATE
  SET attempts = psa_pushes.attempts + 1, provider = excluded.provider, ticket_id = excluded.ticket_id,
      updated_at = now()
  WHERE psa_pushes.status = 'pending'
  RETURNING id, marker, attempts
)
SELECT c.id, c.marker, c.attempts, n.external_note_id AS earlier_note, n.version AS earlier_version,
  ARRAY(
    SELECT marker FROM psa_pushes
    WHERE account_id = $2 AND handoff_id = $4 AND documentation_id <> $5 AND status = 'pending'
      AND attempts > 0 AND provider = $7 AND ticket_id = $8
    ORDER BY created_at DESC LIMIT 3
  ) AS unsettled_markers
FROM c LEFT JOIN LATERAL (
  SELECT p.external_note_id, d.version
  FROM psa_pushes AS p JOIN documentation AS d ON d.id = p.documentation_id
  WHERE p.account_id = $2 AND p.handoff_id = $4 AND p.documentation_id <> $5 AND p.status = 'pushed'
    AND p.provider = $7 AND p.ticket_id = $8 AND p.external_note_id IS NOT NULL
  ORDER BY d.version DESC LIMIT 1
) AS n ON true
"""
# A documentation with nothing to push (no PSA integration or no ticket) gets one visible row saying so;
# its id is returned only when this call made it.
RECORD_NO_PSA_SQL = f"""
INSERT INTO psa_pushes ({", ".join(PUSH_COLUMNS)})
VALUES ({", ".join(f"${i}" for i in range(1, len(PUSH_COLUMNS) + 1))})
ON CONFLICT (documentation_id) DO NOTHING
RETURNING id
"""
# A push's outcome and the event that announces it ($5 on: its outbox row), one statement of the
# inbox transaction.
SETTLE_SQL = f"""
WITH s AS (
  UPDATE psa_pushes
  SET status = $2, last_error = $3, external_note_id = coalesce($4, external_note_id), updated_at = now()
  WHERE id = $1
  RETURNING id, documentation_id, handoff_id, provider, ticket_id, attempts
), o AS (
  {outbox_sql(5, only_with="s")}
)
SELECT * FROM s
"""
# The account's PSA integration (`INTEGRATION_COLUMNS`, all null when it has none) and the push lock,
# in one round trip: $1 account, $2 kind, $3 the lock's key. The lock is held until the transaction
# ends: two deliveries of one documentation, or two versions of one escalation's documentation (keyed
# by the handoff), never push at once.
INTEGRATION_AND_LOCK_SQL = f"""
SELECT pg_try_advisory_xact_lock(hashtextextended($3, 0)) AS locked, {INTEGRATION_COLUMNS}
FROM (SELECT) AS one LEFT JOIN integrations ON account_id = $1 AND kind = $2
"""

"""The statements of a PSA push that run as plain driver-level SQL (one round trip each)."""

from __future__ import annotations

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
# unknown) moves to its next attempt; a settled row is left alone (nothing returned).
CLAIM_SQL = f"""
INSERT INTO psa_pushes ({", ".join(PUSH_COLUMNS)})
VALUES ({", ".join(f"${i}" for i in range(1, len(PUSH_COLUMNS) + 1))})
ON CONFLICT (documentation_id) DO UPDATE
SET attempts = psa_pushes.attempts + 1, provider = excluded.provider, ticket_id = excluded.ticket_id,
    updated_at = now()
WHERE psa_pushes.status = 'pending'
RETURNING id, marker, attempts
"""
# A documentation with nothing to push (no PSA integration or no ticket) gets one visible row saying so;
# its id is returned only when this call made it.
RECORD_NO_PSA_SQL = f"""
INSERT INTO psa_pushes ({", ".join(PUSH_COLUMNS)})
VALUES ({", ".join(f"${i}" for i in range(1, len(PUSH_COLUMNS) + 1))})
ON CONFLICT (documentation_id) DO NOTHING
RETURNING id
"""
# A push's outcome, written in the inbox transaction with the event that announces it.
SETTLE_SQL = """
UPDATE psa_pushes
SET status = $2, last_error = $3, external_note_id = coalesce($4, external_note_id), updated_at = now()
WHERE id = $1
RETURNING id, documentation_id, handoff_id, provider, ticket_id, attempts
"""
# Held until the transaction ends: two deliveries of one documentation never push at once.
PUSH_LOCK_SQL = "SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0))"

"""The timeline's one statement: every source of a session's story, each row its time, kind, actor
(with the actor's name) and the fields its summary is written from.

One round trip and only the columns shown: through the ORM the read took seven statements and loaded
whole rows (documentation with its full text) into objects (`make bench`'s `timeline` step prices a
read).

$1 session, $2 the caller's account, $3 handoff-api's own timeline kinds, $4 the limit per source,
$5 settled delivery statuses, $6 settled PSA push statuses. No row at all: no such session in the
account; one row with a null kind: a session with nothing on its timeline yet.
"""

from __future__ import annotations

TIMELINE_SQL = """
WITH s AS (
  SELECT id FROM ai_sessions WHERE id = $1 AND account_id = $2
), story AS (
  (SELECT st.created_at AS at, 'step'::text AS kind, st.author_id AS actor,
          jsonb_build_object('step_id', st.id, 'kind', st.kind, 'content', st.content) AS f
   FROM session_steps st WHERE st.session_id = $1
   ORDER BY st.position LIMIT $4)
  UNION ALL
  (SELECT h.created_at, CASE WHEN h.intent = 'escalate' THEN 'escalation' ELSE 'park' END, h.from_user_id,
          jsonb_build_object('handoff_id', h.id, 'intent', h.intent, 'reason', h.reason,
                             'urgency', h.urgency, 'target_user_id', h.target_user_id, 'target', t.name)
   FROM handoffs h LEFT JOIN users t ON t.id = h.target_user_id AND t.account_id = $2
   WHERE h.session_id = $1 AND h.account_id = $2
   LIMIT $4)
  UNION ALL
  (SELECT e.at, e.kind, e.actor_id, jsonb_build_object('summary', e.summary, 'data', e.data)
   FROM timeline_entries e
   WHERE e.session_id = $1 AND e.account_id = $2 AND e.kind = ANY($3::text[])
   ORDER BY e.at LIMIT $4)
  UNION ALL
  (SELECT d.updated_at, 'delivery', NULL::uuid,
          jsonb_build_object('channel', d.channel, 'recipient', d.recipient, 'status', d.status,
                             'last_error', d.last_error, 'attempts', d.attempts, 'event_id', d.event_id,
                             'event_type', d.event_type)
   FROM deliveries d
   WHERE d.account_id = $2 AND d.session_id = $1 AND d.status = ANY($5::text[])
   LIMIT $4)
  UNION ALL
  (SELECT doc.created_at, 'documentation', NULL::uuid,
          jsonb_build_object('documentation_id', doc.id, 'version', doc.version,
                             'generated_by', doc.generated_by, 'model', doc.model)
   FROM documentation doc WHERE doc.account_id = $2 AND doc.session_id = $1
   LIMIT $4)
  UNION ALL
  (SELECT p.updated_at, 'psa_note', NULL::uuid,
          jsonb_build_object('push_id', p.id, 'documentation_id', p.documentation_id,
                             'provider', p.provider, 'ticket_id', p.ticket_id, 'status', p.status,
                             'external_note_id', p.external_note_id, 'last_error', p.last_error)
   FROM psa_pushes p
   WHERE p.account_id = $2 AND p.session_id = $1 AND p.status = ANY($6::text[])
   LIMIT $4)
)
SELECT story.at, story.kind, story.actor, u.name AS actor_name, story.f
FROM s LEFT JOIN story ON true LEFT JOIN users u ON u.id = story.actor AND u.account_id = $2
"""

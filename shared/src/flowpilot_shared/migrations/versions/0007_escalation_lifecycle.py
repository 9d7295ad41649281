"""escalation lifecycle: account policy, durable re-escalation timers, the timeline, handoff counters

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from flowpilot_shared.migrations import columns as col

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Escalations already waiting when this runs start their clock now, on the default policy (600 s).
BACKFILL_TIMERS = """
INSERT INTO escalation_timers (session_id, handoff_id, account_id, due_at, last_at, rounds_fired)
SELECT DISTINCT ON (h.session_id) h.session_id, h.id, h.account_id, now() + interval '600 seconds', now(), 0
FROM handoffs h JOIN ai_sessions s ON s.id = h.session_id
WHERE h.intent = 'escalate' AND h.claimed_at IS NULL AND s.status IN ('escalated', 'requesting_escalation')
ORDER BY h.session_id, h.created_at DESC
"""
# Claims made before the timeline existed (a claim now writes its own entry).
BACKFILL_CLAIMS = """
INSERT INTO timeline_entries (id, entry_key, account_id, session_id, handoff_id, at, kind, actor_id, summary, data)
SELECT gen_random_uuid(), 'claim:' || h.id, h.account_id, h.session_id, h.id, h.claimed_at, 'claim', h.claimed_by,
       'Picked up by ' || u.name,
       jsonb_build_object('handoff_id', h.id, 'waited_seconds',
                          floor(extract(epoch FROM h.claimed_at - h.created_at))::int)
FROM handoffs h JOIN users u ON u.id = h.claimed_by
WHERE h.claimed_at IS NOT NULL
"""


def upgrade() -> None:
    """Create the policy, timer and timeline tables, add the handoff counters, backfill."""
    op.add_column("handoffs", col.moment("queued_at", nullable=True))
    # A constant default is a catalog change only (PostgreSQL 11+), whatever the table's size.
    op.add_column("handoffs", sa.Column("reescalations", sa.Integer(), server_default="0", nullable=False))
    op.create_table(
        "escalation_policies",
        col.uuid("account_id"),
        sa.Column("reescalate_after_seconds", sa.Integer(), nullable=False),
        sa.Column("max_rounds", sa.Integer(), nullable=False),
        col.uuid("updated_by", nullable=True),
        col.updated_at(),
        sa.CheckConstraint(
            "reescalate_after_seconds BETWEEN 5 AND 86400",
            name=op.f("ck_escalation_policies_reescalate_after_range"),
        ),
        sa.CheckConstraint(
            "max_rounds BETWEEN 0 AND 10", name=op.f("ck_escalation_policies_max_rounds_range")
        ),
        col.owned_by_account("escalation_policies"),
        col.primary_key("escalation_policies", "account_id"),
    )
    op.create_index(
        "ix_escalation_policies_interval", "escalation_policies", ["reescalate_after_seconds"], unique=False
    )
    op.create_table(
        "escalation_timers",
        col.uuid("session_id"),
        col.uuid("handoff_id"),
        col.uuid("account_id"),
        col.moment("due_at"),
        col.moment("last_at"),
        sa.Column("rounds_fired", sa.Integer(), server_default="0", nullable=False),
        col.references("escalation_timers", "session_id", "ai_sessions", cascade=True),
        col.primary_key("escalation_timers", "session_id"),
    )
    op.create_index("ix_escalation_timers_due", "escalation_timers", ["due_at"], unique=False)
    op.create_table(
        "timeline_entries",
        col.uuid("id"),
        sa.Column("entry_key", sa.String(length=300), nullable=False),
        col.uuid("account_id"),
        col.uuid("session_id"),
        col.uuid("handoff_id", nullable=True),
        col.moment("at"),
        sa.Column("kind", sa.String(length=32), nullable=False),
        col.uuid("actor_id", nullable=True),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("data", sa.dialects.postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        col.primary_key("timeline_entries"),
        col.unique("timeline_entries", "entry_key"),
    )
    op.create_index("ix_timeline_entries_session_at", "timeline_entries", ["session_id", "at"], unique=False)
    op.execute(BACKFILL_TIMERS)
    op.execute(BACKFILL_CLAIMS)


def downgrade() -> None:
    """Drop them again."""
    op.drop_table("timeline_entries")
    op.drop_table("escalation_timers")
    op.drop_table("escalation_policies")
    op.drop_column("handoffs", "reescalations")
    op.drop_column("handoffs", "queued_at")

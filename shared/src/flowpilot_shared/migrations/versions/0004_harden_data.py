"""dead outbox rows are set aside; documentation regeneration is throttled per session

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 10:00:00
"""

from collections.abc import Sequence

from alembic import op

from flowpilot_shared.migrations import columns as col

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add `outbox.dead_at` and the `documentation_regenerations` table."""
    # Nullable without a default: a catalog change only, whatever the table's size.
    op.add_column("outbox", col.moment("dead_at", nullable=True))
    op.create_table(
        "documentation_regenerations",
        col.uuid("session_id"),
        col.uuid("account_id"),
        col.moment("requested_at", default_now=True),
        col.references("documentation_regenerations", "session_id", "ai_sessions", cascade=True),
        col.owned_by_account("documentation_regenerations"),
        col.primary_key("documentation_regenerations", "session_id"),
    )


def downgrade() -> None:
    """Drop them again."""
    op.drop_table("documentation_regenerations")
    op.drop_column("outbox", "dead_at")

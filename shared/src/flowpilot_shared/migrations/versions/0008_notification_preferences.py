"""notification preferences: time zone, quiet hours, email and chat mentions per person

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 21:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from flowpilot_shared.migrations import columns as col

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create `notification_preferences` (one row per person who changed a default)."""
    op.create_table(
        "notification_preferences",
        col.uuid("user_id"),
        col.uuid("account_id"),
        sa.Column("timezone", sa.String(length=64), server_default="UTC", nullable=False),
        sa.Column("quiet_start", sa.Time(), nullable=True),
        sa.Column("quiet_end", sa.Time(), nullable=True),
        sa.Column("email", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("chat_mentions", sa.Boolean(), server_default="true", nullable=False),
        col.updated_at(),
        sa.CheckConstraint(
            "(quiet_start IS NULL AND quiet_end IS NULL) OR "
            "(quiet_start IS NOT NULL AND quiet_end IS NOT NULL AND quiet_start <> quiet_end)",
            name=op.f("ck_notification_preferences_quiet_hours_window"),
        ),
        col.owned_by_account("notification_preferences"),
        col.references("notification_preferences", "user_id", "users", cascade=True),
        col.primary_key("notification_preferences", "user_id"),
    )
    op.create_index(
        op.f("ix_notification_preferences_account_id"), "notification_preferences", ["account_id"]
    )


def downgrade() -> None:
    """Drop the table."""
    op.drop_index(op.f("ix_notification_preferences_account_id"), table_name="notification_preferences")
    op.drop_table("notification_preferences")

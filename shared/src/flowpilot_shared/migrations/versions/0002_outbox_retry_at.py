"""outbox rows refused by the broker wait out their own retry

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 06:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add `outbox.retry_at` and the index of sessions held back by a deferred row."""
    # Nullable without a default: a catalog change only, whatever the table's size.
    op.add_column("outbox", sa.Column("retry_at", sa.DateTime(timezone=True), nullable=True))
    # Built without blocking the writers of a large retained outbox.
    with op.get_context().autocommit_block():
        op.create_index(
            "ix_outbox_deferred",
            "outbox",
            ["session_id"],
            postgresql_where=sa.text("published_at IS NULL AND retry_at IS NOT NULL"),
            postgresql_concurrently=True,
        )


def downgrade() -> None:
    """Drop them again."""
    op.drop_index("ix_outbox_deferred", table_name="outbox")
    op.drop_column("outbox", "retry_at")

"""outbox rows carry the trace and the request that wrote them

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-08 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add `outbox.traceparent` and `outbox.request_id` (NULL for rows written before, or untraced)."""
    # Nullable without a default: a catalog change only, whatever the table's size.
    op.add_column("outbox", sa.Column("traceparent", sa.String(length=64), nullable=True))
    op.add_column("outbox", sa.Column("request_id", sa.Text(), nullable=True))


def downgrade() -> None:
    """Drop them again."""
    op.drop_column("outbox", "request_id")
    op.drop_column("outbox", "traceparent")

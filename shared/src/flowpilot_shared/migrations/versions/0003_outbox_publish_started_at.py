"""outbox rows record when the relay pass that published them read them

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27 15:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add `outbox.publish_started_at` (rows published before it stay NULL: replay falls back)."""
    # Nullable without a default: a catalog change only, whatever the table's size.
    op.add_column("outbox", sa.Column("publish_started_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    """Drop it again."""
    op.drop_column("outbox", "publish_started_at")

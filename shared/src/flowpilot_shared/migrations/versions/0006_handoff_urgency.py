"""handoffs carry an urgency (normal or high)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 20:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Add `handoffs.urgency`, `normal` for every existing row."""
    # A constant default is a catalog change only (PostgreSQL 11+), whatever the table's size.
    op.add_column(
        "handoffs", sa.Column("urgency", sa.String(length=8), server_default="normal", nullable=False)
    )


def downgrade() -> None:
    """Drop it again."""
    op.drop_column("handoffs", "urgency")

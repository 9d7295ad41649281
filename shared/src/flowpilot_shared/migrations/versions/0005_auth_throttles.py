"""attempt counters of sign-in and sign-up, shared by every API replica

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    """Create `auth_throttles` (a new, empty table: nothing to backfill)."""
    op.create_table(
        "auth_throttles",
        sa.Column("key", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_auth_throttles")),
    )
    op.create_index("ix_auth_throttles_expires_at", "auth_throttles", ["expires_at"])


def downgrade() -> None:
    """Drop it again."""
    op.drop_index("ix_auth_throttles_expires_at", table_name="auth_throttles")
    op.drop_table("auth_throttles")

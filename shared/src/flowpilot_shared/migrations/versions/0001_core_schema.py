"""core schema

Revision ID: 0001
Revises:
Create Date: 2026-11-26 11:45:46.165389
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from flowpilot_shared.migrations.initial import accounts_and_messaging, sessions_and_work

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Dropping a table drops its indexes and constraints; children before the tables they reference.
TABLES_NEWEST_FIRST = (
    "session_steps",
    "psa_pushes",
    "handoffs",
    "escalation_packages",
    "documentation",
    "notifications",
    "ai_sessions",
    "users",
    "integrations",
    "deliveries",
    "outbox",
    "inbox",
    "accounts",
)


def upgrade() -> None:
    """Create the whole initial schema."""
    accounts_and_messaging.create()
    sessions_and_work.create()


def downgrade() -> None:
    """Drop it again."""
    for table in TABLES_NEWEST_FIRST:
        op.drop_table(table)
    op.execute(sa.schema.DropSequence(sa.Sequence("event_seq")))

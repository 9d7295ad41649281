"""the timeline reads deliveries, documentation and PSA notes where they are written

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 16:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The kinds handoff-api's projection copied from other services' events into `timeline_entries`.
PROJECTED_KINDS = "('delivery', 'documentation', 'psa_note')"


def upgrade() -> None:
    """Drop the projected copies (the timeline now reads their sources: left, they would show twice)
    and the `delivery.recorded` events not yet published (no consumer reads them any more)."""
    op.execute(f"DELETE FROM timeline_entries WHERE kind IN {PROJECTED_KINDS}")
    op.execute(
        "DELETE FROM outbox WHERE routing_key = 'delivery.recorded' AND published_at IS NULL AND dead_at IS NULL"
    )


def downgrade() -> None:
    """Nothing to restore in the schema. The older code's projection writes rows for what happens
    from then on; the deliveries, documentation and PSA notes before that stay in their own tables
    (the deliveries API, the documentation API), not on its timeline."""

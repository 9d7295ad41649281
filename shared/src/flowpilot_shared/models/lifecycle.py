"""The escalation lifecycle (handoff-api's tables): account policy, durable re-escalation timers, timeline."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, DateTime, Index, Integer, String, Text
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from flowpilot_shared.models.base import Base, account_fk, references, updated_at

# DESIGN.md "Escalation lifecycle": the policy of an account that never set one, and the bounds of a PUT.
DEFAULT_REESCALATE_AFTER_SECONDS = 600
DEFAULT_MAX_ROUNDS = 3
REESCALATE_AFTER_RANGE = (5, 86400)
MAX_ROUNDS_RANGE = (0, 10)


class EscalationPolicy(Base):
    """How often an unclaimed escalation of the account notifies again, and how many times."""

    __tablename__ = "escalation_policies"
    __table_args__ = (
        CheckConstraint(
            f"reescalate_after_seconds BETWEEN {REESCALATE_AFTER_RANGE[0]} AND {REESCALATE_AFTER_RANGE[1]}",
            name="reescalate_after_range",
        ),
        CheckConstraint(
            f"max_rounds BETWEEN {MAX_ROUNDS_RANGE[0]} AND {MAX_ROUNDS_RANGE[1]}", name="max_rounds_range"
        ),
        # The timer loop sleeps no longer than the shortest interval any account uses (one probe).
        Index("ix_escalation_policies_interval", "reescalate_after_seconds"),
    )

    account_id: Mapped[uuid.UUID] = account_fk(primary_key=True)
    reescalate_after_seconds: Mapped[int] = mapped_column(Integer)
    max_rounds: Mapped[int] = mapped_column(Integer)
    updated_by: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), nullable=True)
    updated_at: Mapped[datetime] = updated_at()


class EscalationTimer(Base):
    """The next re-escalation of a session's unclaimed escalation: one row while it waits in the queue.

    Written with the escalation (same statement), deleted by the claim, the resolve or the final
    notice, started again by a release; a new escalation of the session replaces it. Due times are
    on the database's clock.
    """

    __tablename__ = "escalation_timers"
    __table_args__ = (Index("ix_escalation_timers_due", "due_at"),)

    session_id: Mapped[uuid.UUID] = references("ai_sessions", cascade=True, primary_key=True)
    handoff_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    # Not indexed: only a policy change looks timers up by account (rare), the escalation writes one each.
    account_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # When the escalation entered the queue or last fired: a policy change re-plans from here.
    last_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    rounds_fired: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class TimelineEntry(Base):
    """One thing that happened to a session, for its timeline (steps and handoffs are read from theirs).

    handoff-api writes these (claims, releases, rounds) with the change they record, each under a
    unique `entry_key`. What other services did (deliveries, documentation, PSA notes) is read from
    their own tables.
    """

    __tablename__ = "timeline_entries"
    __table_args__ = (Index("ix_timeline_entries_session_at", "session_id", "at"),)

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    entry_key: Mapped[str] = mapped_column(String(300), unique=True)
    account_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    session_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    handoff_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), nullable=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    kind: Mapped[str] = mapped_column(String(32))
    actor_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), nullable=True)
    summary: Mapped[str] = mapped_column(Text)
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)

"""Troubleshooting sessions, their steps and their handoffs."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, DateTime, Identity, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from flowpilot_shared.models.base import Base, account_fk, created_at, references, updated_at, uuid_pk


class SessionStatus(StrEnum):
    """Lifecycle of a session."""

    active = "active"
    parked = "parked"
    escalated = "escalated"
    requesting_escalation = "requesting_escalation"  # legacy, still accepted
    picked_up = "picked_up"
    resolved = "resolved"


AWAITING_PICKUP = frozenset({SessionStatus.escalated, SessionStatus.requesting_escalation})


class StepKind(StrEnum):
    """What a session step records."""

    action = "action"
    observation = "observation"
    note = "note"
    ai_suggestion = "ai_suggestion"


class HandoffIntent(StrEnum):
    """Why a session changed hands."""

    park = "park"
    escalate = "escalate"


class Urgency(StrEnum):
    """How hard an escalation pushes: `high` cuts through a recipient's quiet hours."""

    normal = "normal"
    high = "high"


class AiSession(Base):
    """A junior's troubleshooting session with the AI copilot."""

    __tablename__ = "ai_sessions"
    __table_args__ = (Index("ix_ai_sessions_account_status", "account_id", "status"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    account_id: Mapped[uuid.UUID] = account_fk()
    owner_id: Mapped[uuid.UUID] = references("users")
    title: Mapped[str] = mapped_column(String(300))
    problem: Mapped[str] = mapped_column(Text)
    client_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    psa_ticket_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    status: Mapped[str] = mapped_column(String(32), default=SessionStatus.active)
    escalation_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    escalated_to_id: Mapped[uuid.UUID | None] = references("users")
    picked_up_by: Mapped[uuid.UUID | None] = references("users")
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()


class SessionStep(Base):
    """One thing tried or seen during a session."""

    __tablename__ = "session_steps"

    id: Mapped[uuid.UUID] = uuid_pk()
    position: Mapped[int] = mapped_column(BigInteger, Identity(always=False))
    session_id: Mapped[uuid.UUID] = references("ai_sessions", cascade=True, index=True)
    author_id: Mapped[uuid.UUID] = references("users")
    kind: Mapped[str] = mapped_column(String(32))
    content: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at()


class Handoff(Base):
    """A park or an escalation of a session; escalations are claimed by one senior."""

    __tablename__ = "handoffs"
    __table_args__ = (
        Index("ix_handoffs_session_created", "session_id", "created_at"),
        Index(
            "ix_handoffs_open_escalations",
            "account_id",
            "created_at",
            postgresql_where=text("intent = 'escalate' AND claimed_at IS NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    account_id: Mapped[uuid.UUID] = account_fk()
    session_id: Mapped[uuid.UUID] = references("ai_sessions", cascade=True)
    intent: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    urgency: Mapped[str] = mapped_column(String(8), default=Urgency.normal, server_default=Urgency.normal)
    from_user_id: Mapped[uuid.UUID] = references("users")
    target_user_id: Mapped[uuid.UUID | None] = references("users")
    created_at: Mapped[datetime] = created_at()
    claimed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    claimed_by: Mapped[uuid.UUID | None] = references("users")
    # When a release put it back in the queue (NULL: it has waited since `created_at`).
    queued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # Re-escalation rounds and final notices it caused, all told.
    reescalations: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

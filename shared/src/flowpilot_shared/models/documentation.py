"""AI escalation packages and session documentation (docgen's tables), versioned."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, Index, Integer, String, Text, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from flowpilot_shared.models.base import Base, account_fk, created_at, references, uuid_pk


class Generated:
    """What docgen writes for a session's escalation, versioned (version N+1 on a regeneration)."""

    id: Mapped[uuid.UUID] = uuid_pk()
    account_id: Mapped[uuid.UUID] = account_fk()
    session_id: Mapped[uuid.UUID] = references("ai_sessions")
    handoff_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    generated_by: Mapped[str] = mapped_column(String(16))
    model: Mapped[str | None] = mapped_column(String(100), nullable=True)
    created_at: Mapped[datetime] = created_at()


class EscalationPackage(Generated, Base):
    """What the junior tried, hypotheses and next steps, for the pickup screen."""

    __tablename__ = "escalation_packages"
    __table_args__ = (
        UniqueConstraint("handoff_id", "version"),
        Index("ix_escalation_packages_session", "session_id", "created_at"),
    )

    content: Mapped[dict[str, Any]] = mapped_column(JSONB)


class Documentation(Generated, Base):
    """Markdown documentation of a session, fit for a PSA ticket note."""

    __tablename__ = "documentation"
    __table_args__ = (
        UniqueConstraint("handoff_id", "version"),
        Index("ix_documentation_session", "session_id", "created_at"),
    )

    content_markdown: Mapped[str] = mapped_column(Text)
    input_tokens: Mapped[int | None] = mapped_column(Integer, nullable=True)
    output_tokens: Mapped[int | None] = mapped_column(Integer, nullable=True)
    latency_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)
    fallback_reason: Mapped[str | None] = mapped_column(Text, nullable=True)


class DocumentationRegeneration(Base):
    """When a session's documentation was last regenerated on request (the throttle's one row each)."""

    __tablename__ = "documentation_regenerations"

    session_id: Mapped[uuid.UUID] = references("ai_sessions", cascade=True, primary_key=True)
    account_id: Mapped[uuid.UUID] = account_fk()
    requested_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), nullable=False
    )

"""Pushes of documentation onto PSA tickets (psa-sync's table)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from flowpilot_shared.models.base import Base, account_fk, created_at, references, updated_at, uuid_pk


class PsaPushStatus(StrEnum):
    """Outcome of one push (DESIGN.md `psa-pushes`)."""

    pushed = "pushed"
    failed = "failed"
    no_psa = "no_psa"
    pending = "pending"


class PsaPush(Base):
    """One documentation's note on one ticket, claimed before the PSA is called."""

    __tablename__ = "psa_pushes"
    __table_args__ = (
        UniqueConstraint("documentation_id"),
        Index("ix_psa_pushes_session", "account_id", "session_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    account_id: Mapped[uuid.UUID] = account_fk()
    session_id: Mapped[uuid.UUID] = references("ai_sessions")
    handoff_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), nullable=True)
    documentation_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    provider: Mapped[str | None] = mapped_column(String(32), nullable=True)
    ticket_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    status: Mapped[str] = mapped_column(String(16))
    # Put into the note text so an ambiguous outcome can be checked before posting again.
    marker: Mapped[str] = mapped_column(String(100))
    external_note_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()

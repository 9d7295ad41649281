"""The transactional outbox (also the retained event log) and the consumers' inbox."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    DateTime,
    Index,
    Integer,
    PrimaryKeyConstraint,
    Sequence,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from flowpilot_shared.models.base import Base, created_at

# One sequence orders every retained event (outbox rows and stream-only rows alike).
event_seq = Sequence("event_seq", metadata=Base.metadata)


class OutboxEvent(Base):
    """An event committed with the state change it announces; kept after publishing for replay.

    `txid` is the writing transaction's id: rows are read in (txid, seq) order and only below the
    snapshot's xmin, so a row that commits late can never be skipped by a reader's cursor.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_pending", "seq", postgresql_where=text("published_at IS NULL")),
        Index("ix_outbox_account_position", "account_id", "txid", "seq"),
        Index("ix_outbox_published_at", "published_at"),
        Index(
            "ix_outbox_deferred",
            "session_id",
            postgresql_where=text("published_at IS NULL AND retry_at IS NOT NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, event_seq, server_default=event_seq.next_value())
    txid: Mapped[int] = mapped_column(
        BigInteger, server_default=text("(pg_current_xact_id()::text)::bigint"), nullable=False
    )
    exchange: Mapped[str] = mapped_column(String(100))
    routing_key: Mapped[str] = mapped_column(String(100))
    account_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), nullable=True)
    session_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), nullable=True)
    # Set for events meant for one user's streams only (bell rows).
    user_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), nullable=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    created_at: Mapped[datetime] = created_at()
    # When the broker confirmed the row (database clock, set once its pass is over).
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # When the pass that published the row read it (database clock): before the row went out, so a
    # row published after another went out was marked after that one's pass read it (stream replay).
    publish_started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    # Set when the broker refused this row itself: not tried again (nor its session's later rows) before.
    retry_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # Set when the row was set aside as never publishable (too large, refused too often): the relay
    # skips it and its session's later rows go on without it (outbox/pending.py).
    dead_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    # The W3C trace context and the X-Request-ID of what wrote the row (`flowpilot_shared.telemetry`):
    # the relay publishes the row as a child of that trace, however long after the commit.
    traceparent: Mapped[str | None] = mapped_column(String(64), nullable=True)
    request_id: Mapped[str | None] = mapped_column(Text, nullable=True)


class InboxRecord(Base):
    """ "Consumer X processed event Y", written in the same transaction as X's effects."""

    __tablename__ = "inbox"
    __table_args__ = (PrimaryKeyConstraint("consumer", "event_id"),)

    consumer: Mapped[str] = mapped_column(String(100))
    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    processed_at: Mapped[datetime] = created_at()

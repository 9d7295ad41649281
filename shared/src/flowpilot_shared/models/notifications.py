"""Bell-icon notifications and the delivery ledger of external messages (notifier's tables)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import DateTime, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from flowpilot_shared.models.base import Base, account_fk, created_at, references, updated_at, uuid_pk


class Notification(Base):
    """One bell row for one user, created at most once per (event, user, type)."""

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("event_id", "user_id", "type"),
        Index("ix_notifications_user_created", "user_id", "created_at"),
        Index("ix_notifications_user_unread", "user_id", postgresql_where=text("read_at IS NULL")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    account_id: Mapped[uuid.UUID] = account_fk()
    user_id: Mapped[uuid.UUID] = references("users")
    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    type: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(String(500), nullable=True)
    session_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), nullable=True)
    handoff_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), nullable=True)
    created_at: Mapped[datetime] = created_at()
    read_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class DeliveryChannel(StrEnum):
    """External channels that leave a delivery record."""

    email = "email"
    slack = "slack"
    teams = "teams"


# A chat channel the account has not set up still gets a ledger row (the deliveries API shows it):
# `skipped`, no recipient, this reason. The session's timeline leaves those rows out.
NO_RECIPIENT = "-"
NOT_CONFIGURED = {
    DeliveryChannel.slack.value: "Slack is not configured",
    DeliveryChannel.teams.value: "Teams is not configured",
}


class DeliveryStatus(StrEnum):
    """Where one external message stands (invariant 3); `pending` = claimed, call in flight."""

    pending = "pending"
    sent = "sent"
    failed = "failed"
    retrying = "retrying"
    skipped = "skipped"


class Delivery(Base):
    """Ledger row claimed before an external call, so a redelivery never sends twice."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "channel", "recipient"),
        Index("ix_deliveries_account_session", "account_id", "session_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    account_id: Mapped[uuid.UUID] = account_fk()
    session_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), nullable=True)
    handoff_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True), nullable=True)
    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    event_type: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    recipient: Mapped[str] = mapped_column(String(320))
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    # What the channel answered with (Slack channel + ts, SMTP message id) for later edits.
    external_id: Mapped[str | None] = mapped_column(String(300), nullable=True)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()

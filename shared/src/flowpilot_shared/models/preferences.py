"""How each person wants to be reached (the notifier's table, read when it sends)."""

from __future__ import annotations

import uuid
from datetime import datetime, time

from sqlalchemy import Boolean, CheckConstraint, String, Time
from sqlalchemy.orm import Mapped, mapped_column

from flowpilot_shared.models.base import Base, account_fk, references, updated_at

DEFAULT_TIMEZONE = "UTC"


class NotificationPreference(Base):
    """One person's preferences; a person without a row has the defaults (UTC, no quiet hours, all on)."""

    __tablename__ = "notification_preferences"
    __table_args__ = (
        # Quiet hours are both ends or none, and never an empty (or ambiguous) window.
        CheckConstraint(
            "(quiet_start IS NULL AND quiet_end IS NULL) OR "
            "(quiet_start IS NOT NULL AND quiet_end IS NOT NULL AND quiet_start <> quiet_end)",
            name="quiet_hours_window",
        ),
    )

    user_id: Mapped[uuid.UUID] = references("users", cascade=True, primary_key=True)
    account_id: Mapped[uuid.UUID] = account_fk(index=True)
    timezone: Mapped[str] = mapped_column(
        String(64), default=DEFAULT_TIMEZONE, server_default=DEFAULT_TIMEZONE
    )
    quiet_start: Mapped[time | None] = mapped_column(Time(), nullable=True)
    quiet_end: Mapped[time | None] = mapped_column(Time(), nullable=True)
    email: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    chat_mentions: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    updated_at: Mapped[datetime] = updated_at()

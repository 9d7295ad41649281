"""Attempt counters of the unauthenticated endpoints (sign-in, sign-up), shared by every API replica."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Index, Integer, Text
from sqlalchemy.orm import Mapped, mapped_column

from flowpilot_shared.models.base import Base


class AuthThrottle(Base):
    """Attempts counted under one key ("login-email:<email>", "login-address:<ip>"...) until `expires_at`."""

    __tablename__ = "auth_throttles"
    __table_args__ = (Index("ix_auth_throttles_expires_at", "expires_at"),)

    key: Mapped[str] = mapped_column(Text, primary_key=True)
    attempts: Mapped[int] = mapped_column(Integer, nullable=False)
    # The end of the key's current window: its count starts again from 1 after it.
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False)

"""Tenants (accounts) and their people."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import Boolean, DateTime, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from flowpilot_shared.models.base import Base, account_fk, created_at, uuid_pk


class Role(StrEnum):
    """What a user may do inside their account."""

    owner = "owner"
    admin = "admin"
    engineer = "engineer"
    viewer = "viewer"


ENGINEER_OR_ADMIN = frozenset({Role.owner, Role.admin, Role.engineer})
OWNER_OR_ADMIN = frozenset({Role.owner, Role.admin})


class Account(Base):
    """One MSP: the tenant every row belongs to."""

    __tablename__ = "accounts"

    id: Mapped[uuid.UUID] = uuid_pk()
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = created_at()


class User(Base):
    """A person of an account; soft-deleted users keep their rows for history."""

    __tablename__ = "users"
    __table_args__ = (
        Index("uq_users_email_lower", text("lower(email)"), unique=True),
        Index("ix_users_account_role", "account_id", "role"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    account_id: Mapped[uuid.UUID] = account_fk(index=True)
    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    created_at: Mapped[datetime] = created_at()

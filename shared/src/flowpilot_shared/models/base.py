"""Declarative base and column helpers every model uses."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, MetaData, func
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, MappedColumn, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """Timezone-aware now, for values set in Python."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Base of every FlowPilot table."""

    metadata = MetaData(naming_convention=NAMING)


def uuid_pk() -> Mapped[uuid.UUID]:
    """A UUID primary key generated in Python (so ids exist before flush)."""
    return mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)


def references(table: str, *, cascade: bool = False, **options: Any) -> MappedColumn[Any]:
    """A UUID column referencing `table.id` (`cascade`: deleted with it); `options` go to `mapped_column`."""
    ondelete = "CASCADE" if cascade else None
    return mapped_column(UUID(as_uuid=True), ForeignKey(f"{table}.id", ondelete=ondelete), **options)


def account_fk(**options: Any) -> MappedColumn[Any]:
    """The tenant column: the account the row belongs to, and goes with."""
    return references("accounts", cascade=True, **options)


def created_at() -> Mapped[datetime]:
    """Creation time set by the database."""
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


def updated_at() -> Mapped[datetime]:
    """Last change time, maintained on every ORM update."""
    return mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now(), nullable=False
    )

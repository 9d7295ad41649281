"""Per-account integrations (PSA, Slack, Teams); secrets are stored only as ciphertext."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import LargeBinary, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from flowpilot_shared.models.base import Base, account_fk, created_at, updated_at, uuid_pk


class IntegrationKind(StrEnum):
    """The integration slots an account has (one of each)."""

    psa = "psa"
    slack = "slack"
    teams = "teams"


class Integration(Base):
    """One configured integration: public settings in `config`, secrets in `secret_ciphertext`."""

    __tablename__ = "integrations"
    __table_args__ = (UniqueConstraint("account_id", "kind"),)

    id: Mapped[uuid.UUID] = uuid_pk()
    account_id: Mapped[uuid.UUID] = account_fk()
    kind: Mapped[str] = mapped_column(String(16))
    provider: Mapped[str | None] = mapped_column(String(32), nullable=True)
    config: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    secret_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = created_at()
    updated_at: Mapped[datetime] = updated_at()

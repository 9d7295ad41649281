"""The base of event payload parts and how events name a person (shared by every event module)."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict


class Contract(BaseModel):
    """Base of event payload parts: unknown fields are kept out, values are immutable."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class UserRef(Contract):
    """A person named by an event."""

    id: uuid.UUID
    name: str
    email: str
    role: str

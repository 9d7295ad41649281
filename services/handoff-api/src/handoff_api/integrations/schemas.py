"""Integrations (PSA, Slack, Teams): request bodies and the redacted view."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from flowpilot_shared.models import IntegrationKind
from handoff_api.fields import Request, Secret, TicketId, Url

PsaProvider = Literal["connectwise", "autotask", "halopsa"]

# DESIGN.md "PSA providers": the credential keys each provider needs (and the optional ones).
REQUIRED_CREDENTIALS: dict[str, frozenset[str]] = {
    "connectwise": frozenset({"company_id", "public_key", "private_key", "client_id"}),
    "autotask": frozenset({"username", "secret", "integration_code"}),
    "halopsa": frozenset({"client_id", "client_secret"}),
}
OPTIONAL_CREDENTIALS: dict[str, frozenset[str]] = {"halopsa": frozenset({"tenant"})}


class PsaIntegrationIn(Request):
    """`PUT /integrations/psa`."""

    provider: PsaProvider
    base_url: Url
    credentials: dict[TicketId, Secret] = Field(max_length=10)


class SlackIntegrationIn(Request):
    """`PUT /integrations/slack`; with `signing_secret` the message's Pick up claims in place."""

    bot_token: Secret
    channel_id: TicketId
    signing_secret: Secret | None = None


class TeamsIntegrationIn(Request):
    """`PUT /integrations/teams` (a Workflows webhook URL is itself a secret)."""

    webhook_url: Url


class IntegrationOut(BaseModel):
    """An integration without its secrets: which secret fields are set, never their values."""

    kind: IntegrationKind
    provider: str | None
    config: dict[str, Any]
    configured: dict[str, bool]
    updated_at: datetime

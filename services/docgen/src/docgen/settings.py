"""docgen settings."""

from __future__ import annotations

from pydantic import AliasChoices, Field

from flowpilot_shared.settings import CoreSettings


class DocgenSettings(CoreSettings):
    """What docgen reads from the environment (the Anthropic variables have no FLOWPILOT_ prefix)."""

    docgen_port: int = 8002
    docgen_model: str = "claude-sonnet-4-5"
    anthropic_api_key: str | None = Field(
        default=None, validation_alias=AliasChoices("ANTHROPIC_API_KEY", "FLOWPILOT_ANTHROPIC_API_KEY")
    )
    anthropic_base_url: str | None = Field(
        default=None, validation_alias=AliasChoices("ANTHROPIC_BASE_URL", "FLOWPILOT_ANTHROPIC_BASE_URL")
    )
    ai_timeout_seconds: float = 30.0
    ai_max_retries: int = 2
    # Upper bound on one generation including the SDK's retries; past it the template is used.
    ai_total_timeout_seconds: float = 90.0
    # Room for a package of a long session (up to 100 steps tried); an answer cut off here is not used.
    ai_max_tokens: int = 4096
    # A session's documentation is regenerated on request at most this often (429 with Retry-After
    # before that): each regeneration is a model call and a PSA update. 0 turns the throttle off.
    regenerate_min_interval_seconds: float = Field(default=60.0, ge=0)

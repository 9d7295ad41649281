"""handoff-api settings."""

from __future__ import annotations

from pydantic import Field

from flowpilot_shared.settings import CoreSettings


class ApiSettings(CoreSettings):
    """What handoff-api reads from the environment."""

    api_port: int = 8000
    api_workers: int = Field(
        default=1,
        ge=1,
        le=64,
        description="processes serving the API on one port (each with its own pool and outbox relay)",
    )
    rate_limit_per_minute: int = Field(
        default=1200, description="requests per account per minute (sliding window, per replica); 0 disables"
    )
    max_steps_per_session: int = Field(
        default=200,
        ge=1,
        description="steps a session holds at most; adding one more answers 422 (events carry the newest only)",
    )

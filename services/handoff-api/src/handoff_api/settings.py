"""handoff-api settings."""

from __future__ import annotations

from pydantic import Field

from flowpilot_shared.settings import CoreSettings


class ApiSettings(CoreSettings):
    """What handoff-api reads from the environment."""

    api_port: int = 8000
    rate_limit_per_minute: int = Field(
        default=1200, description="requests per account per minute (sliding window, per replica); 0 disables"
    )

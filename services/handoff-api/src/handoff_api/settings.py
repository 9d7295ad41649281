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
    # Slack interactive pickup: the Web API (users.info) and how long each call to Slack may take.
    slack_api_url: str = "https://slack.com/api/"
    slack_timeout_seconds: float = Field(default=5.0, gt=0)
    # Attempts at each Slack call made after a click was answered (users.info, the ephemeral reply).
    slack_call_attempts: int = Field(default=3, ge=1, le=10)
    # Clicks worked on at once after answering (the rest wait their turn): a burst of clicks must not
    # crowd out the answers of the next ones, nor take every pooled database connection.
    slack_pickup_concurrency: int = Field(default=8, ge=1, le=256)

"""handoff-api settings."""

from __future__ import annotations

from pydantic import Field, field_validator

from flowpilot_shared.settings import CoreSettings
from handoff_api.throttles.client import trusted_networks


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

    # Where the client address comes from (per-address throttles): X-Forwarded-For / X-Real-IP are
    # believed only from these peers (comma-separated CIDRs; the gateway). Empty: never.
    trusted_proxies: str = "127.0.0.1/32,::1/128"
    # Sign-in attempts per email and per client address in one window, sign-ups per client address;
    # counted in PostgreSQL across every replica. Past them: 429 + Retry-After. 0 disables one.
    login_attempts_per_email: int = Field(default=10, ge=0)
    login_attempts_per_address: int = Field(default=100, ge=0)
    login_window_seconds: float = Field(default=900.0, gt=0)
    signups_per_address: int = Field(default=20, ge=0)
    signup_window_seconds: float = Field(default=3600.0, gt=0)
    # argon2 work at once per process (each ~64 MiB), and how long a request waits for a slot (then 503).
    password_hash_concurrency: int = Field(default=4, ge=1)
    password_hash_wait_seconds: float = Field(default=5.0, gt=0)

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: str) -> str:
        trusted_networks(value)  # raises on a malformed entry, at start
        return value

    max_steps_per_session: int = Field(
        default=200,
        ge=1,
        description="steps a session holds at most; adding one more answers 422 (events carry the newest only)",
    )
    reescalation_timers: bool = Field(
        default=True, description="run the re-escalation timer loop in this process (off: benchmark baseline)"
    )
    timer_max_sleep_seconds: float = Field(
        default=60.0,
        gt=0,
        description="longest the idle timer loop sleeps between two looks at the due times",
    )
    timer_batch_size: int = Field(default=100, ge=1, description="due timers fired in one transaction")

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
    reescalation_timers: bool = Field(
        default=True, description="run the re-escalation timer loop in this process (off: benchmark baseline)"
    )
    timer_max_sleep_seconds: float = Field(
        default=60.0,
        gt=0,
        description="longest the idle timer loop sleeps between two looks at the due times",
    )
    timer_batch_size: int = Field(default=100, ge=1, description="due timers fired in one transaction")
    timeline_linger_seconds: float = Field(
        default=0.2,
        ge=0,
        description="how long a timeline projection message waits for others to share its commit",
    )
    timeline_prefetch: int = Field(
        default=128, ge=1, description="timeline projection messages in flight (lingering ones included)"
    )

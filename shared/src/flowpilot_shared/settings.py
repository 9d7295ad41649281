"""Settings shared by every service; each service extends `CoreSettings` with its own."""

from __future__ import annotations

import warnings
from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_JWT_SECRET = "flowpilot-dev-jwt-secret-change-me"
DEV_SECRET_KEY = "flowpilot-dev-secret-key-change-me"


class CoreSettings(BaseSettings):
    """What every process reads from the environment (DESIGN.md "Configuration")."""

    model_config = SettingsConfigDict(env_prefix="FLOWPILOT_", extra="ignore")

    database_url: str = "postgresql+asyncpg://postgres@localhost:5432/flowpilot"
    amqp_url: str = "amqp://guest:guest@localhost:5672/"
    jwt_secret: str = DEV_JWT_SECRET
    secret_key: str = DEV_SECRET_KEY
    public_url: str = "http://localhost:8080"
    allow_loopback_integrations: bool = False
    log_level: str = "INFO"
    log_json: bool = False

    jwt_ttl_seconds: int = 12 * 3600
    # Four services (and their replicas) share PostgreSQL's max_connections (100 by default). A process
    # opens up to pool + overflow connections on demand and keeps them (see Database.from_settings).
    db_pool_size: int = 10
    db_max_overflow: int = 5
    outbox_retention_hours: float = 72.0
    # The active relay's pass when no wake-up came: what bounds the delay of events no FlowPilot
    # consumer waits for (their commits send none, see topology.awaited). An empty pass is one index probe.
    outbox_poll_seconds: float = 0.25
    outbox_batch_size: int = 200
    # A relay pass starts at most this often: under load a NOTIFY arrives every few milliseconds and
    # each pass costs two round trips, so waiting a little gathers the commits into one batch.
    outbox_min_pass_interval_seconds: float = 0.01
    publish_timeout_seconds: float = 5.0
    # An outbox row over this size is never published but set aside as dead: under the broker's own
    # max message size (RabbitMQ: 128 MiB on 3.x, 16 MiB on 4.x), far above any bounded event.
    outbox_max_payload_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)
    # A row the broker refuses this many times is set aside as dead instead of retried forever.
    outbox_row_max_attempts: int = Field(default=10, ge=1)
    consumer_prefetch: int = 32
    consumer_max_attempts: int = 5
    # Most messages a database-only consumer (bell, docgen) handles in one inbox transaction when
    # they are ready together (see consumer.batch); 1 handles each on its own.
    consumer_batch_limit: int = Field(default=16, ge=1)
    consumer_retry_base_seconds: float = 0.5
    consumer_retry_max_seconds: float = 10.0
    delivery_limit: int = Field(default=5, description="x-delivery-limit of every durable queue")

    def warn_on_dev_secrets(self) -> None:
        """Warn at start when the documented development secrets are in use."""
        if self.jwt_secret == DEV_JWT_SECRET or self.secret_key == DEV_SECRET_KEY:
            warnings.warn(
                "FLOWPILOT_JWT_SECRET / FLOWPILOT_SECRET_KEY are the development defaults; "
                "set real secrets in production",
                stacklevel=2,
            )


@lru_cache
def get_core_settings() -> CoreSettings:
    """The process-wide core settings (read once)."""
    return CoreSettings()

"""Settings shared by every service; each service extends `CoreSettings` with its own."""

from __future__ import annotations

import warnings
from functools import lru_cache
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_JWT_SECRET = "flowpilot-dev-jwt-secret-change-me"
DEV_SECRET_KEY = "flowpilot-dev-secret-key-change-me"
# Outside development a secret must be at least this long (a Fernet key is 44 characters)...
MIN_SECRET_LENGTH = 32
# ...and none of the values this repository ever shipped or documented as examples.
PLACEHOLDER_SECRETS = frozenset(
    {
        DEV_JWT_SECRET,
        DEV_SECRET_KEY,
        "flowpilot-compose-jwt-secret-change-me",
        "flowpilot-compose-secret-key-change-me",
        "change-me-to-64-random-bytes",
        "change-me-to-another-64-random-bytes",
    }
)
PLACEHOLDER_WORDS = ("change-me", "changeme", "change_me", "placeholder", "replace-me")


def secret_problems(name: str, values: list[str]) -> list[str]:
    """Why the values of secret `name` cannot be used outside development (never the values themselves)."""
    if not any(v.strip() for v in values):
        return [f"{name} is missing"]
    problems = []
    for value in values:
        if value in PLACEHOLDER_SECRETS or any(word in value.lower() for word in PLACEHOLDER_WORDS):
            problems.append(f"{name} is a known placeholder")
        elif len(value) < MIN_SECRET_LENGTH:
            problems.append(f"{name} is shorter than {MIN_SECRET_LENGTH} characters")
    return problems


class CoreSettings(BaseSettings):
    """What every process reads from the environment (DESIGN.md "Configuration")."""

    # Errors never echo the input: it holds the secrets.
    model_config = SettingsConfigDict(env_prefix="FLOWPILOT_", extra="ignore", hide_input_in_errors=True)

    # "development" (`make run`, the tests) runs with the documented dev secrets and a warning; anything
    # deployed (the image, compose, Kubernetes) says "production" and refuses to start without real ones.
    env: Literal["development", "production"] = "development"
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
    # PostgreSQL cuts off any one statement of a service running longer than this (0: never): a
    # runaway query or a wait on a lock held too long fails (the API answers 503) instead of holding
    # its connection and, one by one, the whole pool. Migrations are not bound by it.
    db_statement_timeout_seconds: float = Field(default=30.0, ge=0)
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

    @model_validator(mode="after")
    def _real_secrets_outside_development(self) -> CoreSettings:
        if self.env == "development":
            return self
        keys = [k.strip() for k in self.secret_key.split(",") if k.strip()]
        problems = [
            *secret_problems("FLOWPILOT_JWT_SECRET", [self.jwt_secret]),
            *secret_problems("FLOWPILOT_SECRET_KEY", keys),
        ]
        if self.jwt_secret and self.jwt_secret in keys:
            problems.append("FLOWPILOT_JWT_SECRET and FLOWPILOT_SECRET_KEY must differ")
        if problems:
            raise ValueError(
                f"refusing to start with FLOWPILOT_ENV={self.env}: {'; '.join(problems)} "
                "(generate each with `openssl rand -base64 48`; see docs/operations.md, Secrets)"
            )
        return self

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

"""notifier settings."""

from __future__ import annotations

from pydantic import Field, field_validator

from flowpilot_shared.broker.topology import NOTIFIER_BELL, NOTIFIER_CHAT, NOTIFIER_EMAIL, NOTIFIER_TEAMS
from flowpilot_shared.settings import CoreSettings

WORK_QUEUES = (NOTIFIER_BELL.name, NOTIFIER_EMAIL.name, NOTIFIER_CHAT.name, NOTIFIER_TEAMS.name)


class NotifierSettings(CoreSettings):
    """What the notifier reads from the environment."""

    notifier_port: int = 8001
    notifier_queues: str = Field(
        default=",".join(WORK_QUEUES),
        description=(
            "comma-separated work queues this replica consumes; empty for a replica that only serves "
            "the API and SSE streams (its stream latency is then independent of the sending load)"
        ),
    )
    sse_heartbeat_seconds: float = 25.0
    sse_client_buffer: int = 256
    sse_replay_max_events: int = 1000
    # Open streams one user (tabs, devices) and one account may hold on each replica; past them 429.
    sse_max_streams_per_user: int = Field(default=5, ge=0, description="0: no cap")
    sse_max_streams_per_account: int = Field(default=500, ge=0, description="0: no cap")
    # How often each replica re-checks that its open streams' users may still subscribe (a
    # deactivated user or one demoted to viewer loses the stream within this time).
    sse_access_recheck_seconds: float = Field(default=10.0, gt=0, le=30)
    smtp_host: str = "localhost"
    smtp_port: int = 1025
    smtp_from: str = "FlowPilot <flowpilot@localhost>"
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    smtp_timeout_seconds: float = 10.0
    # SMTP sessions open at once per replica; each is reused for the next emails while it is idle.
    smtp_pool_size: int = Field(default=10, ge=1)
    slack_api_url: str = "https://slack.com/api/"
    channel_max_attempts: int = 6
    channel_retry_base_seconds: float = 1.0
    channel_retry_max_seconds: float = 30.0
    # One send attempt may take this long (covers slack-sdk waiting out one 429 by itself).
    channel_attempt_timeout_seconds: float = 45.0
    # All sends of one event finish (sent, failed or skipped) within this budget.
    channel_deadline_seconds: float = 180.0
    # In-flight events per channel consumer; each holds a database connection while it sends.
    channel_prefetch: int = 8
    # Sends of one event in flight at once (recipients are sent to concurrently, up to this many).
    channel_send_concurrency: int = 10
    slack_timeout_seconds: float = 15.0
    # Finding the Slack users an escalation mentions (users.lookupByEmail) may delay its message this
    # long at most; whoever is not found by then is not mentioned.
    slack_mention_budget_seconds: float = 3.0
    slack_max_mentions: int = Field(default=25, ge=0)
    teams_timeout_seconds: float = 15.0

    @field_validator("notifier_queues")
    @classmethod
    def _known_queues(cls, value: str) -> str:
        unknown = {q.strip() for q in value.split(",") if q.strip()} - set(WORK_QUEUES)
        if unknown:
            raise ValueError(f"unknown notifier queues {sorted(unknown)}; known: {', '.join(WORK_QUEUES)}")
        return value

    @property
    def consumed_queues(self) -> frozenset[str]:
        """The work queues this replica consumes."""
        return frozenset(q.strip() for q in self.notifier_queues.split(",") if q.strip())

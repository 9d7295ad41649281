"""notifier settings."""

from __future__ import annotations

from flowpilot_shared.settings import CoreSettings


class NotifierSettings(CoreSettings):
    """What the notifier reads from the environment."""

    notifier_port: int = 8001
    sse_heartbeat_seconds: float = 25.0
    sse_client_buffer: int = 256
    sse_replay_max_events: int = 1000
    smtp_host: str = "localhost"
    smtp_port: int = 1025
    smtp_from: str = "FlowPilot <flowpilot@localhost>"
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    smtp_timeout_seconds: float = 10.0
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
    teams_timeout_seconds: float = 15.0

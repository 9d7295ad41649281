"""psa-sync settings."""

from __future__ import annotations

from flowpilot_shared.settings import CoreSettings


class PsaSyncSettings(CoreSettings):
    """What psa-sync reads from the environment."""

    psa_sync_port: int = 8003
    psa_timeout_seconds: float = 15.0
    psa_max_attempts: int = 5
    psa_retry_base_seconds: float = 1.0
    psa_retry_max_seconds: float = 30.0

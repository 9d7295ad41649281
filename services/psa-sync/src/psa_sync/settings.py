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
    # A PSA asking for a longer pause than this is waited this long (the message is held meanwhile).
    psa_retry_after_max_seconds: float = 300.0
    # HaloPSA tokens are renewed this long before the expiry the token endpoint announced.
    psa_token_margin_seconds: float = 60.0

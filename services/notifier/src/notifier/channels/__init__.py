"""Notifier channels (email, Slack, Teams): placeholder until the channel consumers land."""

from __future__ import annotations

from flowpilot_shared.consumer import Consumer
from flowpilot_shared.service import ServiceRuntime


def build_channel_consumers(runtime: ServiceRuntime) -> list[Consumer]:
    """Return the channel consumers of this process (none yet)."""
    return []

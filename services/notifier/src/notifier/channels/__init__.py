"""External channels (email, Slack, Teams): each on its own queue, each send through the delivery ledger."""

from __future__ import annotations

from collections.abc import Collection

from flowpilot_shared.broker.topology import NOTIFIER_CHAT, NOTIFIER_EMAIL, NOTIFIER_TEAMS
from flowpilot_shared.consumer import Consumer
from flowpilot_shared.service import ServiceRuntime
from flowpilot_shared.settings import CoreSettings
from notifier.channels.base import Channel
from notifier.channels.dispatch import channel_consumer
from notifier.channels.email import EmailChannel
from notifier.channels.sending import LedgerAccess
from notifier.channels.slack import SlackChannel
from notifier.channels.teams import TeamsChannel
from notifier.settings import NotifierSettings


def notifier_settings(settings: CoreSettings) -> NotifierSettings:
    """The runtime's settings as NotifierSettings (tests may hand a plain CoreSettings)."""
    if isinstance(settings, NotifierSettings):
        return settings
    return NotifierSettings(**settings.model_dump())


def build_channels(settings: NotifierSettings) -> list[Channel]:
    """Every channel plugin, each bound to its own queue (a dead SMTP server never delays Slack)."""
    return [
        EmailChannel(settings, NOTIFIER_EMAIL),
        SlackChannel(settings, NOTIFIER_CHAT),
        TeamsChannel(settings, NOTIFIER_TEAMS),
    ]


def channel_consumers(runtime: ServiceRuntime, *, queues: Collection[str] | None = None) -> list[Consumer]:
    """One consumer per channel queue (`notifier.email`, `notifier.chat`, `notifier.teams`), or those in `queues`."""
    settings = notifier_settings(runtime.settings)
    # One for all channels: their claims (with the bell's transaction) and outcomes share commits.
    access = LedgerAccess.of(runtime.db, runtime.commits)
    return [
        channel_consumer(channel, runtime, settings, access)
        for channel in build_channels(settings)
        if queues is None or channel.spec.name in queues
    ]


__all__ = ["build_channels", "channel_consumers", "notifier_settings"]

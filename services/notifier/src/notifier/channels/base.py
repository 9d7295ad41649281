"""The channel plugin interface: who an event goes to on a channel, and how one message is sent."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from flowpilot_shared.broker.topology import QueueSpec
from flowpilot_shared.durations import humanize
from flowpilot_shared.events import (
    AnyEvent,
    HandoffClaimed,
    HandoffEscalated,
    HandoffReescalated,
    HandoffReleased,
)
from flowpilot_shared.integrations import LoadedIntegration
from flowpilot_shared.models.integrations import IntegrationKind
from flowpilot_shared.models.notifications import DeliveryChannel
from flowpilot_shared.security.crypto import SecretBox
from flowpilot_shared.unit_of_work import DriverUnitOfWork
from notifier.channels.ledger import Connect
from notifier.channels.reads import chat_integration
from notifier.settings import NotifierSettings


@dataclass(frozen=True)
class Target:
    """One message to send: `recipient` is the ledger key; `skip_reason` records a `skipped` row instead."""

    recipient: str
    params: dict[str, Any] = field(default_factory=dict)
    skip_reason: str | None = None

    def __repr__(self) -> str:
        # params may hold a bot token or a signed webhook URL: keep them out of logs.
        return f"Target(recipient={self.recipient!r}, skip_reason={self.skip_reason!r})"


@dataclass(frozen=True)
class Sent:
    """What a successful send leaves on the ledger row (Slack `channel:ts`, an email Message-ID)."""

    external_id: str | None = None


class Channel(ABC):
    """One external channel: resolves an event's targets, then sends one message per target (or one
    carrying several, with `sends_together`)."""

    name: ClassVar[DeliveryChannel]
    # One call can carry the first attempt of several targets (`send_together`).
    sends_together: ClassVar[bool] = False
    # After a crash cut a call off, the channel can tell whether it got through (`find_cut_off_send`).
    finds_cut_off_sends: ClassVar[bool] = False

    def __init__(self, settings: NotifierSettings, spec: QueueSpec) -> None:
        self.settings = settings
        self.spec = spec
        self._box = SecretBox(settings.secret_key)
        # Set when the process stops: no new attempts, backoff waits end (the message is redelivered).
        self.stopping = asyncio.Event()

    async def pause(self, seconds: float) -> None:
        """Wait `seconds`, or give the message back at once when the process is stopping."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stopping.wait(), timeout=seconds)
        await self.yield_if_stopping()

    async def yield_if_stopping(self) -> None:
        """Cancel the current task when stopping: left unacked, its message returns to the queue."""
        task = asyncio.current_task()
        if self.stopping.is_set() and task is not None:
            task.cancel()
            await asyncio.sleep(0)  # the cancellation lands here, before anything else is started

    async def chat_integration(
        self, event: AnyEvent, uow: DriverUnitOfWork, kind: IntegrationKind
    ) -> LoadedIntegration | None:
        """The account's chat integration of `kind` for an escalation, claim, round or release (None
        otherwise or unset)."""
        if not isinstance(event, HandoffEscalated | HandoffClaimed | HandoffReescalated | HandoffReleased):
            return None
        return await chat_integration(uow, account_id=event.account_id, kind=kind, box=self._box)

    async def close(self) -> None:  # noqa: B027 - optional hook, most channels hold nothing open
        """Release what the channel keeps open between messages (nothing by default)."""

    async def before_targets(self, event: AnyEvent, connect: Connect) -> None:  # noqa: B027 - optional hook
        """Wait for what `targets` reads to be in place (nothing to wait for by default).

        Called with no connection held: a wait takes one from `connect` for each look only, so a
        long wait never keeps a pooled connection from everyone else.
        """

    @abstractmethod
    async def targets(self, event: AnyEvent, uow: DriverUnitOfWork) -> list[Target]:
        """Whom this event goes to on this channel, read in the claim's transaction (`uow.conn`; what
        other claims of it read too through `channels.reads`)."""

    @abstractmethod
    async def send(
        self, event: AnyEvent, target: Target, *, delivery_id: uuid.UUID, attempt: int = 1
    ) -> Sent:
        """Send one message; raise `TransientError` or `PermanentError` on failure. `attempt`: the
        ledger's count; above 1 an earlier attempt failed in a way that may have got through (a
        timeout, a dropped connection), so a channel that can look first does."""

    async def find_cut_off_send(self, event: AnyEvent, target: Target) -> Sent | None:
        """For a channel with `finds_cut_off_sends`: what a call cut off by a crash left at the other
        end, None when sending again cannot repeat a message (it left none, or repeating is
        harmless). Raises when it cannot tell."""
        raise NotImplementedError(f"{self.name.value} cannot tell whether a cut-off call got through")

    async def send_together(
        self, event: AnyEvent, targets: Sequence[Target], *, delivery_ids: Sequence[uuid.UUID]
    ) -> dict[str, Sent | Exception]:
        """The first attempt of several targets in one call (channels with `sends_together`): what
        each got, by recipient, a failure as the exception `send` would have raised."""
        raise NotImplementedError(f"{self.name.value} sends one message per target")


def pickup_link(settings: NotifierSettings, session_id: uuid.UUID | None) -> str:
    """The front end's pickup screen of a session, absolute (DESIGN.md "Who hears of what")."""
    return f"{settings.public_url.rstrip('/')}/pilot/{session_id}?pickup=true"


def steps_duration(event: HandoffEscalated) -> str:
    """How long steps were tried: first to last step time, in words."""
    times = sorted(step.created_at for step in event.data.session.steps)
    if not times:
        return "no steps recorded"
    count = f"{len(times)} step{'s' if len(times) != 1 else ''}"
    return f"{count} over {humanize(times[-1] - times[0])}"


def fmt_time(value: datetime) -> str:
    """A timestamp for humans, in UTC."""
    return value.strftime("%Y-%m-%d %H:%M UTC")


def describe_event(event: AnyEvent) -> str:
    """Short text naming the event, for logs."""
    if isinstance(event, HandoffEscalated | HandoffClaimed | HandoffReescalated | HandoffReleased):
        return f"{event.type} handoff={event.data.handoff_id}"
    return event.type

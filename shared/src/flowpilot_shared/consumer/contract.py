"""What a consumer's handler sees: its context, the errors it raises (`flowpilot_shared.errors`), the
marker it returns.

The runtime (`consumer.runtime`) calls handlers with these; services import them from
`flowpilot_shared.consumer`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flowpilot_shared.db import Database
from flowpilot_shared.events import AnyEvent
from flowpilot_shared.unit_of_work import DriverUnitOfWork, OrmUnitOfWork


class _AlreadyDone:
    """Marker a handler or deliver step returns when the event's effect already existed."""


ALREADY_DONE: Any = _AlreadyDone()


@dataclass
class HandlerContext:
    """What a handler gets besides the event: the inbox transaction and a way to open others."""

    # Driver-level: a handler's plain statements go on `await uow.connection()`, its events through
    # `uow.add_event`; this runs for every message, so no ORM session per message.
    uow: DriverUnitOfWork
    db: Database
    consumer: str
    attempt: int
    redelivered: bool = False
    # Delivery facts a handler may act on, e.g. {"replayed": True} for an operator's DLQ replay.
    extra: dict[str, object] = field(default_factory=dict)

    def new_uow(self) -> OrmUnitOfWork:
        """A separate transaction (e.g. to claim a ledger row before an external call)."""
        return OrmUnitOfWork(self.db.sessions)


# The steps a consumer runs for each message (see `consumer.runtime`):
# `handler`: the effects, inside the inbox transaction (its tracking record commits with them).
Handler = Callable[[AnyEvent, HandlerContext], Awaitable[object]]
# `deliver`: work whose own rows are its tracking records (a channel's ledger row per recipient,
# claimed before each call; docgen's documentation row), so no inbox row is written; it gets the event
# and the delivery facts (`HandlerContext.extra`) and returns ALREADY_DONE when every effect already
# existed.
Deliver = Callable[[AnyEvent, Mapping[str, object]], Awaitable[object]]

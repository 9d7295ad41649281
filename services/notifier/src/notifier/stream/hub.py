"""Per-process fan-out: one private broker queue per replica, bounded queues per SSE client.

The replica's queue is bound to the stream events only while the replica has clients (and for a
while after the last one left): a replica that serves no streams, such as a worker replica behind
a gateway that sends every stream to the stream replicas, then receives none of every tenant's
traffic. The first client waits for the bindings before its replay runs, so it misses nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import structlog
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractQueue, AbstractRobustConnection
from prometheus_client import Counter, Gauge

from flowpilot_shared.broker.topology import STREAM_EVENT_TYPES, declare_exchanges
from flowpilot_shared.events import EVENTS_EXCHANGE, STREAM_EXCHANGE
from flowpilot_shared.service import ServiceRuntime
from notifier.stream.events import StreamEvent, to_stream_events

log = structlog.get_logger(__name__)

CONNECTIONS = Gauge("flowpilot_notifier_stream_connections", "Open SSE stream connections")
PUSHED = Counter("flowpilot_notifier_stream_events_total", "Events pushed to SSE clients", ["event"])
DROPPED = Counter("flowpilot_notifier_stream_dropped_clients_total", "SSE clients disconnected", ["reason"])
HUB_MESSAGES = Counter("flowpilot_notifier_stream_hub_messages_total", "Broker messages seen by the hub")

RECENT_IDS = 4096  # duplicate deliveries (a relay re-publishing after a crash) are pushed once
# How long the queue stays bound after the last client left: reconnecting clients find it bound.
UNBIND_AFTER_SECONDS = 30.0
# What the replica's queue is bound to while it has clients.
STREAM_BINDINGS: tuple[tuple[str, str], ...] = (
    *((EVENTS_EXCHANGE, routing_key) for routing_key in STREAM_EVENT_TYPES),
    (STREAM_EXCHANGE, "#"),
)


class StreamLimitReached(RuntimeError):
    """The user or the account already holds as many open streams as this replica allows."""


@dataclass(eq=False)
class Subscriber:
    """One connected SSE client: what it may see and its bounded buffer."""

    account_id: uuid.UUID
    user_id: uuid.UUID
    buffer: int
    queue: asyncio.Queue[StreamEvent | None] = field(init=False)
    dropped: asyncio.Event = field(default_factory=asyncio.Event)
    drop_reason: str | None = None

    def __post_init__(self) -> None:
        self.queue = asyncio.Queue(maxsize=self.buffer)

    def wants(self, event: StreamEvent) -> bool:
        """Account-scoped; `notification` events only for their own user."""
        if event.account_id != self.account_id:
            return False
        return event.user_id is None or event.user_id == self.user_id

    def drop(self, reason: str) -> None:
        """Mark the client for disconnection (it resumes with Last-Event-ID)."""
        if not self.dropped.is_set():
            self.drop_reason = reason
            self.dropped.set()
            DROPPED.labels(reason).inc()
            # Wake a generator waiting on an empty buffer; a full one is not waiting.
            with contextlib.suppress(asyncio.QueueFull):
                self.queue.put_nowait(None)


class StreamHub:
    """Receives stream events from this replica's own queue and hands them to local clients."""

    def __init__(self, *, buffer: int, max_per_user: int = 0, max_per_account: int = 0) -> None:
        self._buffer = buffer
        # Open streams each user and each account may hold on this replica (0: no cap).
        self._max_per_user = max_per_user
        self._max_per_account = max_per_account
        self._subscribers: dict[uuid.UUID, set[Subscriber]] = {}
        self._recent: OrderedDict[str, None] = OrderedDict()
        self._channel: AbstractChannel | None = None
        self._connection: AbstractRobustConnection | None = None
        self._queue: AbstractQueue | None = None
        self._bound = False
        self._binding = asyncio.Lock()
        self._idle_since = time.monotonic()
        self._unbinder: asyncio.Task[None] | None = None
        self._task: asyncio.Task[None] | None = None
        self.queue_name = f"notifier.stream.{socket.gethostname()}.{os.getpid()}.{uuid.uuid4().hex[:8]}"

    @property
    def ready(self) -> bool:
        """True while this replica's queue is consuming (live events can reach clients)."""
        return (
            self._channel is not None
            and not self._channel.is_closed
            and self._connection is not None
            and not self._connection.is_closed
        )

    async def check(self) -> None:
        """Readiness check: the stream queue is consuming."""
        if not self.ready:
            raise RuntimeError("stream hub not consuming")

    async def start(self, runtime: ServiceRuntime) -> None:
        """Bind this replica's queue once the runtime's broker connection is up (in the background)."""
        self._task = asyncio.create_task(self._bind_when_connected(runtime), name="stream-hub")

    async def _bind_when_connected(self, runtime: ServiceRuntime) -> None:
        while True:
            connection = runtime.connection
            if connection is not None and not connection.is_closed:
                try:
                    await self._bind(connection)
                    return
                except Exception as exc:
                    log.warning("stream hub could not bind its queue", error=str(exc))
            await asyncio.sleep(0.1)

    async def _bind(self, connection: AbstractRobustConnection) -> None:
        channel = await connection.channel()
        await declare_exchanges(channel)
        # Exclusive + auto-delete: it lives exactly as long as this replica's connection; the robust
        # channel re-declares, re-binds and re-consumes it after a broker restart.
        queue = await channel.declare_queue(self.queue_name, exclusive=True, auto_delete=True)
        await queue.consume(self._on_message, no_ack=True)
        connection.reconnect_callbacks.add(self._on_reconnect)
        self._queue = queue
        self._channel = channel
        self._connection = connection
        log.info("stream hub consuming", queue=self.queue_name)

    async def _ensure_bound(self) -> None:
        async with self._binding:
            if self._bound:
                return
            if self._queue is None:
                raise RuntimeError("stream hub not consuming")
            for exchange, routing_key in STREAM_BINDINGS:
                await self._queue.bind(exchange, routing_key=routing_key)
            self._bound = True
            log.info("stream hub bound", queue=self.queue_name)

    async def _unbind_when_idle(self) -> None:
        """Unbind once no client has been connected for `UNBIND_AFTER_SECONDS`."""
        while True:
            await asyncio.sleep(max(self._idle_since + UNBIND_AFTER_SECONDS - time.monotonic(), 0.0))
            async with self._binding:
                if self._subscribers or not self._bound or self._queue is None:
                    return
                if time.monotonic() < self._idle_since + UNBIND_AFTER_SECONDS:
                    continue  # clients came and went meanwhile: idle for less than that
                try:
                    for exchange, routing_key in STREAM_BINDINGS:
                        await self._queue.unbind(exchange, routing_key=routing_key)
                except Exception as exc:  # bound (or half bound) still: events arrive and are dropped
                    log.warning("stream hub could not unbind", error=str(exc))
                    return
                self._bound = False
                log.info("stream hub unbound: no clients", queue=self.queue_name)
                return

    def _on_reconnect(self, *_: Any) -> None:
        # Whatever was published while we were away never reached this queue: let every client
        # resume with Last-Event-ID, which replays it from the event log.
        self.drop_all("broker_reconnected")

    async def stop(self) -> None:
        """End every stream and stop consuming."""
        self.drop_all("shutdown")
        for task in (self._task, self._unbinder):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        if self._connection is not None:
            self._connection.reconnect_callbacks.discard(self._on_reconnect)
        if self._channel is not None:
            with contextlib.suppress(Exception):
                await self._channel.close()
        self._channel = None

    async def subscribe(self, *, account_id: uuid.UUID, user_id: uuid.UUID) -> Subscriber:
        """Register a client; events of its account are buffered for it once this returns.

        Raises `StreamLimitReached` when the user or the account is at its cap of open streams.
        """
        self._check_caps(account_id, user_id)
        subscriber = Subscriber(account_id=account_id, user_id=user_id, buffer=self._buffer)
        self._subscribers.setdefault(account_id, set()).add(subscriber)
        CONNECTIONS.inc()
        try:
            await self._ensure_bound()
        except BaseException:
            self.unsubscribe(subscriber)
            raise
        return subscriber

    def _check_caps(self, account_id: uuid.UUID, user_id: uuid.UUID) -> None:
        group = self._subscribers.get(account_id, set())
        if self._max_per_account and len(group) >= self._max_per_account:
            raise StreamLimitReached("Too many open streams for this account")
        if self._max_per_user and sum(s.user_id == user_id for s in group) >= self._max_per_user:
            raise StreamLimitReached("Too many open streams for this user")

    def stream_holders(self) -> set[tuple[uuid.UUID, uuid.UUID]]:
        """(user, account) of every open stream."""
        return {(s.user_id, s.account_id) for group in self._subscribers.values() for s in group}

    def drop_user(self, *, user_id: uuid.UUID, account_id: uuid.UUID, reason: str) -> int:
        """Disconnect every stream of one user; returns how many there were."""
        mine = [s for s in self._subscribers.get(account_id, ()) if s.user_id == user_id]
        for subscriber in mine:
            subscriber.drop(reason)
            self.unsubscribe(subscriber)
        return len(mine)

    def unsubscribe(self, subscriber: Subscriber) -> None:
        """Forget a client (idempotent)."""
        group = self._subscribers.get(subscriber.account_id)
        if group is None or subscriber not in group:
            return
        group.discard(subscriber)
        if not group:
            del self._subscribers[subscriber.account_id]
        CONNECTIONS.dec()
        if not self._subscribers:
            self._idle_since = time.monotonic()
            if self._unbinder is None or self._unbinder.done():
                self._unbinder = asyncio.get_running_loop().create_task(
                    self._unbind_when_idle(), name="stream-hub-unbind"
                )

    def drop_all(self, reason: str) -> None:
        """Disconnect every client of this replica."""
        for group in list(self._subscribers.values()):
            for subscriber in list(group):
                subscriber.drop(reason)
                self.unsubscribe(subscriber)

    def subscriber_count(self, account_id: uuid.UUID | None = None) -> int:
        """How many clients are connected (to one account)."""
        if account_id is not None:
            return len(self._subscribers.get(account_id, ()))
        return sum(len(group) for group in self._subscribers.values())

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        HUB_MESSAGES.inc()
        if not self._subscribers:
            return  # nobody to push to (a worker replica, a quiet hour): not even worth parsing
        try:
            position = (message.headers or {}).get("x-position")
            # The body straight to the validator: parsing it first would only be dumped again.
            events = to_stream_events(message.body, position=str(position) if position else None)
        except Exception as exc:
            log.warning("stream hub skipped a message", error=str(exc), message_id=message.message_id)
            return
        if not events or self._seen(events[0].event_id):
            return
        for event in events:
            self.dispatch(event)

    def _seen(self, event_id: str) -> bool:
        if event_id in self._recent:
            return True
        self._recent[event_id] = None
        if len(self._recent) > RECENT_IDS:
            self._recent.popitem(last=False)
        return False

    def dispatch(self, event: StreamEvent) -> None:
        """Hand an event to each interested client without ever waiting on one."""
        for subscriber in list(self._subscribers.get(event.account_id, ())):
            if not subscriber.wants(event):
                continue
            try:
                subscriber.queue.put_nowait(event)
            except asyncio.QueueFull:
                subscriber.drop("slow_client")
                self.unsubscribe(subscriber)

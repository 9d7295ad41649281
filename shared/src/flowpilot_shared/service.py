"""What every service process runs besides its HTTP routes: database, relay, consumers, server."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field

import structlog
import uvicorn
from aio_pika.abc import AbstractRobustConnection
from fastapi import FastAPI
from prometheus_client import Gauge

from flowpilot_shared import telemetry
from flowpilot_shared.broker.publisher import connect
from flowpilot_shared.broker.topology import retire_queues
from flowpilot_shared.closing import close_quietly
from flowpilot_shared.consumer import Consumer
from flowpilot_shared.db import Database
from flowpilot_shared.logging import configure_logging
from flowpilot_shared.outbox.relay import OutboxRelay
from flowpilot_shared.settings import CoreSettings
from flowpilot_shared.unit_of_work import CommitGroup
from flowpilot_shared.web.app import ReadinessCheck

log = structlog.get_logger(__name__)

DLQ_DEPTH = Gauge("flowpilot_dlq_messages", "Messages waiting in a dead-letter queue", ["queue"])
QUEUE_DEPTH = Gauge("flowpilot_queue_messages", "Messages waiting in a consumer queue", ["queue"])
BROKER_CONNECTED = Gauge(
    "flowpilot_broker_connected", "1 while the process has an open broker connection", ["service"]
)
DEPTH_INTERVAL_SECONDS = 15.0
# How long an idle keep-alive connection is kept: longer than the gateway's upstream keepalive_timeout
# (60 s, deploy/gateway), so the gateway always closes an idle connection first. With uvicorn's own
# 5 s, a request the gateway sends into a connection the service is just closing fails, and nginx does
# not retry a POST elsewhere: the caller gets a 502 for a handoff that was never made.
HTTP_KEEP_ALIVE_SECONDS = 75
# First-generation threshold once started (CPython default 700; see settle_garbage_collector).
GC_GEN0_THRESHOLD = 20_000

ConsumerFactory = Callable[["ServiceRuntime"], Sequence[Consumer]]
Hook = Callable[["ServiceRuntime"], Awaitable[None]]


class BrokerNotConnected(RuntimeError):
    """The process has not (yet, or any more) got a broker connection."""


@dataclass
class ServiceRuntime:
    """The long-lived parts of one service process, started and stopped with the app."""

    name: str
    settings: CoreSettings
    db: Database
    relay: OutboxRelay | None = None
    consumers: list[Consumer] = field(default_factory=list)
    connection: AbstractRobustConnection | None = None
    _connect_task: asyncio.Task[None] | None = None
    # The process' shared transactions: consumers whose short transactions may share a commit.
    commits: CommitGroup = field(init=False)

    def __post_init__(self) -> None:
        self.commits = CommitGroup(self.db)
        BROKER_CONNECTED.labels(self.name).set_function(lambda: float(self.broker_connected))

    @property
    def broker_connected(self) -> bool:
        """Whether the process's broker connection is up now.

        `is_closed` alone stays False while a robust connection is reconnecting: `connected` is
        cleared the moment the broker goes away and set again once it is back.
        """
        connection = self.connection
        return connection is not None and not connection.is_closed and connection.connected.is_set()

    async def start(self, consumer_factory: ConsumerFactory | None, with_relay: bool) -> None:
        """Start the relay at once and the consumers as soon as the broker answers."""
        if with_relay:
            self.relay = OutboxRelay(db=self.db, settings=self.settings, name=self.name)
            await self.relay.start()
        self.consumers = list(consumer_factory(self)) if consumer_factory else []
        # The API must come up (and keep answering) while RabbitMQ is down; connect in the background.
        self._connect_task = asyncio.create_task(self._connect_and_consume())

    async def _connect_and_consume(self) -> None:
        delay = 0.5
        while True:
            try:
                self.connection = await connect(self.settings.amqp_url, self.name)
                await self._retire_queues(self.connection)
                for consumer in self.consumers:
                    await consumer.start(self.connection)
                if self.consumers:
                    await self._watch_depths(self.connection)
                return
            except Exception as exc:
                log.warning("broker not reachable yet", service=self.name, error=str(exc))
                if self.connection is not None:
                    with contextlib.suppress(Exception):
                        await self.connection.close()
                    self.connection = None
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    async def _retire_queues(self, connection: AbstractRobustConnection) -> None:
        """Stop routing to queues nobody reads any more; a failure here never holds up consuming."""
        try:
            await retire_queues(connection)
        except Exception as exc:
            log.warning("could not unbind retired queues", service=self.name, error=str(exc))

    async def _watch_depths(self, connection: AbstractRobustConnection) -> None:
        """Publish queue and dead-letter queue depths as gauges, so dead letters are visible in metrics."""
        while True:
            try:
                channel = await connection.channel()
                for consumer in self.consumers:
                    for name, gauge in ((consumer.spec.name, QUEUE_DEPTH), (consumer.spec.dlq, DLQ_DEPTH)):
                        queue = await channel.declare_queue(name, passive=True)
                        gauge.labels(name).set(queue.declaration_result.message_count or 0)
                await channel.close()
            except Exception as exc:
                log.debug("queue depth probe failed", error=str(exc))
            await asyncio.sleep(DEPTH_INTERVAL_SECONDS)

    async def stop(self) -> None:
        """Stop consuming, stop the relay, close connections."""
        if self._connect_task is not None:
            self._connect_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._connect_task
        for consumer in self.consumers:
            await consumer.stop()
        await close_quietly(self.connection)
        if self.relay is not None:
            await self.relay.stop()
        await self.db.dispose()

    async def check_database(self) -> None:
        """Readiness: the database answers."""
        await self.db.ping()

    async def check_broker(self) -> None:
        """Readiness: the broker connection is open."""
        if not self.broker_connected:
            raise BrokerNotConnected("no broker connection")

    def readiness_checks(self) -> list[ReadinessCheck]:
        """The checks `/readyz` runs."""
        return [self.check_database, self.check_broker]


def service_lifespan(
    *,
    name: str,
    settings: CoreSettings,
    consumers: ConsumerFactory | None = None,
    with_relay: bool = False,
    on_start: Hook | None = None,
    on_stop: Hook | None = None,
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """A FastAPI lifespan that owns the process's runtime; exposes `app.state.{settings,db,runtime}`.

    Tracing is set up here, before the app is built (the app is instrumented as it is built): on when
    the OpenTelemetry variables ask for it (`flowpilot_shared.telemetry`), else off.
    """
    telemetry.configure_tracing(name)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings.warn_on_dev_secrets()
        runtime = ServiceRuntime(name=name, settings=settings, db=Database.from_settings(settings))
        app.state.settings = settings
        app.state.db = runtime.db
        app.state.runtime = runtime
        await runtime.start(consumers, with_relay)
        if on_start is not None:
            await on_start(runtime)
        settle_garbage_collector()
        try:
            yield
        finally:
            if on_stop is not None:
                await on_stop(runtime)
            await runtime.stop()
            telemetry.flush()

    return lifespan


def settle_garbage_collector() -> None:
    """Once started: exempt what start-up built from collections, and collect young objects less often.

    A started service holds ~125,000 long-lived objects (modules, models, the app); a full collection
    walks them all and stalls the event loop, and every request or
    message allocates enough to trigger collections often. Frozen start-up objects are never walked
    again; a larger first generation makes young
    collections rarer.
    """
    gc.collect()
    gc.freeze()
    _, second, third = gc.get_threshold()
    gc.set_threshold(GC_GEN0_THRESHOLD, second, third)


def runtime_readiness(app: FastAPI) -> list[ReadinessCheck]:
    """Readiness checks of the app's runtime (pass as `create_service_app(readiness=...)`)."""
    runtime: ServiceRuntime = app.state.runtime
    return runtime.readiness_checks()


def database_readiness(app: FastAPI) -> list[ReadinessCheck]:
    """Only the database: for a process whose outbox takes its work while the broker is away."""
    runtime: ServiceRuntime = app.state.runtime
    return [runtime.check_database]


def broker_detail(app: FastAPI) -> list[ReadinessCheck]:
    """The broker as an advisory check (`create_service_app(advisory=...)`): shown, never unready."""
    runtime: ServiceRuntime = app.state.runtime
    return [runtime.check_broker]


def serve(app: FastAPI | str, *, port: int, settings: CoreSettings, workers: int = 1) -> None:
    """Run the app with uvicorn on `port` (the console scripts' body).

    `workers` > 1 needs `app` as the import path of an app factory ("module:function"): uvicorn
    starts that many processes sharing the listening socket, each with its own runtime.
    """
    configure_logging(settings.log_level, json=settings.log_json)
    if workers > 1 and not isinstance(app, str):
        raise ValueError("several workers need the app factory's import path")
    uvicorn.run(
        app,
        host="0.0.0.0",
        port=port,
        log_level=settings.log_level.lower(),
        access_log=False,
        timeout_keep_alive=HTTP_KEEP_ALIVE_SECONDS,
        workers=workers if workers > 1 else None,
        factory=isinstance(app, str),
    )

"""The notifier app: bell consumer, channel consumers, notifications API, SSE stream, ops endpoints."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, cast

from fastapi import FastAPI

from flowpilot_shared.broker.topology import NOTIFIER_BELL
from flowpilot_shared.consumer import Consumer
from flowpilot_shared.service import ServiceRuntime, runtime_readiness, service_lifespan
from flowpilot_shared.web.app import ReadinessCheck, create_service_app
from flowpilot_shared.web.outage import install_outage_handlers
from notifier.bell.handler import bell_consumer
from notifier.channels import channel_consumers
from notifier.deliveries.views import router as deliveries_router
from notifier.notifications.views import router as notifications_router
from notifier.preferences.views import router as preferences_router
from notifier.settings import NotifierSettings
from notifier.stream.access import AccessWatch
from notifier.stream.hub import StreamHub
from notifier.stream.views import router as stream_router

API_PREFIX = "/api/v1"
Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[Any]]


def create_app(settings: NotifierSettings | None = None) -> FastAPI:
    """Build the notifier app; its lifespan owns the database, relay, consumers and stream hub."""
    settings = settings or NotifierSettings()
    hub = StreamHub(
        buffer=settings.sse_client_buffer,
        max_per_user=settings.sse_max_streams_per_user,
        max_per_account=settings.sse_max_streams_per_account,
    )
    watches: list[AccessWatch] = []

    def consumers(runtime: ServiceRuntime) -> list[Consumer]:
        wanted = settings.consumed_queues
        bell = [bell_consumer(runtime)] if NOTIFIER_BELL.name in wanted else []
        return [*bell, *channel_consumers(runtime, queues=wanted)]

    async def on_start(runtime: ServiceRuntime) -> None:
        await hub.start(runtime)
        watch = AccessWatch(hub=hub, db=runtime.db, interval=settings.sse_access_recheck_seconds)
        watch.start()
        watches.append(watch)

    async def on_stop(runtime: ServiceRuntime) -> None:
        for watch in watches:
            await watch.stop()
        watches.clear()
        await hub.stop()

    def readiness(app: FastAPI) -> list[ReadinessCheck]:
        return [*runtime_readiness(app), hub.check]

    app = create_service_app(
        title="FlowPilot notifier",
        # service_lifespan returns an asynccontextmanager factory (typed loosely in shared/).
        lifespan=cast(
            Lifespan,
            service_lifespan(
                name="notifier",
                settings=settings,
                consumers=consumers,
                # Only the consumers write outbox rows (bell rows, delivery records): a stream-only
                # replica has none to publish, and were it the active relay, every commit of the
                # work replicas would cost a NOTIFY round trip to wake it instead of a local wake-up.
                with_relay=bool(settings.consumed_queues),
                on_start=on_start,
                on_stop=on_stop,
            ),
        ),
        readiness=readiness,
    )
    app.state.stream_hub = hub
    install_outage_handlers(app)
    # Deliveries first: its static `/notifications/deliveries` must win over any `/notifications/{id}`.
    app.include_router(deliveries_router, prefix=API_PREFIX)
    app.include_router(notifications_router, prefix=API_PREFIX)
    app.include_router(stream_router, prefix=API_PREFIX)
    app.include_router(preferences_router, prefix=API_PREFIX)
    return app

"""The psa-sync app: health, readiness and metrics, plus the documentation.generated consumer."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI

from flowpilot_shared.broker import topology
from flowpilot_shared.consumer import Consumer
from flowpilot_shared.service import ServiceRuntime, runtime_readiness, service_lifespan
from flowpilot_shared.web.app import create_service_app
from psa_sync.pushes.service import PushService
from psa_sync.settings import PsaSyncSettings

SERVICE_NAME = "psa-sync"


def create_app(settings: PsaSyncSettings | None = None) -> FastAPI:
    """Build the psa-sync app (tests pass their own settings)."""
    settings = settings or PsaSyncSettings()
    pushes = PushService(settings)

    def consumers(runtime: ServiceRuntime) -> Sequence[Consumer]:
        return [
            Consumer(
                name=SERVICE_NAME,
                spec=topology.PSA_SYNC_DOCUMENTATION,
                handler=pushes.handle,
                db=runtime.db,
                settings=settings,
                # The handler decides when a push has failed; the runtime only keeps slack for crashes.
                max_attempts=settings.psa_max_attempts + 2,
            )
        ]

    async def on_stop(runtime: ServiceRuntime) -> None:
        await pushes.aclose()

    lifespan = service_lifespan(
        name=SERVICE_NAME, settings=settings, consumers=consumers, with_relay=True, on_stop=on_stop
    )
    app = create_service_app(
        title="FlowPilot psa-sync",
        # service_lifespan is annotated as returning an iterator function; it is a context manager factory.
        lifespan=lifespan,
        readiness=runtime_readiness,
    )
    app.state.pushes = pushes
    return app

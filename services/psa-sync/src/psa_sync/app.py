"""The psa-sync app: health, readiness and metrics, plus the documentation.generated consumer."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import FastAPI

from flowpilot_shared.consumer import Consumer
from flowpilot_shared.service import ServiceRuntime, runtime_readiness, service_lifespan
from flowpilot_shared.web.app import create_service_app
from psa_sync.pushes.service import PushService, pushes_consumer
from psa_sync.settings import PsaSyncSettings

SERVICE_NAME = "psa-sync"


def create_app(settings: PsaSyncSettings | None = None) -> FastAPI:
    """Build the psa-sync app (tests pass their own settings)."""
    settings = settings or PsaSyncSettings()
    pushes = PushService(settings)

    def consumers(runtime: ServiceRuntime) -> Sequence[Consumer]:
        return [pushes_consumer(runtime, pushes)]

    app = create_service_app(
        title="FlowPilot psa-sync",
        lifespan=service_lifespan(name=SERVICE_NAME, settings=settings, consumers=consumers, with_relay=True),
        readiness=runtime_readiness,
    )
    app.state.pushes = pushes
    return app

"""The docgen app: the escalation consumer, the outbox relay, regenerate, health and metrics."""

from __future__ import annotations

from fastapi import FastAPI

from docgen.consumer import escalations_consumer
from docgen.generation import Generator
from docgen.regenerate.views import router as regenerate_router
from docgen.settings import DocgenSettings
from flowpilot_shared.consumer import Consumer
from flowpilot_shared.service import ServiceRuntime, runtime_readiness, service_lifespan
from flowpilot_shared.web.app import create_service_app


def create_app(settings: DocgenSettings | None = None) -> FastAPI:
    """Build the docgen FastAPI app (tests pass their own settings)."""
    settings = settings or DocgenSettings()
    generator = Generator(settings)

    def consumers(runtime: ServiceRuntime) -> list[Consumer]:
        return [escalations_consumer(runtime, settings, generator)]

    app = create_service_app(
        title="FlowPilot docgen",
        lifespan=service_lifespan(name="docgen", settings=settings, consumers=consumers, with_relay=True),
        readiness=runtime_readiness,
    )
    app.state.generator = generator
    app.include_router(regenerate_router)
    return app

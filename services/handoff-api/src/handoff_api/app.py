"""The handoff-api FastAPI app: accounts, people, sessions, handoffs, queue, integrations."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, FastAPI

from flowpilot_shared.closing import cancel_quietly
from flowpilot_shared.security.crypto import SecretBox
from flowpilot_shared.security.passwords import PasswordWork
from flowpilot_shared.service import ServiceRuntime, broker_detail, database_readiness, service_lifespan
from flowpilot_shared.web.app import create_service_app
from handoff_api.accounts.views import router as accounts_router
from handoff_api.analytics.views import router as analytics_router
from handoff_api.auth.views import router as auth_router
from handoff_api.documents.views import router as documents_router
from handoff_api.errors import install_error_handlers
from handoff_api.handoffs.metrics import watch_past_last_round
from handoff_api.handoffs.views import router as handoffs_router
from handoff_api.integrations.views import router as integrations_router
from handoff_api.openapi import document_errors
from handoff_api.policy.views import router as policy_router
from handoff_api.queue.views import router as queue_router
from handoff_api.ratelimit import SlidingWindowLimiter
from handoff_api.reescalation.timers import ReescalationTimers
from handoff_api.sessions.views import router as sessions_router
from handoff_api.settings import ApiSettings
from handoff_api.slack.calls import SlackCalls
from handoff_api.slack.views import router as slack_router
from handoff_api.timeline.views import router as timeline_router
from handoff_api.users.views import router as users_router

API_PREFIX = "/api/v1"


def api_router() -> APIRouter:
    """Every route of the contract under one router (mounted at /api/v1)."""
    router = APIRouter()
    # Routes are matched in this order, one by one: the handoff (the hot path) first, its paths
    # overlapping no other's. The queue's literal paths go before `/ai-sessions/{id}` so "queue" is
    # never read as an id.
    for sub in (
        handoffs_router,
        accounts_router,
        auth_router,
        users_router,
        queue_router,
        sessions_router,
        documents_router,
        integrations_router,
        slack_router,
        timeline_router,
        policy_router,
        analytics_router,
    ):
        router.include_router(document_errors(sub))
    return router


def create_app(settings: ApiSettings | None = None) -> FastAPI:
    """Build the app; the lifespan opens the database, runs the outbox relay and the re-escalation
    timer loop."""
    settings = settings or ApiSettings()
    slack_calls = SlackCalls(settings)
    timers: ReescalationTimers | None = None
    past_last_round: asyncio.Task[None] | None = None

    async def on_start(runtime: ServiceRuntime) -> None:
        nonlocal timers, past_last_round
        timers = ReescalationTimers(db=runtime.db, settings=settings, relay=runtime.relay)
        await timers.start()
        past_last_round = asyncio.create_task(watch_past_last_round(runtime.db), name="past-last-round")

    async def on_stop(runtime: ServiceRuntime) -> None:
        if timers is not None:
            await timers.stop()
        await cancel_quietly(past_last_round)
        await slack_calls.close()

    app = create_service_app(
        title="FlowPilot handoff-api",
        lifespan=service_lifespan(
            name="handoff-api",
            settings=settings,
            with_relay=True,
            on_start=on_start,
            on_stop=on_stop,
        ),
        # Ready while the database answers: with RabbitMQ down the outbox still takes every
        # escalation (published once the broker is back), so the broker is reported, not required.
        readiness=database_readiness,
        advisory=broker_detail,
    )
    app.state.slack_calls = slack_calls
    app.state.settings = settings
    app.state.secret_box = SecretBox(settings.secret_key)
    app.state.rate_limiter = SlidingWindowLimiter(settings.rate_limit_per_minute)
    app.state.passwords = PasswordWork(
        concurrency=settings.password_hash_concurrency, wait_seconds=settings.password_hash_wait_seconds
    )
    install_error_handlers(app)
    app.include_router(api_router(), prefix=API_PREFIX)
    return app

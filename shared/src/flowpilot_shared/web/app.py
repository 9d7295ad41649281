"""A FastAPI app with the endpoints every service has: /healthz, /readyz, /metrics."""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import structlog
from fastapi import FastAPI, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from flowpilot_shared import telemetry

REQUESTS = Counter("flowpilot_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "flowpilot_http_request_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)

ReadinessCheck = Callable[[], Awaitable[None]]


class RequestContextMiddleware:
    """Carries X-Request-ID through logs, the trace, outbox rows and the response; records per-route
    metrics.

    Plain ASGI rather than BaseHTTPMiddleware: that one runs every request in an extra task with
    memory streams between them, which cost more CPU than the handoff itself did.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Tag the request, time it until its response starts, count it by route and status."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = ""
        for name, value in scope.get("headers", ()):
            if name == b"x-request-id":
                request_id = value.decode("latin-1")
                break
        request_id = request_id or uuid.uuid4().hex
        structlog.contextvars.bind_contextvars(request_id=request_id)
        request = telemetry.enter_request(request_id)  # on the request's span and its outbox rows
        started = time.perf_counter()
        method = scope.get("method", "")

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                route = getattr(scope.get("route"), "path", None)
                LATENCY.labels(method, route or "other").observe(time.perf_counter() - started)
                REQUESTS.labels(method, route or "unmatched", message["status"]).inc()
                headers = MutableHeaders(scope=message)
                headers["X-Request-ID"] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            structlog.contextvars.unbind_contextvars("request_id")
            telemetry.leave_request(request)


async def _failing(checks: list[ReadinessCheck]) -> dict[str, str]:
    """What each failing check said, by its name."""
    failures: dict[str, str] = {}
    for check in checks:
        try:
            await check()
        except Exception as exc:
            failures[getattr(check, "__name__", "check")] = f"{type(exc).__name__}: {exc}"
    return failures


def create_service_app(
    *,
    title: str,
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[Any]] | None = None,
    readiness: Callable[[FastAPI], list[ReadinessCheck]] | None = None,
    version: str = "1.0.0",
    advisory: Callable[[FastAPI], list[ReadinessCheck]] | None = None,
) -> FastAPI:
    """A FastAPI app with health, readiness, metrics and request-id handling.

    `/readyz` answers 503 when a `readiness` check fails; `advisory` checks are run and reported
    (under `degraded`) without making the process unready: what it can work without for a while.
    """
    app = FastAPI(title=title, version=version, lifespan=lifespan)
    app.add_middleware(RequestContextMiddleware)
    telemetry.instrument_app(app)  # outermost: its span is current in RequestContextMiddleware

    @app.get("/healthz", tags=["ops"], include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["ops"], include_in_schema=False)
    async def readyz() -> Response:
        failures = await _failing(readiness(app) if readiness else [])
        degraded = await _failing(advisory(app) if advisory else [])
        extra = {"degraded": degraded} if degraded else {}
        if failures:
            return JSONResponse({"status": "unavailable", "failures": failures, **extra}, status_code=503)
        return JSONResponse({"status": "ready", **extra})

    @app.get("/metrics", tags=["ops"], include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app

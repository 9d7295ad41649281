"""A FastAPI app with the endpoints every service has: /healthz, /readyz, /metrics."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import structlog
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Histogram, generate_latest
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint

REQUESTS = Counter("flowpilot_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "flowpilot_http_request_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)

ReadinessCheck = Callable[[], Awaitable[None]]


class RequestContextMiddleware(BaseHTTPMiddleware):
    """Carries X-Request-ID through logs and the response; records per-route metrics."""

    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        request_id = request.headers.get("x-request-id") or uuid.uuid4().hex
        structlog.contextvars.bind_contextvars(request_id=request_id)
        route = request.scope.get("route")
        with LATENCY.labels(request.method, getattr(route, "path", "other")).time():
            response = await call_next(request)
        route = request.scope.get("route")
        REQUESTS.labels(request.method, getattr(route, "path", "unmatched"), response.status_code).inc()
        response.headers["X-Request-ID"] = request_id
        structlog.contextvars.unbind_contextvars("request_id")
        return response


def create_service_app(
    *,
    title: str,
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[Any]] | None = None,
    readiness: Callable[[FastAPI], list[ReadinessCheck]] | None = None,
    version: str = "1.0.0",
) -> FastAPI:
    """A FastAPI app with health, readiness, metrics and request-id handling."""
    app = FastAPI(title=title, version=version, lifespan=lifespan)
    app.add_middleware(RequestContextMiddleware)

    @app.get("/healthz", tags=["ops"], include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["ops"], include_in_schema=False)
    async def readyz() -> Response:
        failures: dict[str, str] = {}
        for check in readiness(app) if readiness else []:
            try:
                await check()
            except Exception as exc:
                failures[getattr(check, "__name__", "check")] = f"{type(exc).__name__}: {exc}"
        if failures:
            return JSONResponse({"status": "unavailable", "failures": failures}, status_code=503)
        return JSONResponse({"status": "ready"})

    @app.get("/metrics", tags=["ops"], include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app

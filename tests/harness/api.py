"""Run handoff-api in-process for tests: its lifespan (database, outbox relay) and an httpx client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from flowpilot_shared.settings import CoreSettings
from handoff_api.app import create_app
from handoff_api.settings import ApiSettings

BASE_URL = "http://test"


def api_settings(core: CoreSettings, **overrides: Any) -> ApiSettings:
    """ApiSettings with the test's core values (database, vhost, fast polling) plus overrides."""
    return ApiSettings(**{**core.model_dump(), **overrides})


@asynccontextmanager
async def running_app(settings: ApiSettings) -> AsyncIterator[FastAPI]:
    """The app with its lifespan running (relay started, database open) until the block ends."""
    app = create_app(settings)
    async with LifespanManager(app, startup_timeout=30, shutdown_timeout=30):
        yield app


@asynccontextmanager
async def client_for(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client speaking ASGI to an app whose lifespan is already running."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL, timeout=30) as client:
        yield client


@asynccontextmanager
async def running_api(settings: ApiSettings) -> AsyncIterator[httpx.AsyncClient]:
    """handoff-api running in-process; yields a client (`client.app` is not needed by most tests)."""
    async with running_app(settings) as app, client_for(app) as client:
        yield client

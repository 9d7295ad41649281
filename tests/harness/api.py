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


class ApiClient(httpx.AsyncClient):
    """An httpx client bound to an in-process app; `app` lets helpers read its settings."""

    def __init__(self, app: FastAPI, **kwargs: Any) -> None:
        super().__init__(transport=httpx.ASGITransport(app=app), base_url=BASE_URL, timeout=30, **kwargs)
        self.app = app


@asynccontextmanager
async def client_for(app: FastAPI) -> AsyncIterator[ApiClient]:
    """An httpx client speaking ASGI to an app whose lifespan is already running."""
    async with ApiClient(app) as client:
        yield client


@asynccontextmanager
async def running_api(settings: ApiSettings) -> AsyncIterator[ApiClient]:
    """handoff-api running in-process; yields a client (`client.app` is the running app)."""
    async with running_app(settings) as app, client_for(app) as client:
        yield client

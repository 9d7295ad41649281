"""Fixtures of the handoff-api suite: the app running in-process and a client for it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from flowpilot_shared.settings import CoreSettings
from handoff_api.settings import ApiSettings
from tests.harness.api import api_settings, running_api


@pytest.fixture
def settings(core_settings: CoreSettings) -> ApiSettings:
    """The API's settings for this test (override with `api_settings(core_settings, ...)`)."""
    return api_settings(core_settings)


@pytest.fixture
async def api(settings: ApiSettings) -> AsyncIterator[httpx.AsyncClient]:
    """A client for handoff-api running in-process with its outbox relay."""
    async with running_api(settings) as client:
        yield client

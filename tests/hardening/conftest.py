"""Hardening fixtures: handoff-api, docgen and psa-sync running in-process on this worker's database
and vhost, the fake Anthropic and PSA servers, and a team whose account pushes notes to ConnectWise."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from aio_pika.abc import AbstractRobustConnection
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from docgen.app import create_app as create_docgen
from docgen.settings import DocgenSettings
from flowpilot_shared.broker.topology import DOCGEN_ESCALATIONS, PSA_SYNC_DOCUMENTATION
from flowpilot_shared.settings import CoreSettings
from psa_sync.app import create_app as create_psa_sync
from psa_sync.settings import PsaSyncSettings
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.psa import FakePsa
from tests.harness.api import ApiClient, api_settings, running_api
from tests.harness.broker import purge_queues
from tests.harness.people import API, Person, Tenant, add_user, signup
from tests.harness.waiting import wait_until


def docgen_settings(core: CoreSettings, anthropic: FakeAnthropic, **overrides: Any) -> DocgenSettings:
    """docgen on the fake Messages API (`ai=False` in `pipeline` drops the key)."""
    values: dict[str, Any] = {
        **core.model_dump(),
        "ANTHROPIC_API_KEY": anthropic.api_key,
        "ANTHROPIC_BASE_URL": anthropic.base_url,
        "ai_timeout_seconds": 10.0,
        "ai_max_retries": 0,
        "ai_total_timeout_seconds": 30.0,
        **overrides,
    }
    return DocgenSettings(**values)


@dataclass
class Pipeline:
    """The three services a documentation goes through, and a client of handoff-api."""

    api: ApiClient
    docgen: FastAPI
    psa_sync: FastAPI


@contextlib.asynccontextmanager
async def pipeline(
    core: CoreSettings,
    amqp: AbstractRobustConnection,
    anthropic: FakeAnthropic,
    *,
    ai: bool = True,
    api: dict[str, Any] | None = None,
    docgen: dict[str, Any] | None = None,
) -> AsyncIterator[Pipeline]:
    """handoff-api, docgen and psa-sync running, their queues emptied of earlier tests' messages."""
    await purge_queues(amqp, (DOCGEN_ESCALATIONS, PSA_SYNC_DOCUMENTATION), core.delivery_limit)
    overrides = dict(docgen or {})
    if not ai:
        overrides["ANTHROPIC_API_KEY"] = None
    psa_settings = PsaSyncSettings(
        **{
            **core.model_dump(),
            "psa_retry_base_seconds": 0.05,
            "psa_retry_max_seconds": 0.5,
            "psa_timeout_seconds": 10.0,
        }
    )
    docgen_app = create_docgen(docgen_settings(core, anthropic, **overrides))
    psa_app = create_psa_sync(psa_settings)
    settings = api_settings(core, rate_limit_per_minute=0, **(api or {}))
    async with (
        LifespanManager(docgen_app, startup_timeout=30, shutdown_timeout=30),
        LifespanManager(psa_app, startup_timeout=30, shutdown_timeout=30),
        running_api(settings) as client,
    ):
        await wait_until(lambda: _consuming(docgen_app, psa_app), timeout=15, message="consumers up")
        yield Pipeline(api=client, docgen=docgen_app, psa_sync=psa_app)


async def _consuming(*apps: FastAPI) -> bool:
    consumers = [c for app in apps for c in app.state.runtime.consumers]
    return bool(consumers) and all(c._channel is not None for c in consumers)


@dataclass
class Team:
    """A tenant (its owner administers it) and the junior who escalates."""

    tenant: Tenant
    junior: Person

    @property
    def owner(self) -> Person:
        return self.tenant.owner


async def team_on_psa(client: ApiClient, psa: FakePsa, provider: str = "connectwise") -> Team:
    """A new account with a junior engineer, its PSA integration pointing at the fake."""
    tenant = await signup(client)
    junior = await add_user(client, tenant, "engineer")
    configured = await client.put(
        f"{API}/integrations/psa", headers=tenant.owner.headers, json=psa.integration(provider)
    )
    assert configured.status_code == 200, configured.text
    return Team(tenant=tenant, junior=junior)


async def pushes(client: ApiClient, person: Person, session_id: str) -> list[dict[str, Any]]:
    """The session's PSA pushes as the pickup screen reads them."""
    response = await client.get(f"{API}/ai-sessions/{session_id}/psa-pushes", headers=person.headers)
    assert response.status_code == 200, response.text
    body: list[dict[str, Any]] = response.json()
    return body


async def settled_pushes(client: ApiClient, person: Person, session_id: str) -> list[dict[str, Any]]:
    """The session's pushes once none is pending (waits)."""

    async def settled() -> list[dict[str, Any]] | None:
        rows = await pushes(client, person, session_id)
        return rows if rows and all(r["status"] != "pending" for r in rows) else None

    return await wait_until(settled, timeout=30, message="the PSA push settled")

"""The people and calls of the end-to-end story: a team set up through the gateway, and its bell."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from tests.e2e.conftest import Fakes
from tests.harness.people import API, Person, Tenant, add_story_cast, auth, signup
from tests.harness.waiting import wait_until


@dataclass
class Team:
    """A tenant with the people of the story and its Slack channel and ConnectWise ticket."""

    tenant: Tenant
    junior: Person
    seniors: list[Person]
    viewer: Person
    channel: str

    @property
    def owner(self) -> Person:
        """The account's owner (also hears of escalations: owner, admin and engineer do)."""
        return self.tenant.owner

    @property
    def recipients(self) -> list[Person]:
        """Who gets a bell row and an email for an untargeted escalation by the junior."""
        return [self.owner, *self.seniors]


async def ok(response: httpx.Response, status: int = 200) -> Any:
    """The JSON body, asserting the status."""
    assert response.status_code == status, (
        f"{response.request.method} {response.request.url}: {response.status_code} {response.text}"
    )
    return response.json() if response.content else None


async def make_team(gw: httpx.AsyncClient, fakes: Fakes, *, slack: bool = True, psa: bool = True) -> Team:
    """Sign up, add a junior, two seniors and a viewer, configure Slack and ConnectWise (all via the gateway)."""
    tenant = await signup(gw, name=f"Contoso MSP {uuid.uuid4().hex[:6]}")
    junior, seniors, viewer = await add_story_cast(gw, tenant)
    channel = f"C{uuid.uuid4().hex[:8].upper()}"
    headers = tenant.owner.headers
    if slack:
        await ok(
            await gw.put(
                f"{API}/integrations/slack",
                headers=headers,
                json={"bot_token": "xoxb-e2e-token", "channel_id": channel},
            )
        )
    if psa:
        await ok(
            await gw.put(
                f"{API}/integrations/psa",
                headers=headers,
                json=fakes.psa.integration(),
            )
        )
    return Team(tenant=tenant, junior=junior, seniors=seniors, viewer=viewer, channel=channel)


async def bell(gw: httpx.AsyncClient, person: Person, session_id: str) -> list[dict[str, Any]]:
    """This person's bell rows about one session."""

    async def answered() -> httpx.Response | None:
        # 503 is the notifier saying "database busy, retry" (a shared dev PostgreSQL can run out of slots).
        response = await gw.get(f"{API}/notifications", headers=auth(person.token), params={"limit": 100})
        return None if response.status_code == 503 else response

    body = await ok(await wait_until(answered, timeout=30, message="the notifier answers"))
    return [item for item in body["items"] if item["session_id"] == session_id]

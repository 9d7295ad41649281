"""An integration URL whose host NAME leads inside (not an IP literal): the send is refused when it is
made, recorded as failed, and no connection is even attempted, to that address or any other."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpcore
import pytest
from aio_pika.abc import AbstractRobustConnection

from flowpilot_shared.db import Database
from flowpilot_shared.models import IntegrationKind
from flowpilot_shared.security import urls
from notifier.settings import NotifierSettings
from tests.harness.broker import publish_event
from tests.harness.factories import make_escalation, make_team, set_integration
from tests.harness.waiting import wait_until
from tests.notifier.channels.conftest import all_final, deliveries
from tests.shared.test_outbound_urls import ConnectionCounter

pytestmark = pytest.mark.usefixtures("channel_consumers")

PARTNER_HOST = "hooks.partner.example"  # a public-looking name a hostile or stale DNS answer points inside
PRIVATE_ADDRESS = "10.20.30.40"


@pytest.fixture
def channel_settings(channel_settings: NotifierSettings) -> NotifierSettings:
    """Production's rule: integrations reach public addresses only (no loopback exception)."""
    return channel_settings.model_copy(update={"allow_loopback_integrations": False})


@pytest.fixture
def connects(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, int]]]:
    """Every TCP connection the guarded transport's own network backend makes, to any address."""
    made: list[tuple[str, int]] = []
    connect = httpcore.AnyIOBackend.connect_tcp

    async def recorded(self: httpcore.AnyIOBackend, host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        made.append((host, port))
        return await connect(self, host, port, *args, **kwargs)

    monkeypatch.setattr(httpcore.AnyIOBackend, "connect_tcp", recorded)
    yield made


def _partner_dns_points_inside(monkeypatch: pytest.MonkeyPatch) -> None:
    """The resolver the guard asks answers the partner's name with a private address."""
    real = urls._getaddrinfo

    async def resolve(host: str, port: int) -> list[str]:
        return [PRIVATE_ADDRESS] if host == PARTNER_HOST else await real(host, port)

    monkeypatch.setattr(urls, "_getaddrinfo", resolve)


@pytest.mark.parametrize(
    "host",
    ["localhost", PARTNER_HOST],
    ids=["localhost-resolving-to-loopback", "public-looking-name-resolving-to-a-private-address"],
)
async def test_a_webhook_host_name_resolving_inside_is_refused_when_sent(
    db: Database,
    amqp: AbstractRobustConnection,
    channel_settings: NotifierSettings,
    connects: list[tuple[str, int]],
    monkeypatch: pytest.MonkeyPatch,
    host: str,
) -> None:
    if host == PARTNER_HOST:
        _partner_dns_points_inside(monkeypatch)
    internal = ConnectionCounter()  # an internal service on loopback, where `localhost` leads
    port = await internal.start()
    try:
        team = await make_team(db, engineers=1)
        # Saved straight to the database, as if the name resolved elsewhere when it was saved.
        await set_integration(
            db,
            channel_settings,
            team,
            IntegrationKind.teams,
            config={},
            secrets={"webhook_url": f"https://{host}:{port}/webhook?sig=s3cr3t"},
        )
        event = await make_escalation(db, team, escalator=team.users[1])
        await publish_event(amqp, event)
        await wait_until(lambda: all_final(db, event.id, 1, "teams"), timeout=15, message="Teams send final")
    finally:
        await internal.stop()

    assert connects == [], "a connection was attempted for a refused URL"
    assert internal.connections == 0
    # Refused at once (no retry can make the address public) and on record with why.
    [row] = await deliveries(db, event.id, "teams")
    assert row.status == "failed" and row.attempts == 1, (row.status, row.attempts, row.last_error)
    assert row.last_error and "refused" in row.last_error and "not a public address" in row.last_error
    assert "s3cr3t" not in row.last_error

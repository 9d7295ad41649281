"""A send that keeps failing transiently is retried up to its bound, then its event is dead-lettered
(on record on the deliveries API, listed by `flowpilot-admin dlq`); once the cause is fixed the
operator's replay sends it, exactly once, and repeats nothing that had already gone out."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from flowpilot_shared.broker.topology import NOTIFIER_EMAIL
from flowpilot_shared.db import Database
from flowpilot_shared.outbox.relay import OutboxRelay
from notifier.settings import NotifierSettings
from tests.fakes.smtp import FakeSmtp
from tests.harness.admin import run_admin
from tests.harness.factories import make_escalation, make_team
from tests.harness.people import minted_headers
from tests.harness.waiting import wait_until
from tests.notifier.channels.conftest import all_final, deliveries
from tests.shared.outbox_checks import running

# The channel's retry bound for this test (FLOWPILOT_CHANNEL_MAX_ATTEMPTS): small, so it is spent fast.
MAX_ATTEMPTS = 3
BUSY = "451 4.2.1 Mailbox busy, try again later"  # a 4xx: transient, worth another attempt

pytestmark = pytest.mark.usefixtures("channel_consumers")


@pytest.fixture
def channel_settings(channel_settings: NotifierSettings) -> NotifierSettings:
    """The channel settings with this test's retry bound."""
    return channel_settings.model_copy(update={"channel_max_attempts": MAX_ATTEMPTS})


def dlq(settings: NotifierSettings, *args: str) -> str:
    """`flowpilot-admin dlq ...` against this worker's vhost, as an operator runs it."""
    return run_admin("dlq", *args, env={"FLOWPILOT_AMQP_URL": settings.amqp_url})


def dead_letters_of(settings: NotifierSettings, event_id: object) -> list[dict[str, Any]]:
    """This event's letters in the email dead-letter queue (earlier tests may have left others)."""
    listed = json.loads(dlq(settings, "list", "--queue", NOTIFIER_EMAIL.name, "--json") or "[]")
    return [letter for letter in listed if letter["message_id"] == str(event_id)]


async def test_transient_failures_spend_the_bound_then_a_replay_sends_once(
    db: Database,
    channel_settings: NotifierSettings,
    smtp: FakeSmtp,
    deliveries_api: httpx.AsyncClient,
) -> None:
    team = await make_team(db, engineers=2)
    owner, escalator, busy = team.users
    smtp.reject_recipient(busy.email, BUSY)
    # The real path: handoff-api's escalation staged in the outbox, published by the relay.
    event = await make_escalation(db, team, escalator=escalator, staged=True)
    async with running(OutboxRelay(db=db, settings=channel_settings, name="test-relay")):
        await wait_until(lambda: all_final(db, event.id, 2, "email"), timeout=30, message="both emails final")
    await wait_until(lambda: dead_letters_of(channel_settings, event.id), timeout=15, message="dead-lettered")

    # Tried exactly as often as the bound allows, then given up: on record for the account's owner.
    answer = await deliveries_api.get(
        "/api/v1/notifications/deliveries",
        params={"session_id": str(event.session_id)},
        headers=minted_headers(channel_settings, owner),
    )
    assert answer.status_code == 200, answer.text
    emails = {d["recipient"]: d for d in answer.json() if d["channel"] == "email"}
    assert emails[busy.email.lower()]["status"] == "failed"
    assert emails[busy.email.lower()]["attempts"] == MAX_ATTEMPTS
    assert "451" in emails[busy.email.lower()]["last_error"]
    assert emails[owner.email.lower()]["status"] == "sent"
    [letter] = dead_letters_of(channel_settings, event.id)
    assert letter["event_type"] == "handoff.escalated" and "email delivery failed" in letter["reason"]
    assert [m.rcpt_tos for m in smtp.messages] == [[owner.email.lower()]]

    # The operator fixes the cause and replays that one message.
    del smtp.rejected_recipients[busy.email.lower()]
    replayed = dlq(channel_settings, "replay", "--queue", NOTIFIER_EMAIL.name, "--id", str(event.id))
    assert "replayed 1 message" in replayed

    async def busy_one_sent() -> bool:
        rows = {r.recipient: r for r in await deliveries(db, event.id, "email")}
        return rows[busy.email.lower()].status == "sent"

    await wait_until(busy_one_sent, timeout=15, message="the replayed email sent")
    assert dead_letters_of(channel_settings, event.id) == []
    # Exactly once for each: the replay sent the failed email and did not repeat the one already sent.
    assert len(smtp.to(busy.email)) == 1 and len(smtp.to(owner.email)) == 1
    assert len(smtp.messages) == 2
    rows = {r.recipient: r for r in await deliveries(db, event.id, "email")}
    assert rows[owner.email.lower()].attempts == 1

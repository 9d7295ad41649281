"""The delivery ledger's rows: every target of an event inserted in one statement, redeliveries judged."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from flowpilot_shared.models.notifications import Delivery, DeliveryStatus
from flowpilot_shared.unit_of_work import OrmUnitOfWork
from notifier.channels import ledger
from notifier.channels.outcome_writer import OutcomeWriter
from tests.harness.factories import make_escalation, make_team


async def _rows(db, event_id) -> dict[str, tuple[str, int, str | None]]:
    async with db.sessions() as s:
        found = (await s.execute(select(Delivery).where(Delivery.event_id == event_id))).scalars()
        return {d.recipient: (d.status, d.attempts, d.last_error) for d in found}


async def _claim(db, event, recipient: str, created) -> ledger.Claim | None:
    return await ledger.claim(
        lambda: OrmUnitOfWork(db.sessions),
        event=event,
        channel="email",
        recipient=recipient,
        connect=db.driver,
        created=created,
    )


async def test_targets_inserted_at_once_and_redelivery_judged(db):
    team = await make_team(db, engineers=1)
    event = await make_escalation(db, team, escalator=team.owner)
    rows = [
        ("a@example.com", None),
        ("b@example.com", None),
        ("gone@example.com", "recipient no longer active"),
    ]
    created = await ledger.insert_rows(db.driver, event=event, channel="email", rows=rows)
    assert set(created) == {"a@example.com", "b@example.com", "gone@example.com"}
    assert await _rows(db, event.id) == {
        "a@example.com": (DeliveryStatus.pending, 1, None),
        "b@example.com": (DeliveryStatus.pending, 1, None),
        "gone@example.com": (DeliveryStatus.skipped, 0, "recipient no longer active"),
    }
    claim = await _claim(db, event, "a@example.com", created)
    assert claim is not None and claim.in_flight and claim.delivery_id == created["a@example.com"]
    await ledger.record_outcome(db.driver, claim.delivery_id, status=DeliveryStatus.sent)

    # The message comes again (a crash after "a" was sent, with "b"'s call in flight) with a new
    # recipient added: only that one's row is new; "a" is not sent twice, "b" is not resent blind.
    again = await ledger.insert_rows(
        db.driver, event=event, channel="email", rows=[*rows, ("c@example.com", None)]
    )
    assert set(again) == {"c@example.com"}
    claims = {
        r: await _claim(db, event, r, again) for r in ("a@example.com", "b@example.com", "c@example.com")
    }
    assert claims["a@example.com"] is None and claims["b@example.com"] is None
    assert claims["c@example.com"] is not None and claims["c@example.com"].attempts == 1
    after = await _rows(db, event.id)
    assert after["a@example.com"][0] == DeliveryStatus.sent
    assert after["b@example.com"][:2] == (DeliveryStatus.failed, 1)
    assert after["b@example.com"][2] == ledger.CRASHED_IN_FLIGHT
    assert after["gone@example.com"][0] == DeliveryStatus.skipped


async def test_outcomes_finishing_together_share_a_statement_and_each_is_kept(db):
    team = await make_team(db, engineers=1)
    event = await make_escalation(db, team, escalator=team.owner)
    recipients = [f"r{i}@example.com" for i in range(4)]
    created = await ledger.insert_rows(
        db.driver, event=event, channel="email", rows=[(r, None) for r in recipients]
    )
    writer = OutcomeWriter(db.driver)
    outcomes = [
        ledger.outcome(created[recipients[0]], status=DeliveryStatus.sent, external_id="<m0@x>"),
        ledger.outcome(created[recipients[1]], status=DeliveryStatus.sent, external_id="<m1@x>"),
        ledger.outcome(created[recipients[2]], status=DeliveryStatus.retrying, error="451 try later"),
        ledger.outcome(created[recipients[3]], status=DeliveryStatus.failed, error="550 no such user"),
    ]
    await asyncio.gather(*(writer.record(o) for o in outcomes))
    async with db.driver() as conn:
        rows = {
            r["recipient"]: r
            for r in await conn.fetch(
                "SELECT recipient, status, external_id, last_error, updated_at FROM deliveries WHERE event_id = $1",
                event.id,
            )
        }
    assert [(rows[r]["status"], rows[r]["external_id"], rows[r]["last_error"]) for r in recipients] == [
        ("sent", "<m0@x>", None),
        ("sent", "<m1@x>", None),
        ("retrying", None, "451 try later"),
        ("failed", None, "550 no such user"),
    ]
    # All four finished within the writer's linger: one statement (one transaction: one now()).
    assert len({rows[r]["updated_at"] for r in recipients}) == 1

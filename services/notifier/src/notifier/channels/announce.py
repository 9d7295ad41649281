"""`delivery.recorded`: one event per source event and channel, once every recipient's send is final.

It feeds handoff-api's timeline (no service reads the ledger but the notifier). It costs no commit of
its own on the usual paths: its outbox row goes into the statement that records the last outcome it
reports (or, when every target was skipped, the statement that inserts the ledger rows). Only a
redelivery that found rows settled elsewhere writes it alone, from the ledger as it stands.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import asyncpg
from prometheus_client import Counter

from flowpilot_shared.events import AnyEvent, DeliveryRecorded
from flowpilot_shared.lifecycle_contracts import DeliveryOutcome, DeliveryRecordedData
from flowpilot_shared.unit_of_work import OUTBOX_INSERT, outbox_args, outbox_sql

if TYPE_CHECKING:  # base imports the ledger, which imports this module
    from notifier.channels.base import Target

ANNOUNCED = Counter(
    "flowpilot_notifier_delivery_announcements_total",
    "delivery.recorded events written, by the statement that carried them",
    ["channel", "carrier"],  # carrier: outcome, rows (all skipped), alone (an extra commit)
)
FINAL_STATUSES = ("sent", "failed", "skipped")
LEDGER_OUTCOMES = """
SELECT recipient, status, last_error, attempts, updated_at FROM deliveries WHERE event_id = $1 AND channel = $2
"""


def _outbox_rows(first: int, where: str = "") -> str:
    """The outbox INSERT of any number of rows, one array per column, parameters numbered from `first`."""
    p = [f"${i}" for i in range(first, first + 9)]
    columns = (
        f"{p[0]}::uuid[], {p[1]}::text[], {p[2]}::text[], {p[3]}::uuid[], {p[4]}::uuid[], {p[5]}::uuid[], "
        f"{p[6]}::text[]::jsonb[], {p[7]}::text[], {p[8]}::text[]"
    )
    # A statement retried after a commit whose answer was lost finds its row there: nothing to add.
    return f"{OUTBOX_INSERT} SELECT * FROM unnest({columns}) {where} ON CONFLICT (id) DO NOTHING"


def _columns(events: Sequence[AnyEvent]) -> list[list[Any]]:
    return [list(column) for column in zip(*(outbox_args(e) for e in events), strict=True)]


def with_events(statement: str, args: Sequence[Any], events: Sequence[AnyEvent]) -> tuple[Any, ...]:
    """`statement` (no RETURNING) and the outbox rows of `events` as one statement, and its arguments."""
    if not events:
        return (statement, *args)
    combined = f"WITH recorded AS ({statement}) {_outbox_rows(len(args) + 1)}"
    return (combined, *args, *_columns(events))


def returning_with_events(
    statement: str, args: Sequence[Any], events: Sequence[AnyEvent], *, columns: str
) -> tuple[Any, ...]:
    """An INSERT ... RETURNING `columns` plus the events' outbox rows, written only if it inserted a row."""
    if not events:
        return (statement, *args)
    outbox = _outbox_rows(len(args) + 1, "WHERE EXISTS (SELECT 1 FROM inserted)")
    combined = f"WITH inserted AS ({statement}), announced AS ({outbox}) SELECT {columns} FROM inserted"
    return (combined, *args, *_columns(events))


class Announcement:
    """Collects the final outcomes of one event's sends on one channel; the last one announces them."""

    def __init__(
        self, event: AnyEvent, channel: str, targets: Sequence[Target], *, unconfigured: bool = False
    ) -> None:
        self._event = event
        self._channel = channel
        now = datetime.now(UTC)
        self._outcomes = {
            t.recipient: DeliveryOutcome(recipient=t.recipient, status="skipped", error=t.skip_reason, at=now)
            for t in targets
            if t.skip_reason is not None
        }
        self._waiting = {t.recipient for t in targets if t.skip_reason is None}
        # A channel the account has not set up has nothing to tell the session's timeline: its
        # `skipped` row stays on the ledger (the deliveries API shows it), and no event is spent on it.
        self.written = unconfigured

    def all_skipped(self) -> DeliveryRecorded | None:
        """The announcement to write with the ledger rows when no target is to be sent to."""
        return self._build() if self._outcomes and not self._waiting and not self.written else None

    def final(self, recipient: str, status: str, error: str | None, attempts: int) -> DeliveryRecorded | None:
        """Note a final outcome; the announcement to write with it when it was the last one awaited."""
        self._outcomes[recipient] = DeliveryOutcome(
            recipient=recipient, status=status, error=error, attempts=attempts, at=datetime.now(UTC)
        )
        self._waiting.discard(recipient)
        return None if self._waiting or self.written else self._build()

    def carried(self, carrier: str) -> None:
        """The announcement was committed (by the statement named `carrier`)."""
        self.written = True
        ANNOUNCED.labels(self._channel, carrier).inc()

    def _build(self, outcomes: Sequence[DeliveryOutcome] | None = None) -> DeliveryRecorded:
        return DeliveryRecorded(
            account_id=self._event.account_id,
            session_id=self._event.session_id,
            data=DeliveryRecordedData(
                source_event_id=self._event.id,
                source_event_type=self._event.type,
                handoff_id=getattr(self._event.data, "handoff_id", None),
                channel=self._channel,
                outcomes=sorted(outcomes or self._outcomes.values(), key=lambda o: o.recipient),
            ),
        )

    async def write_from_ledger(self, conn: asyncpg.Connection) -> bool:
        """Announce what the ledger holds, in a statement of its own, if every row of it is final."""
        rows = await conn.fetch(LEDGER_OUTCOMES, self._event.id, self._channel)
        if not rows or any(r["status"] not in FINAL_STATUSES for r in rows):
            return False  # a send still in flight elsewhere announces when it ends
        outcomes = [
            DeliveryOutcome(
                recipient=r["recipient"],
                status=r["status"],
                error=r["last_error"],
                attempts=r["attempts"],
                at=r["updated_at"],
            )
            for r in rows
        ]
        await conn.execute(outbox_sql(1), *outbox_args(self._build(outcomes)))
        self.carried("alone")
        return True

"""Jepsen-style accounting: for a set of escalations, every expected effect counted per kind.

Effects are read where they land (bell rows and documentation in the database, emails at the SMTP
sink, Slack posts at the Slack fake, notes at the PSA fake); each is keyed so that an effect made
twice shows up as a duplicate and one never made as lost. An effect whose ledger row says the call
was cut off by a crash (outcome unknown, deliberately not resent) is `ambiguous`, not lost.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections import Counter
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select

from flowpilot_shared.broker.topology import ALL_QUEUES
from flowpilot_shared.db import Database, database_unavailable
from flowpilot_shared.models import Documentation, Notification, User
from flowpilot_shared.models.notifications import Delivery
from flowpilot_shared.models.psa import PsaPush
from notifier.channels.ledger import CRASHED_IN_FLIGHT
from tests.faults.system import SLACK_CHANNEL, Escalation, Fakes, queue_depths
from tests.harness.infra import Infra
from tests.harness.waiting import wait_until

PICKUP = re.compile(r"/pilot/([0-9a-f-]{36})\?pickup=true")
KINDS = ("bell", "email", "slack", "documentation", "psa_note")


@dataclass
class KindCount:
    """One kind of effect: how many were expected, seen, lost, duplicated, ambiguous, unrecorded."""

    expected: int = 0
    seen: int = 0
    lost: list[Hashable] = field(default_factory=list)
    duplicated: dict[Hashable, int] = field(default_factory=dict)
    ambiguous: list[Hashable] = field(default_factory=list)
    unrecorded: list[Hashable] = field(default_factory=list)

    def summary(self) -> str:
        """One line for failure messages."""
        return (
            f"expected={self.expected} seen={self.seen} lost={len(self.lost)} "
            f"duplicated={sum(self.duplicated.values())} ambiguous={len(self.ambiguous)} "
            f"unrecorded={len(self.unrecorded)}"
        )


@dataclass
class Report:
    """Counts for every kind of effect."""

    kinds: dict[str, KindCount]

    def __str__(self) -> str:
        return "\n".join(f"{k:>13}: {c.summary()}" for k, c in self.kinds.items())

    @property
    def complete(self) -> bool:
        """Nothing lost (ambiguous excepted) and nothing duplicated, for every kind."""
        return all(not c.lost and not c.duplicated for c in self.kinds.values())

    @property
    def recorded(self) -> bool:
        """Every effect seen has its record (which the service writes after the call returned)."""
        return all(not c.unrecorded for c in self.kinds.values())

    def assert_exactly_once(self, *, max_ambiguous: int = 0) -> None:
        """lost = 0, duplicated = 0, unrecorded = 0 everywhere; at most `max_ambiguous` ambiguous."""
        assert self.complete, f"effects lost or duplicated:\n{self}"
        for kind, c in self.kinds.items():
            assert not c.unrecorded, f"{kind}: effect without its record {c.unrecorded[:5]}\n{self}"
        ambiguous = sum(len(c.ambiguous) for c in self.kinds.values())
        assert ambiguous <= max_ambiguous, f"{ambiguous} ambiguous effects (max {max_ambiguous})\n{self}"


def _tally(expected: Iterable[Hashable], seen: Iterable[Hashable], excused: set[Hashable]) -> KindCount:
    want = set(expected)
    counts = Counter(k for k in seen if k in want)
    lost = [k for k in want if counts[k] == 0 and k not in excused]
    ambiguous = [k for k in want if counts[k] == 0 and k in excused]
    duplicated = {k: n - 1 for k, n in counts.items() if n > 1}
    return KindCount(
        expected=len(want), seen=sum(counts.values()), lost=lost, duplicated=duplicated, ambiguous=ambiguous
    )


async def account(
    db: Database, fakes: Fakes, escalations: Sequence[Escalation], recipient_emails: Sequence[str]
) -> Report:
    """Count every effect of `escalations` (each escalated to every address in `recipient_emails`)."""
    sessions = {e.session_id for e in escalations}
    session_uuids = [uuid.UUID(s) for s in sessions]
    for pause in (0.2, 0.5, 1.0, 2.0, 4.0, 0.0):
        try:
            rows = await _read_rows(db, session_uuids, recipient_emails)
            break
        except Exception as exc:  # the box's PostgreSQL is shared: wait out "too many clients"
            if not pause or not database_unavailable(exc):
                raise
            await asyncio.sleep(pause)
    users, bells, docs, deliveries, pushes = rows
    sent = {(c, str(sid), r) for c, sid, r, st, _ in deliveries if st == "sent"}
    crashed = {
        (c, str(sid), r) for c, sid, r, st, err in deliveries if st == "failed" and err == CRASHED_IN_FLIGHT
    }

    kinds: dict[str, KindCount] = {}
    bell_expected = [(sid, users[e]) for sid in sessions for e in recipient_emails]
    kinds["bell"] = _tally(bell_expected, [(str(sid), uid) for sid, uid in bells], set())

    with fakes.smtp.lock:
        mails = list(fakes.smtp.messages)
    email_seen = []
    for mail in mails:
        found = PICKUP.search(mail.text)
        if found and found.group(1) in sessions:
            email_seen += [(found.group(1), r.lower()) for r in mail.rcpt_tos]
    email_expected = [(sid, e.lower()) for sid in sessions for e in recipient_emails]
    excused_email = {(sid, r.lower()) for c, sid, r in crashed if c == "email"}
    kinds["email"] = _tally(email_expected, email_seen, excused_email)
    kinds["email"].unrecorded = [
        k for k in email_seen if ("email", k[0], k[1]) not in sent and k not in excused_email
    ]
    # Delivered although its row says "outcome unknown after crash": on record, counted ambiguous.
    kinds["email"].ambiguous += [k for k in set(email_seen) if k in excused_email]

    slack_seen = []
    for message in list(fakes.slack.messages.values()):
        found = PICKUP.search(json.dumps([message.text, message.blocks]))
        if found and found.group(1) in sessions and message.channel == SLACK_CHANNEL:
            slack_seen.append(found.group(1))
    excused_slack = {sid for c, sid, _ in crashed if c == "slack"}
    kinds["slack"] = _tally(sessions, slack_seen, excused_slack)
    kinds["slack"].unrecorded = [
        k for k in slack_seen if ("slack", k, SLACK_CHANNEL) not in sent and k not in excused_slack
    ]
    kinds["slack"].ambiguous += [k for k in set(slack_seen) if k in excused_slack]

    kinds["documentation"] = _tally(sessions, [str(d) for d in docs], set())

    tickets = {e.ticket_id for e in escalations}
    notes = fakes.psa.notes["connectwise"]
    note_seen = [t for t in tickets for _ in notes.get(t, [])]
    kinds["psa_note"] = _tally(tickets, note_seen, set())
    pushed = {t for t, st in pushes if st == "pushed"}
    kinds["psa_note"].unrecorded = [t for t in set(note_seen) if t not in pushed]
    return Report(kinds=kinds)


async def settled(
    db: Database,
    fakes: Fakes,
    escalations: Sequence[Escalation],
    recipient_emails: Sequence[str],
    *,
    infra: Infra | None = None,
    timeout: float = 120.0,
    max_ambiguous: int = 0,
) -> Report:
    """Wait until every effect is there (or excused as ambiguous) and on record, then assert exactly
    once. A record is written after its call returned: an email can reach the SMTP sink a moment
    before its ledger row says so, so "on record" is waited for, never assumed at first sight.

    A second count once the consumer queues are drained catches a late duplicate (a redelivery).
    """
    last: list[Report] = []

    async def probe() -> bool:
        report = await account(db, fakes, escalations, recipient_emails)
        last[:] = [report]
        return (report.complete and report.recorded) or any(c.duplicated for c in report.kinds.values())

    try:
        await wait_until(probe, timeout=timeout, interval=0.5, message="every effect of every escalation")
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{last[0] if last else ''}") from None
    if infra is not None:
        # A late duplicate would come from a message still queued or unacked: count once all are drained.
        async def drained() -> bool:
            depths = await asyncio.to_thread(queue_depths, infra)
            return not any(depths.get(spec.name) for spec in ALL_QUEUES)

        await wait_until(drained, timeout=60, interval=0.5, message="consumer queues drained")
    report = await account(db, fakes, escalations, recipient_emails)
    report.assert_exactly_once(max_ambiguous=max_ambiguous)
    return report


async def _read_rows(db: Database, session_uuids: list[uuid.UUID], recipient_emails: Sequence[str]) -> tuple:  # type: ignore[type-arg]
    """Bell rows, documentation, deliveries and PSA pushes of the sessions, and the recipients' ids."""
    async with db.sessions() as s:
        users = dict(
            (await s.execute(select(User.email, User.id).where(User.email.in_(list(recipient_emails))))).all()
        )
        bells = (
            await s.execute(
                select(Notification.session_id, Notification.user_id).where(
                    Notification.session_id.in_(session_uuids), Notification.type == "handoff_escalated"
                )
            )
        ).all()
        docs = (
            (
                await s.execute(
                    select(Documentation.session_id).where(Documentation.session_id.in_(session_uuids))
                )
            )
            .scalars()
            .all()
        )
        deliveries = (
            await s.execute(
                select(
                    Delivery.channel,
                    Delivery.session_id,
                    Delivery.recipient,
                    Delivery.status,
                    Delivery.last_error,
                ).where(Delivery.session_id.in_(session_uuids), Delivery.event_type == "handoff.escalated")
            )
        ).all()
        pushes = (
            await s.execute(
                select(PsaPush.ticket_id, PsaPush.status).where(PsaPush.session_id.in_(session_uuids))
            )
        ).all()
    return users, bells, docs, deliveries, pushes

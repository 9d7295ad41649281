"""Scenario 4: notifier, docgen and psa-sync each SIGKILLed mid-batch under load, then restarted."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.faults.accounting import account, settled
from tests.faults.system import Escalation, create_sessions, escalate_all, make_team
from tests.harness.people import API
from tests.harness.waiting import wait_until

ESCALATIONS = 100
# An email or Slack post whose call was in flight at the kill is recorded failed, not resent: never
# repeated, on record (docs/architecture.md "Ledger"; docs/contract.md invariants 2 and 3). No document
# gives a number: this test allows what the killed notifier can have in flight, 8 events per channel
# consumer (FLOWPILOT_CHANNEL_PREFETCH as the fault system runs it) times the sends of each (an email
# to each of make_team's 3 seniors, one Slack post), written here rather than read from the code.
MAX_AMBIGUOUS = 8 * (3 + 1)


@pytest.mark.faults
@pytest.mark.timeout(300)
async def test_each_consumer_killed_mid_batch(system, db):
    system.start()
    fakes = system.fakes
    async with system.client() as api:
        team = await make_team(api, fakes)
        sessions = await create_sessions(api, team, ESCALATIONS)
        # Escalations keep coming while the consumers are killed one after another.
        escalating = asyncio.create_task(escalate_all(api, team, sessions, concurrency=3))
        planned = [Escalation(session_id, "", ticket) for session_id, ticket in sessions]

        async def progressed(kind: str, fraction: float) -> bool:
            report = await account(db, fakes, planned, team.recipient_emails)
            count = report.kinds[kind]
            return count.seen >= count.expected * fraction

        # docgen and psa-sync are fast (template docs): each is killed at its first effects; the notifier,
        # slowest, once a fifth of the emails are out.
        for service, kind, fraction in (
            ("docgen", "documentation", 0.01),
            ("psa-sync", "psa_note", 0.01),
            ("notifier", "email", 0.2),
        ):
            await wait_until(
                lambda k=kind, f=fraction: progressed(k, f), timeout=90, interval=0.02, message=kind
            )
            report = await account(db, fakes, planned, team.recipient_emails)
            proc = system.procs[service]
            await asyncio.to_thread(proc.kill)  # SIGKILL: no shutdown, in-flight work cut off
            print(f"killed {service} at {report.kinds[kind].seen}/{report.kinds[kind].expected} {kind}")
            await asyncio.to_thread(proc.start)

        escalations = await escalating
        report = await settled(
            db,
            fakes,
            escalations,
            team.recipient_emails,
            infra=system.infra,
            timeout=180,
            max_ambiguous=MAX_AMBIGUOUS,
        )
        print(f"\n{ESCALATIONS} escalations, each consumer killed once:\n{report}")

        # Each ambiguous send is on record, visible to the owner on the deliveries API with its reason.
        ambiguous = [(k, key) for k, c in report.kinds.items() for key in c.ambiguous]
        for kind, key in ambiguous:
            session_id = key[0] if isinstance(key, tuple) else key
            async with httpx.AsyncClient(base_url=system.url("notifier"), timeout=10) as notifier:
                response = await notifier.get(
                    f"{API}/notifications/deliveries",
                    params={"session_id": session_id},
                    headers=team.tenant.owner.headers,
                )
            assert response.status_code == 200, response.text
            body = response.json()
            items = body["items"] if isinstance(body, dict) else body
            channel = "email" if kind == "email" else "slack"
            assert any(
                i["channel"] == channel and i["status"] == "failed" and i["last_error"] for i in items
            ), items

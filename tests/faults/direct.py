"""Teams, integrations and escalations written straight to the database (no handoff-api needed)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from flowpilot_shared.db import Database
from flowpilot_shared.events import HandoffEscalated
from flowpilot_shared.models import InboxRecord, IntegrationKind
from flowpilot_shared.settings import CoreSettings
from tests.faults.system import SLACK_CHANNEL, SLACK_TOKEN, Escalation, Fakes, new_ticket_id
from tests.harness.factories import Team, make_escalation, make_team, set_integration


async def wired_team(
    db: Database, settings: CoreSettings, fakes: Fakes, *, engineers: int = 3, slack_token: str = SLACK_TOKEN
) -> Team:
    """An owner and engineers, Slack and ConnectWise pointed at the fakes."""
    team = await make_team(db, engineers=engineers)
    await set_slack(db, settings, team, bot_token=slack_token)
    await set_connectwise(
        db,
        settings,
        team,
        base_url=fakes.psa.base_url("connectwise"),
        credentials=fakes.psa.credentials("connectwise"),
    )
    return team


async def set_slack(db: Database, settings: CoreSettings, team: Team, *, bot_token: str) -> None:
    """The team posts to SLACK_CHANNEL with this bot token."""
    await set_integration(
        db,
        settings,
        team,
        IntegrationKind.slack,
        config={"channel_id": SLACK_CHANNEL},
        secrets={"bot_token": bot_token},
    )


async def set_connectwise(
    db: Database, settings: CoreSettings, team: Team, *, base_url: str, credentials: dict[str, Any]
) -> None:
    """The team pushes its notes to ConnectWise at `base_url`."""
    await set_integration(
        db,
        settings,
        team,
        IntegrationKind.psa,
        provider="connectwise",
        config={"base_url": base_url},
        secrets=credentials,
    )


async def handled_count(db: Database, consumer: str) -> int:
    """How many messages the consumer has handled (its inbox rows)."""
    async with db.sessions() as session:
        count = await session.scalar(
            select(func.count()).select_from(InboxRecord).where(InboxRecord.consumer == consumer)
        )
    return int(count or 0)


def recipients(team: Team) -> list[str]:
    """Who hears of the owner's escalations (every active engineer)."""
    return [u.email for u in team.users if u.role == "engineer" and u.is_active]


async def staged_escalations(
    db: Database, team: Team, count: int
) -> tuple[list[Escalation], list[HandoffEscalated]]:
    """`count` escalations by the owner, rows only (the events are returned, not yet in the outbox)."""
    escalations, events = [], []
    for _ in range(count):
        ticket = new_ticket_id()
        event = await make_escalation(db, team, escalator=team.owner, psa_ticket_id=ticket)
        events.append(event)
        escalations.append(Escalation(str(event.session_id), str(event.data.handoff_id), ticket))
    return escalations, events

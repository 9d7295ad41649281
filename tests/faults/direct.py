"""Teams, integrations and escalations written straight to the database (no handoff-api needed)."""

from __future__ import annotations

from typing import Any

from flowpilot_shared.db import Database
from flowpilot_shared.events import HandoffEscalated
from flowpilot_shared.integrations import save_integration
from flowpilot_shared.models import IntegrationKind
from flowpilot_shared.security.crypto import SecretBox
from flowpilot_shared.settings import CoreSettings
from tests.faults.system import SLACK_CHANNEL, SLACK_TOKEN, Escalation, Fakes, new_ticket_id
from tests.harness.factories import Team, make_escalation, make_team


async def set_integration(
    db: Database,
    settings: CoreSettings,
    team: Team,
    kind: IntegrationKind,
    *,
    provider: str | None = None,
    config: dict[str, Any],
    secrets: dict[str, Any],
) -> None:
    """Store an integration as handoff-api would (sealed), bypassing its URL checks."""
    async with db.sessions() as session, session.begin():
        await save_integration(
            session,
            account_id=team.account.id,
            kind=kind,
            provider=provider,
            config=config,
            secrets=secrets,
            box=SecretBox(settings.secret_key),
        )


async def wired_team(
    db: Database, settings: CoreSettings, fakes: Fakes, *, engineers: int = 3, slack_token: str = SLACK_TOKEN
) -> Team:
    """An owner and engineers, Slack and ConnectWise pointed at the fakes."""
    team = await make_team(db, engineers=engineers)
    await set_integration(
        db,
        settings,
        team,
        IntegrationKind.slack,
        config={"channel_id": SLACK_CHANNEL},
        secrets={"bot_token": slack_token},
    )
    await set_integration(
        db,
        settings,
        team,
        IntegrationKind.psa,
        provider="connectwise",
        config={"base_url": fakes.psa.base_url("connectwise")},
        secrets=fakes.psa.credentials("connectwise"),
    )
    return team


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

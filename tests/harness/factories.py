"""Rows and events for consumer tests, written straight to the database (no API needed)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from flowpilot_shared.db import Database
from flowpilot_shared.events import (
    AnyEvent,
    DocumentationGenerated,
    DocumentationGeneratedData,
    HandoffEscalated,
    HandoffEscalatedData,
    SessionSnapshot,
    StepSnapshot,
    UserRef,
)
from flowpilot_shared.integrations import save_integration
from flowpilot_shared.models import Account, AiSession, Handoff, IntegrationKind, SessionStep, User
from flowpilot_shared.security.crypto import SecretBox
from flowpilot_shared.security.passwords import hash_password
from flowpilot_shared.settings import CoreSettings
from flowpilot_shared.unit_of_work import OrmUnitOfWork

_HASH = hash_password("correct horse battery staple")
Followed = TypeVar("Followed", bound=AnyEvent)


@dataclass
class Team:
    """An account and its people, by role."""

    account: Account
    owner: User
    users: list[User] = field(default_factory=list)

    def ref(self, user: User) -> UserRef:
        """The event reference of a user."""
        return UserRef(id=user.id, name=user.name, email=user.email, role=user.role)


async def make_team(db: Database, *, engineers: int = 2, viewers: int = 0, inactive: int = 0) -> Team:
    """An account with an owner, some engineers, viewers and deactivated engineers."""
    tag = uuid.uuid4().hex[:8]
    account = Account(id=uuid.uuid4(), name=f"MSP {tag}")
    owner = User(
        id=uuid.uuid4(),
        account_id=account.id,
        email=f"owner-{tag}@example.com",
        name=f"Owner {tag}",
        role="owner",
        password_hash=_HASH,
    )
    team = Team(account=account, owner=owner, users=[owner])
    specs = [("engineer", True)] * engineers + [("viewer", True)] * viewers + [("engineer", False)] * inactive
    for i, (role, active) in enumerate(specs):
        team.users.append(
            User(
                id=uuid.uuid4(),
                account_id=account.id,
                email=f"{role}{i}-{tag}@example.com",
                name=f"{role.title()} {i} {tag}",
                role=role,
                password_hash=_HASH,
                is_active=active,
            )
        )
    async with db.sessions() as session, session.begin():
        session.add(account)
        await session.flush()
        session.add_all(team.users)
    return team


async def make_escalation(
    db: Database,
    team: Team,
    *,
    escalator: User,
    target: User | None = None,
    psa_ticket_id: str | None = "T-1001",
    steps: list[tuple[str, str]] | None = None,
    title: str = "Outlook cannot connect",
) -> HandoffEscalated:
    """A session with steps and an escalation handoff in the database, and its event (not yet sent)."""
    now = datetime.now(UTC)
    session_row = AiSession(
        id=uuid.uuid4(),
        account_id=team.account.id,
        owner_id=escalator.id,
        title=title,
        problem="Users at Contoso get a password prompt loop in Outlook",
        client_name="Contoso",
        psa_ticket_id=psa_ticket_id,
        status="escalated",
        escalation_reason="Stuck after profile rebuild",
        escalated_to_id=target.id if target else None,
    )
    step_rows = [
        SessionStep(id=uuid.uuid4(), session_id=session_row.id, author_id=escalator.id, kind=k, content=c)
        for k, c in (steps or [("action", "Rebuilt the Outlook profile"), ("observation", "Still prompts")])
    ]
    handoff = Handoff(
        id=uuid.uuid4(),
        account_id=team.account.id,
        session_id=session_row.id,
        intent="escalate",
        reason="Stuck after profile rebuild",
        from_user_id=escalator.id,
        target_user_id=target.id if target else None,
    )
    async with db.sessions() as session, session.begin():
        session.add(session_row)
        await session.flush()
        session.add_all([*step_rows, handoff])
    eligible = [
        u
        for u in team.users
        if u.is_active and u.role in ("owner", "admin", "engineer") and u.id != escalator.id
    ]
    recipients = [target] if target else eligible
    return HandoffEscalated(
        account_id=team.account.id,
        session_id=session_row.id,
        data=HandoffEscalatedData(
            handoff_id=handoff.id,
            reason=handoff.reason,
            escalated_at=now,
            session=SessionSnapshot(
                id=session_row.id,
                title=session_row.title,
                problem=session_row.problem,
                client_name=session_row.client_name,
                psa_ticket_id=psa_ticket_id,
                status="escalated",
                owner_id=escalator.id,
                created_at=now,
                steps=[
                    StepSnapshot(
                        id=s.id, kind=s.kind, content=s.content, author_id=s.author_id, created_at=now
                    )
                    for s in step_rows
                ],
            ),
            escalator=team.ref(escalator),
            target=team.ref(target) if target else None,
            recipients=[team.ref(u) for u in recipients],
        ),
    )


async def commit_events(db: Database, *events: AnyEvent) -> None:
    """Commit the events to the outbox in one transaction, in this order, as the service that owns
    them would; a relay publishes them."""
    async with OrmUnitOfWork(db.sessions) as uow:
        for event in events:
            uow.add_event(event)
        await uow.commit()


def following(escalated: HandoffEscalated, event_type: type[Followed], data: Any) -> Followed:
    """An event that followed the escalation: of its account and its session."""
    return event_type(account_id=escalated.account_id, session_id=escalated.session_id, data=data)


def documentation_event(
    escalated: HandoffEscalated, *, title: str | None = None, content: str = "# Outlook cannot connect"
) -> DocumentationGenerated:
    """Documentation generated for an escalation (by the template; the documentation id is made up)."""
    data = DocumentationGeneratedData(
        documentation_id=uuid.uuid4(),
        handoff_id=escalated.data.handoff_id,
        version=1,
        generated_by="template",
        model=None,
        content_markdown=content,
        session_title=title or escalated.data.session.title,
        psa_ticket_id=escalated.data.session.psa_ticket_id,
        escalator=escalated.data.escalator,
    )
    return following(escalated, DocumentationGenerated, data)


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

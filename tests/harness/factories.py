"""Rows and events for consumer tests: written straight to the database, or (the escalation itself)
by handoff-api's own service code, so consumers are tested on the events it really produces."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any, TypeVar

from flowpilot_shared.db import Database
from flowpilot_shared.events import (
    AnyEvent,
    DocumentationGenerated,
    DocumentationGeneratedData,
    HandoffEscalated,
    UserRef,
)
from flowpilot_shared.integrations import save_integration
from flowpilot_shared.models import Account, AiSession, HandoffIntent, IntegrationKind, SessionStep, User
from flowpilot_shared.security.crypto import SecretBox
from flowpilot_shared.security.passwords import hash_password
from flowpilot_shared.security.tokens import TokenClaims
from flowpilot_shared.settings import CoreSettings
from flowpilot_shared.unit_of_work import DriverUnitOfWork, OrmUnitOfWork
from handoff_api.handoffs.service import HandOff, hand_off

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


class _HandoffTakingItsEvent(DriverUnitOfWork):
    """handoff-api's unit of work, in a transaction that reads (and unless `staged`, takes out) the
    escalation's outbox row just before it commits: no relay can send the event before the test does."""

    def __init__(self, db: Database, *, session_id: uuid.UUID, staged: bool) -> None:
        super().__init__(db)
        self._session_id = session_id
        self._staged = staged
        self.payload: str | None = None

    async def _commit(self) -> None:
        self.payload = await self.conn.fetchval(_READ_STAGED if self._staged else _TAKE, self._session_id)
        await super()._commit()

    def _poke_relay(self, *, soon: bool) -> None:
        # A row taken out is nothing for the relay to send.
        if self._staged:
            super()._poke_relay(soon=soon)


_OUTBOX_ROW = "FROM outbox WHERE session_id = $1 AND routing_key = 'handoff.escalated'"
_READ_STAGED = f"SELECT payload::text {_OUTBOX_ROW}"
_TAKE = f"DELETE {_OUTBOX_ROW} RETURNING payload::text"


async def make_escalation(
    db: Database,
    team: Team,
    *,
    escalator: User,
    target: User | None = None,
    psa_ticket_id: str | None = "T-1001",
    steps: list[tuple[str, str]] | None = None,
    title: str = "Outlook cannot connect",
    staged: bool = False,
) -> HandoffEscalated:
    """A session with steps (written straight to the database), escalated by handoff-api's own
    handoff service: its handoff row, session update, re-escalation timer and event, the recipients
    chosen by its rule. The event is the one it wrote to the outbox.

    That outbox row is taken out in the same transaction, so the test sends the event its own way
    (`publish_event`, `commit_events`); with `staged` it stays for a relay to publish.
    """
    session_row = AiSession(
        id=uuid.uuid4(),
        account_id=team.account.id,
        owner_id=escalator.id,
        title=title,
        problem="Users at Contoso get a password prompt loop in Outlook",
        client_name="Contoso",
        psa_ticket_id=psa_ticket_id,
        status="active",
    )
    step_rows = [
        SessionStep(id=uuid.uuid4(), session_id=session_row.id, author_id=escalator.id, kind=k, content=c)
        for k, c in (steps or [("action", "Rebuilt the Outlook profile"), ("observation", "Still prompts")])
    ]
    async with db.sessions() as session, session.begin():
        session.add(session_row)
        await session.flush()
        # One at a time: the steps' positions follow the list.
        for step in step_rows:
            session.add(step)
            await session.flush()
    command = HandOff(
        claims=TokenClaims(user_id=escalator.id, account_id=team.account.id),
        session_id=session_row.id,
        intent=HandoffIntent.escalate,
        reason="Stuck after profile rebuild",
        target_user_id=target.id if target else None,
    )
    unit = _HandoffTakingItsEvent(db, session_id=session_row.id, staged=staged)
    async with unit:
        await hand_off(uow=unit, command=command)
    assert unit.payload is not None, "handoff-api wrote no escalation event"
    return HandoffEscalated.model_validate_json(unit.payload)


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

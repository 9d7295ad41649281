"""The channels' claims of one transaction read the chat integrations and the recipients once."""

from __future__ import annotations

from sqlalchemy import delete, update

from flowpilot_shared.models import Integration, User
from flowpilot_shared.models.integrations import IntegrationKind
from flowpilot_shared.security.crypto import SecretBox
from flowpilot_shared.unit_of_work import DriverUnitOfWork
from notifier.channels.reads import chat_integration, recipients_still_eligible
from tests.harness.factories import make_team, set_integration


async def test_one_read_serves_every_claim_of_the_transaction_and_only_that_one(db, core_settings):
    team = await make_team(db, engineers=2)
    box = SecretBox(core_settings.secret_key)
    await set_integration(
        db,
        core_settings,
        team,
        IntegrationKind.teams,
        config={},
        secrets={"webhook_url": "https://t.example/x"},
    )
    people = [u.id for u in team.users]
    account = team.account.id

    async with DriverUnitOfWork(db) as uow:
        slack = await chat_integration(uow, account_id=account, kind=IntegrationKind.slack, box=box)
        first = await recipients_still_eligible(uow, account_id=account, user_ids=people)
        # Changed by someone else meanwhile (committed): this transaction's claims keep what was read.
        async with db.sessions() as session, session.begin():
            await session.execute(delete(Integration).where(Integration.account_id == account))
            await session.execute(update(User).where(User.id == team.users[1].id).values(is_active=False))
        teams = await chat_integration(uow, account_id=account, kind=IntegrationKind.teams, box=box)
        again = await recipients_still_eligible(uow, account_id=account, user_ids=reversed(people))

    assert slack is None
    assert teams is not None and teams.secrets == {"webhook_url": "https://t.example/x"}
    assert again == first and team.users[1].id in first

    # The next transaction reads afresh.
    async with DriverUnitOfWork(db) as uow:
        assert await chat_integration(uow, account_id=account, kind=IntegrationKind.teams, box=box) is None
        assert team.users[1].id not in await recipients_still_eligible(
            uow, account_id=account, user_ids=people
        )

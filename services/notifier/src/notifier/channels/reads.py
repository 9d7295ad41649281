"""What the channels' claims read, read once per transaction.

An escalation's email, Slack and Teams claims usually run in one shared transaction (`CommitGroup`),
and each reads the account's chat integration or the recipients' preferences. The first claim to ask
reads what all of them need (both chat integrations of the account; every recipient's eligibility,
address and preferences) and keeps it on the transaction (`DriverUnitOfWork.memo`), where the others
find it: one statement instead of two or three, with the answer the later statements would have had a
millisecond later in the same transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from flowpilot_shared.integrations import INTEGRATION_COLUMNS, LoadedIntegration, loaded_integration
from flowpilot_shared.models.integrations import IntegrationKind
from flowpilot_shared.security.crypto import SecretBox
from flowpilot_shared.unit_of_work import DriverUnitOfWork
from notifier.preferences.rules import Senior, eligible_seniors

CHAT_KINDS = [IntegrationKind.slack.value, IntegrationKind.teams.value]
LOAD_CHAT_INTEGRATIONS = (
    f"SELECT kind, {INTEGRATION_COLUMNS} FROM integrations WHERE account_id = $1 AND kind = ANY($2::text[])"
)


async def chat_integration(
    uow: DriverUnitOfWork, *, account_id: uuid.UUID, kind: IntegrationKind, box: SecretBox
) -> LoadedIntegration | None:
    """The account's chat integration of `kind`, decrypted, or None when not configured."""
    key = ("chat integrations", account_id)
    rows = uow.memo.get(key)
    if rows is None:
        rows = uow.memo[key] = {
            row["kind"]: row for row in await uow.conn.fetch(LOAD_CHAT_INTEGRATIONS, account_id, CHAT_KINDS)
        }
    return loaded_integration(rows.get(kind.value), kind=kind, box=box)


async def recipients_still_eligible(
    uow: DriverUnitOfWork, *, account_id: uuid.UUID, user_ids: Iterable[uuid.UUID]
) -> dict[uuid.UUID, Senior]:
    """Those of an event's recipients who may still be sent it, with their addresses and preferences."""
    ids = frozenset(user_ids)
    key = ("eligible seniors", account_id, ids)
    seniors = uow.memo.get(key)
    if seniors is None:
        seniors = uow.memo[key] = await eligible_seniors(uow.conn, account_id=account_id, user_ids=ids)
    return seniors

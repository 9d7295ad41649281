"""Reading and writing an account's integrations; secrets are sealed with SecretBox.

Storage format (one row per account and kind):
- psa:   provider in {connectwise, autotask, halopsa}; config {"base_url"}; secrets = the credentials object
- slack: config {"channel_id"}; secrets {"bot_token", "signing_secret"?} (the secret verifies Slack's clicks)
- teams: config {}; secrets {"webhook_url"} (a Workflows webhook URL carries its own signature)
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from flowpilot_shared.models.integrations import Integration, IntegrationKind
from flowpilot_shared.security.crypto import SecretBox


@dataclass(frozen=True)
class LoadedIntegration:
    """An integration with its secrets decrypted (in memory only; never log `secrets`)."""

    kind: IntegrationKind
    provider: str | None
    config: dict[str, Any]
    secrets: dict[str, Any]

    def __repr__(self) -> str:
        return f"LoadedIntegration(kind={self.kind!r}, provider={self.provider!r}, config={self.config!r})"


# The columns an integration is decoded from (`loaded_integration`), the config as JSON text: decoded
# here, whatever codecs the connection has. A statement of a service's own may select them beside
# other things (psa-sync takes its push lock in the same round trip).
INTEGRATION_COLUMNS = "provider, config::text AS config, secret_ciphertext"
LOAD_INTEGRATION = f"SELECT {INTEGRATION_COLUMNS} FROM integrations WHERE account_id = $1 AND kind = $2"


def loaded_integration(
    row: asyncpg.Record | None, *, kind: IntegrationKind, box: SecretBox
) -> LoadedIntegration | None:
    """The integration in `row` (its `INTEGRATION_COLUMNS`), decrypted; None when it holds none."""
    if row is None or row["secret_ciphertext"] is None:
        return None
    return LoadedIntegration(
        kind=kind,
        provider=row["provider"],
        config=json.loads(row["config"]),
        secrets=box.open(row["secret_ciphertext"]),
    )


async def load_integration(
    conn: asyncpg.Connection, *, account_id: uuid.UUID, kind: IntegrationKind, box: SecretBox
) -> LoadedIntegration | None:
    """The account's integration of `kind`, decrypted, or None when not configured.

    On a driver-level connection (`Database.driver`, or `driver_connection` of a session's
    transaction): it runs for every escalation on each chat channel.
    """
    row = await conn.fetchrow(LOAD_INTEGRATION, account_id, kind.value)
    return loaded_integration(row, kind=kind, box=box)


async def save_integration(
    session: AsyncSession,
    *,
    account_id: uuid.UUID,
    kind: IntegrationKind,
    provider: str | None,
    config: dict[str, Any],
    secrets: dict[str, Any],
    box: SecretBox,
) -> None:
    """Create or replace the account's integration of `kind` (secrets sealed before they are stored)."""
    values = {
        "provider": provider,
        "config": config,
        "secret_ciphertext": box.seal(secrets),
    }
    await session.execute(
        insert(Integration)
        .values(id=uuid.uuid4(), account_id=account_id, kind=kind, **values)
        .on_conflict_do_update(index_elements=["account_id", "kind"], set_=values)
    )

"""Open streams keep their access only while their user may still subscribe.

Access is checked when a stream connects; a user deactivated, deleted or demoted to viewer
afterwards (in handoff-api, on any replica) must stop receiving escalations. Each notifier replica
re-checks the users of its open streams every `sse_access_recheck_seconds`, all of them in one
query, and ends the streams of users who lost access (their reconnect then answers 401 or 403).
A periodic re-check rather than an event: it needs nothing from the broker or the API, catches
changes made any way at all (an admin's SQL included), and costs one indexed query per interval
whatever the number of streams.
"""

from __future__ import annotations

import asyncio

import structlog

from flowpilot_shared.closing import cancel_quietly
from flowpilot_shared.db import Database
from flowpilot_shared.models.accounts import ENGINEER_OR_ADMIN
from notifier.stream.hub import StreamHub

log = structlog.get_logger(__name__)

REVOKED = "access_revoked"
# The users (of those asked about) who may still hold a stream: the rule `engineer_or_admin` applies.
ALLOWED_USERS_SQL = """
SELECT id, account_id FROM users
WHERE id = ANY($1::uuid[]) AND is_active AND deleted_at IS NULL AND role = ANY($2::text[])
"""
_ROLES = sorted(str(role) for role in ENGINEER_OR_ADMIN)


async def revoke_lost_access(hub: StreamHub, db: Database) -> int:
    """End the streams of users who may no longer subscribe; returns how many streams ended."""
    holders = hub.stream_holders()
    if not holders:
        return 0
    async with db.driver() as conn:
        rows = await conn.fetch(ALLOWED_USERS_SQL, list({user for user, _ in holders}), _ROLES)
    allowed = {(row["id"], row["account_id"]) for row in rows}
    revoked = holders - allowed
    ended = sum(hub.drop_user(user_id=user, account_id=account, reason=REVOKED) for user, account in revoked)
    if ended:
        log.info("streams ended: access revoked", streams=ended, users=len(revoked))
    return ended


class AccessWatch:
    """The replica's periodic re-check of its open streams' users."""

    def __init__(self, *, hub: StreamHub, db: Database, interval: float) -> None:
        self._hub = hub
        self._db = db
        self._interval = interval
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Re-check in the background until stopped."""
        self._task = asyncio.create_task(self._run(), name="stream-access-watch")

    async def stop(self) -> None:
        """Stop re-checking."""
        await cancel_quietly(self._task)
        self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await revoke_lost_access(self._hub, self._db)
            except Exception as exc:
                # A database blip must not end every stream: the next pass checks again.
                log.warning("stream access re-check failed", error=str(exc))

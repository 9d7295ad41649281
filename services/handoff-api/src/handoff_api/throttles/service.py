"""Attempt counters in PostgreSQL, so every API replica counts against the same limit.

One statement per check: each key's count goes up by one (starting again from 1 once its window
ended) and comes back; a count over the key's limit refuses the request before any password work.
The same statement sweeps a few long-expired keys, so the table holds only recent ones.
"""

from __future__ import annotations

from dataclasses import dataclass

from flowpilot_shared.db import Database

COUNT_SQL = """
WITH swept AS (
    DELETE FROM auth_throttles WHERE key IN (
        SELECT key FROM auth_throttles
        WHERE expires_at < now() - interval '1 minute' AND key <> ALL($1::text[])
        LIMIT 20 FOR UPDATE SKIP LOCKED
    )
)
INSERT INTO auth_throttles AS t (key, attempts, expires_at)
SELECT k, 1, now() + make_interval(secs => w) FROM unnest($1::text[], $2::float8[]) AS u(k, w)
ON CONFLICT (key) DO UPDATE SET
    attempts = CASE WHEN t.expires_at <= now() THEN 1 ELSE t.attempts + 1 END,
    expires_at = CASE WHEN t.expires_at <= now() THEN excluded.expires_at ELSE t.expires_at END
RETURNING key, attempts, extract(epoch FROM expires_at - now()) AS remaining
"""
# A successful sign-in: the email's count starts over; the address's counts one attempt fewer, so
# an address is limited by its failures (a busy office behind one NAT signs in all day).
SUCCESS_SQL = """
WITH forgotten AS (DELETE FROM auth_throttles WHERE key = $1)
UPDATE auth_throttles SET attempts = greatest(attempts - 1, 0) WHERE key = $2
"""


@dataclass(frozen=True)
class Limit:
    """At most `attempts` under `key` per `window_seconds` (0 attempts: no limit)."""

    key: str
    attempts: int
    window_seconds: float


class Throttled(Exception):
    """Over a limit; `retry_after` seconds until the window that refused it ends."""

    def __init__(self, retry_after: float) -> None:
        super().__init__(f"throttled for {retry_after:.0f}s")
        self.retry_after = retry_after


async def count_attempt(*, db: Database, limits: list[Limit]) -> None:
    """Count one attempt under every limit's key; `Throttled` when any is over its limit."""
    active = {limit.key: limit for limit in limits if limit.attempts > 0}
    if not active:
        return
    keys = sorted(active)  # one lock order for every statement: no deadlock between two
    async with db.driver() as conn:
        rows = await conn.fetch(COUNT_SQL, keys, [active[k].window_seconds for k in keys])
    waits = [float(r["remaining"]) for r in rows if r["attempts"] > active[r["key"]].attempts]
    if waits:
        raise Throttled(max(waits))


async def forget_success(*, db: Database, cleared_key: str, relieved_key: str) -> None:
    """After a success: `cleared_key` starts over, `relieved_key` counts one attempt fewer."""
    async with db.driver() as conn:
        await conn.execute(SUCCESS_SQL, cleared_key, relieved_key)


def login_limits(*, email: str, address: str, per_email: int, per_address: int, window: float) -> list[Limit]:
    """The sign-in limits: per email (guessing one account) and per client address (spraying many)."""
    return [
        Limit(key=f"login-email:{email.lower()}", attempts=per_email, window_seconds=window),
        Limit(key=f"login-address:{address}", attempts=per_address, window_seconds=window),
    ]


def signup_limits(*, address: str, per_address: int, window: float) -> list[Limit]:
    """The sign-up limit per client address."""
    return [Limit(key=f"signup-address:{address}", attempts=per_address, window_seconds=window)]

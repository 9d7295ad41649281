"""Slack user ids of the people a message mentions, found by email (`users.lookupByEmail`).

A mention is a courtesy, never a reason to hold the message: lookups share one short time budget
per message, run a few at a time, and whatever is not known by then (Slack slow, rate limited,
no such user) is simply not mentioned. Answers are cached per workspace token: found ids for an
hour, "no such user" for ten minutes; errors are not cached.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence

import aiohttp
import structlog
from cachetools import TTLCache
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

log = structlog.get_logger(__name__)

FOUND_TTL_SECONDS = 3600.0
MISSING_TTL_SECONDS = 600.0
CACHE_SIZE = 10_000
LOOKUPS_AT_ONCE = 4
NOT_FOUND = "users_not_found"


class SlackUserDirectory:
    """Email → Slack user id, per workspace (bot token), cached and bounded."""

    def __init__(self, *, budget_seconds: float, max_mentions: int) -> None:
        self.budget_seconds = budget_seconds
        self.max_mentions = max_mentions
        self._found: TTLCache[tuple[str, str], str] = TTLCache(CACHE_SIZE, FOUND_TTL_SECONDS)
        self._missing: TTLCache[tuple[str, str], bool] = TTLCache(CACHE_SIZE, MISSING_TTL_SECONDS)

    async def user_ids(self, client: AsyncWebClient, token: str, emails: Sequence[str]) -> list[str]:
        """The Slack ids of `emails` (in their order) known within the budget; the rest left out."""
        workspace = hashlib.sha256(token.encode()).hexdigest()[:16]
        wanted = list(dict.fromkeys(e.strip().lower() for e in emails if e.strip()))[: self.max_mentions]
        unknown = [
            e for e in wanted if (workspace, e) not in self._found and (workspace, e) not in self._missing
        ]
        if unknown:
            slots = asyncio.Semaphore(LOOKUPS_AT_ONCE)
            lookups = [asyncio.ensure_future(self._lookup(client, workspace, e, slots)) for e in unknown]
            _, late = await asyncio.wait(lookups, timeout=self.budget_seconds)
            for task in late:
                task.cancel()
            if late:
                log.info("slack mention lookups cut short", late=len(late), asked=len(unknown))
        return [self._found[(workspace, e)] for e in wanted if (workspace, e) in self._found]

    async def _lookup(
        self, client: AsyncWebClient, workspace: str, email: str, slots: asyncio.Semaphore
    ) -> None:
        async with slots:
            try:
                response = await client.users_lookupByEmail(email=email)
            except SlackApiError as exc:
                error = exc.response.get("error") if isinstance(exc.response.data, dict) else None
                if error == NOT_FOUND:
                    self._missing[(workspace, email)] = True
                else:
                    log.info("slack user lookup failed", error=error or str(exc))
                return
            except (SlackClientError, aiohttp.ClientError, OSError, TimeoutError) as exc:
                log.info("slack user lookup failed", error=f"{type(exc).__name__}: {exc}")
                return
        user = response.get("user") or {}
        if isinstance(user, dict) and user.get("id"):
            self._found[(workspace, email)] = str(user["id"])

"""The Slack calls a click leads to (users.info, the reply on `response_url`), retried within bounds."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable, Callable
from typing import TypeVar

import aiohttp
from cachetools import TTLCache
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential

from flowpilot_shared.security.urls import resolve_and_check
from handoff_api.settings import ApiSettings

T = TypeVar("T")
# Slack `error` codes worth another try; anything else (user_not_found, invalid_auth...) is final.
TRANSIENT_ERRORS = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
# Slack user → profile email, as users.info last said: a senior clicking one escalation after another
# is looked up once a few minutes (users.info allows ~100 calls a minute per workspace). Only the
# Slack side is cached; who that email is in FlowPilot (active? role?) is read at every click.
IDENTITY_TTL_SECONDS = 300.0
IDENTITY_CACHE_SIZE = 10_000


class ReplyRefused(Exception):
    """`response_url` answered with an error status; `transient` when trying again can help."""

    def __init__(self, status: int) -> None:
        super().__init__(f"response_url answered HTTP {status}")
        self.transient = status == 429 or status >= 500


def transient(exc: BaseException) -> bool:
    """Whether a failed Slack call is worth another attempt."""
    if isinstance(exc, SlackApiError):
        data = exc.response.data if isinstance(exc.response.data, dict) else {}
        return (
            exc.response.status_code == 429
            or exc.response.status_code >= 500
            or (data.get("error") in TRANSIENT_ERRORS)
        )
    if isinstance(exc, ReplyRefused):
        return exc.transient
    return isinstance(exc, SlackClientError | aiohttp.ClientError | OSError | TimeoutError)


class SlackCalls:
    """slack-sdk clients sharing one HTTP session per process (no connection opened per call)."""

    def __init__(self, settings: ApiSettings) -> None:
        self.settings = settings
        self._http: aiohttp.ClientSession | None = None
        self.slots = asyncio.Semaphore(settings.slack_pickup_concurrency)
        self._emails: TTLCache[tuple[str, str], str] = TTLCache(IDENTITY_CACHE_SIZE, IDENTITY_TTL_SECONDS)

    @staticmethod
    def _workspace(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()[:16]

    def known_email(self, token: str, slack_user_id: str) -> str | None:
        """The email users.info gave for this Slack user lately, if any."""
        return self._emails.get((self._workspace(token), slack_user_id))

    def remember_email(self, token: str, slack_user_id: str, email: str) -> None:
        """Keep what users.info said for a few minutes."""
        self._emails[(self._workspace(token), slack_user_id)] = email

    def _session(self) -> aiohttp.ClientSession:
        if self._http is None or self._http.closed:
            timeout = aiohttp.ClientTimeout(total=self.settings.slack_timeout_seconds)
            self._http = aiohttp.ClientSession(timeout=timeout)
        return self._http

    async def close(self) -> None:
        """Close the pooled connections."""
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def retried(self, call: Callable[[], Awaitable[T]]) -> T:
        """Run `call`, again after a transient failure, at most `slack_call_attempts` times in all."""
        async for attempt in AsyncRetrying(
            stop=stop_after_attempt(self.settings.slack_call_attempts),
            wait=wait_exponential(multiplier=0.2, max=2.0),
            retry=retry_if_exception(transient),
            reraise=True,
        ):
            with attempt:
                return await call()
        raise AssertionError("unreachable: tenacity re-raises the last failure")

    def web(self, token: str) -> AsyncWebClient:
        """A Web API client for the account's bot token, against FLOWPILOT_SLACK_API_URL."""
        return AsyncWebClient(
            token=token,
            base_url=self.settings.slack_api_url,
            session=self._session(),
            timeout=int(max(1, self.settings.slack_timeout_seconds)),
        )

    async def reply(self, response_url: str, text: str) -> None:
        """An ephemeral message to the person who clicked (only they see it; the original stays)."""
        # Slack's own URL in a signed request; still held to the outbound rules every integration URL is.
        await resolve_and_check(response_url, allow_loopback=self.settings.allow_loopback_integrations)
        webhook = AsyncWebhookClient(url=response_url, session=self._session())

        async def send() -> None:
            response = await webhook.send(text=text, response_type="ephemeral", replace_original=False)
            if response.status_code >= 400:
                raise ReplyRefused(response.status_code)

        await self.retried(send)

"""Slack with slack-sdk: a Block Kit message per escalation, edited in place when someone claims it."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from typing import Any

import aiohttp
import asyncpg
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from flowpilot_shared.events import AnyEvent, HandoffClaimed, HandoffEscalated
from flowpilot_shared.models.integrations import IntegrationKind
from flowpilot_shared.models.notifications import DeliveryChannel, DeliveryStatus
from flowpilot_shared.retry import parse_retry_after
from flowpilot_shared.security.markup import slack_text as esc
from notifier.channels.base import (
    NO_RECIPIENT,
    Channel,
    Connect,
    PermanentSendError,
    Sent,
    Target,
    TransientSendError,
    pickup_link,
    steps_duration,
)
from notifier.channels.slack_users import SlackUserDirectory
from notifier.preferences.rules import mentionable_emails

# Slack `error` codes worth another try; everything else (invalid_auth, channel_not_found...) is final.
TRANSIENT_ERRORS = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
UNSETTLED = (DeliveryStatus.pending, DeliveryStatus.retrying)
# A claim delivered with its escalation can be looked at a moment before the escalation's row is
# inserted: a missing row is waited for this long (a row being posted, until the channel's deadline).
MISSING_ROW_GRACE_SECONDS = 5.0
# The Slack delivery of the escalation a claim updates (its external_id is "channel:ts").
ESCALATION_MESSAGE = """
SELECT status, external_id FROM deliveries
WHERE account_id = $1 AND handoff_id = $2 AND channel = 'slack' AND event_type = 'handoff.escalated'
ORDER BY created_at DESC LIMIT 1
"""


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def clip_escaped(text: str, limit: int) -> str:
    """`esc(text)` within `limit` characters, shortened before escaping so no entity is cut in two."""
    keep = limit
    while len(escaped := esc(_clip(text, keep))) > limit:
        keep -= len(escaped) - limit
    return escaped


def escalation_message(
    event: HandoffEscalated, link: str, *, interactive: bool = False, mentions: Sequence[str] = ()
) -> tuple[str, list[dict[str, Any]]]:
    """Fallback text and Block Kit blocks of the escalation message (with the Pick up button).

    `interactive`: the account's Slack app posts clicks back (a signing secret is configured), so
    Pick up claims in place; otherwise it is a link. `mentions`: Slack user ids to mention.
    """
    data = event.data
    title = data.session.title
    # The fallback `text` is mrkdwn too (notifications, clients without blocks): escaped like the rest.
    fallback = f"Escalation: {esc(title)} ({esc(data.escalator.name)}): pick up at {link}"
    lines = [
        f"*{esc(title)}*",
        f"*Client:* {esc(data.session.client_name or '(no client)')}",
        f"*Reason:* {esc(_clip(data.reason, 1500))}",
        f"*Escalated by:* {esc(data.escalator.name)}",
        f"*Steps tried:* {steps_duration(event)}",
    ]
    blocks: list[dict[str, Any]] = [
        # plain_text too: Slack decodes &amp; &lt; &gt; in every text field, so it shows as typed.
        {"type": "header", "text": {"type": "plain_text", "text": clip_escaped(f"Escalation: {title}", 150)}},
        {"type": "section", "text": {"type": "mrkdwn", "text": _clip("\n".join(lines), 3000)}},
        {
            "type": "actions",
            "block_id": "pickup",
            "elements": [
                {
                    "type": "button",
                    "action_id": "pickup",
                    "style": "primary",
                    "text": {"type": "plain_text", "text": "Pick up"},
                    "url": link,
                }
            ],
        },
    ]
    if interactive:
        blocks[-1]["elements"] = pickup_buttons(event, link)
    if mentions:
        blocks.insert(-1, mention_block(mentions))
        fallback = f"{mention_text(mentions)} {fallback}"
    return _clip(fallback, 3000), blocks


def pickup_buttons(event: HandoffEscalated, link: str) -> list[dict[str, Any]]:
    """Pick up as an interactive button (its click is posted to the interactions endpoint), and the link."""
    return [
        {
            "type": "button",
            "action_id": "pickup",
            "style": "primary",
            "text": {"type": "plain_text", "text": "Pick up"},
            "value": str(event.data.handoff_id),
        },
        {
            "type": "button",
            "action_id": "open",
            "text": {"type": "plain_text", "text": "Open in FlowPilot"},
            "url": link,
            # Slack posts link clicks too: the handoff id lets the endpoint verify and ignore them.
            "value": str(event.data.handoff_id),
        },
    ]


def mention_text(user_ids: Sequence[str]) -> str:
    """Slack mentions of these user ids."""
    return " ".join(f"<@{user_id}>" for user_id in user_ids)


def mention_block(user_ids: Sequence[str]) -> dict[str, Any]:
    """A line mentioning the people asked to look (a mention notifies them in Slack)."""
    return {
        "type": "section",
        "text": {"type": "mrkdwn", "text": _clip(f"*For:* {mention_text(user_ids)}", 3000)},
    }


def claimed_message(event: HandoffClaimed) -> tuple[str, list[dict[str, Any]]]:
    """Fallback text and blocks replacing the escalation message once someone picked it up."""
    data = event.data
    text = f"{esc(data.claimer.name)} picked this up: {esc(data.session_title)}"
    body = (
        f"*{esc(data.session_title)}*\n:white_check_mark: *{esc(data.claimer.name)}* picked this up "
        f"(escalated by {esc(data.escalator.name)})."
    )
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": _clip(body, 3000)}}
    ]
    return _clip(text, 3000), blocks


def classify_slack_error(exc: Exception) -> Exception:
    """429 (with Retry-After), 5xx, Slack's own transient codes and connection errors are transient."""
    if isinstance(exc, SlackApiError):
        response = exc.response
        status = response.status_code
        data = response.data if isinstance(response.data, dict) else {}
        error = str(data.get("error") or f"HTTP {status}")
        if status == 429 or error == "ratelimited":
            delay = parse_retry_after(response.headers.get("Retry-After") if response.headers else None)
            return TransientSendError(f"Slack rate limited ({error})", retry_after=delay)
        if status >= 500 or error in TRANSIENT_ERRORS:
            return TransientSendError(f"Slack error {error} (HTTP {status})")
        return PermanentSendError(f"Slack error {error} (HTTP {status})")
    return TransientSendError(f"Slack unreachable: {type(exc).__name__}: {exc}")


class SlackChannel(Channel):
    """One message per escalation in the account's channel; `chat.update` of it on claim."""

    name = DeliveryChannel.slack

    async def targets(self, event: AnyEvent, conn: asyncpg.Connection) -> list[Target]:
        """The account's channel, or a `skipped` record when Slack is not configured."""
        if not isinstance(event, HandoffEscalated | HandoffClaimed):
            return []
        integration = await self.chat_integration(event, conn, IntegrationKind.slack)
        if integration is None:
            return [Target(recipient=NO_RECIPIENT, skip_reason="Slack is not configured")]
        channel_id = str(integration.config.get("channel_id") or "")
        token = str(integration.secrets.get("bot_token") or "")
        if not channel_id or not token:
            return [Target(recipient=channel_id or NO_RECIPIENT, skip_reason="Slack integration incomplete")]
        params: dict[str, Any] = {"channel": channel_id, "token": token}
        if isinstance(event, HandoffEscalated):
            params["interactive"] = bool(integration.secrets.get("signing_secret"))
            people = [r.id for r in event.data.recipients if r.id != event.data.escalator.id]
            params["mention_emails"] = await mentionable_emails(
                conn, account_id=event.account_id, user_ids=people
            )
        if isinstance(event, HandoffClaimed):
            original = await conn.fetchrow(ESCALATION_MESSAGE, event.account_id, event.data.handoff_id)
            if original is None or original["status"] != DeliveryStatus.sent or not original["external_id"]:
                state = original["status"] if original is not None else "missing"
                reason = f"no Slack message of the escalation to update (its delivery is {state})"
                return [Target(recipient=channel_id, skip_reason=reason)]
            posted_channel, _, ts = original["external_id"].partition(":")
            params.update(channel=posted_channel, ts=ts)
        return [Target(recipient=channel_id, params=params)]

    async def before_targets(self, event: AnyEvent, connect: Connect) -> None:
        """A claim waits (bounded) while the escalation's message is being posted; `targets` reads it."""
        if isinstance(event, HandoffClaimed):
            async with connect() as conn:
                if await self.chat_integration(event, conn, IntegrationKind.slack) is None:
                    return
            await self._escalation_message(connect, event)

    async def _escalation_message(self, connect: Connect, event: HandoffClaimed) -> asyncpg.Record | None:
        """The escalation's Slack delivery (status, external_id), waiting (bounded) while it is being posted.

        Each look takes a pooled connection for its one statement: none is held across the wait.
        """
        started = time.monotonic()
        deadline = started + self.settings.channel_deadline_seconds
        while True:
            async with connect() as conn:
                row = await conn.fetchrow(ESCALATION_MESSAGE, event.account_id, event.data.handoff_id)
            now = time.monotonic()
            if row is None and now > started + MISSING_ROW_GRACE_SECONDS:
                return None  # the escalation never went to Slack (configured since, or skipped)
            if row is not None and (row["status"] not in UNSETTLED or now > deadline):
                return row
            await self.pause(0.5)

    _http: aiohttp.ClientSession | None = None
    _directory: SlackUserDirectory | None = None

    @property
    def directory(self) -> SlackUserDirectory:
        """Slack user ids by email, for mentions (cached across messages)."""
        if self._directory is None:
            self._directory = SlackUserDirectory(
                budget_seconds=self.settings.slack_mention_budget_seconds,
                max_mentions=self.settings.slack_max_mentions,
            )
        return self._directory

    async def close(self) -> None:
        """Close the pooled HTTP connections to the Web API."""
        if self._http is not None:
            await self._http.close()
            self._http = None

    def client(self, token: str) -> AsyncWebClient:
        """A Web API client against FLOWPILOT_SLACK_API_URL that waits out one 429 by itself.

        Every client (one per account's token) shares one HTTP session: without it the SDK opens
        a session, and a connection, for every call.
        """
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession()
        client = AsyncWebClient(
            session=self._http,
            token=token,
            base_url=self.settings.slack_api_url,
            timeout=int(self.settings.slack_timeout_seconds),
        )
        client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=1))
        return client

    async def send(self, event: AnyEvent, target: Target, *, delivery_id: uuid.UUID) -> Sent:
        """`chat.postMessage` for an escalation, `chat.update` of that message for a claim."""
        client = self.client(target.params["token"])
        try:
            if isinstance(event, HandoffEscalated):
                mentions = await self.directory.user_ids(
                    client, target.params["token"], target.params.get("mention_emails", ())
                )
                text, blocks = escalation_message(
                    event,
                    pickup_link(self.settings, event.session_id),
                    interactive=bool(target.params.get("interactive")),
                    mentions=mentions,
                )
                response = await client.chat_postMessage(
                    channel=target.params["channel"], text=text, blocks=blocks, unfurl_links=False
                )
            elif isinstance(event, HandoffClaimed):
                text, blocks = claimed_message(event)
                response = await client.chat_update(
                    channel=target.params["channel"], ts=target.params["ts"], text=text, blocks=blocks
                )
            else:
                raise PermanentSendError(f"Slack does not handle {event.type}")
        except (SlackApiError, SlackClientError, aiohttp.ClientError, TimeoutError) as exc:
            raise classify_slack_error(exc) from exc
        return Sent(external_id=f"{response.get('channel')}:{response.get('ts')}")

"""Slack with slack-sdk: a Block Kit message per escalation, edited in place when someone claims it."""

from __future__ import annotations

import time
import uuid
from typing import Any

import aiohttp
import asyncpg
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from flowpilot_shared.durations import humanize_wait
from flowpilot_shared.events import (
    AnyEvent,
    HandoffClaimed,
    HandoffEscalated,
    HandoffReescalated,
    HandoffReleased,
)
from flowpilot_shared.models.integrations import IntegrationKind
from flowpilot_shared.models.notifications import DeliveryChannel, DeliveryStatus
from flowpilot_shared.retry import parse_retry_after
from notifier.channels.base import (
    NO_RECIPIENT,
    Channel,
    PermanentSendError,
    Sent,
    Target,
    TransientSendError,
    pickup_link,
    steps_duration,
)
from notifier.channels.render import urgency_label, urgency_marker

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


def esc(text: str) -> str:
    """Escape user text for Slack mrkdwn (&, <, > are control characters there)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def escalation_message(event: HandoffEscalated, link: str) -> tuple[str, list[dict[str, Any]]]:
    """Fallback text and Block Kit blocks of the escalation message (with the Pick up button)."""
    data = event.data
    title = data.session.title
    marker = urgency_marker(data.urgency)
    fallback = f"{marker}Escalation: {title} ({data.escalator.name}): pick up at {link}"
    lines = [
        f"*{esc(title)}*",
        f"*Client:* {esc(data.session.client_name or '(no client)')}",
        f"*Reason:* {esc(_clip(data.reason, 1500))}",
        f"*Urgency:* {urgency_label(data.urgency)}",
        f"*Escalated by:* {esc(data.escalator.name)}",
        f"*Steps tried:* {steps_duration(event)}",
    ]
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": _clip(f"{marker}Escalation: {title}", 150)},
        },
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
    return _clip(fallback, 3000), blocks


def claimed_message(event: HandoffClaimed) -> tuple[str, list[dict[str, Any]]]:
    """Fallback text and blocks replacing the escalation message once someone picked it up."""
    data = event.data
    text = f"{data.claimer.name} picked this up: {data.session_title}"
    body = (
        f"*{esc(data.session_title)}*\n:white_check_mark: *{esc(data.claimer.name)}* picked this up "
        f"(escalated by {esc(data.escalator.name)})."
    )
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": _clip(body, 3000)}}
    ]
    return _clip(text, 3000), blocks


def _pickup_actions(link: str) -> dict[str, Any]:
    return {
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
    }


def round_message(event: HandoffReescalated, link: str) -> tuple[str, list[dict[str, Any]]]:
    """A round's reminder (posted in the escalation's thread and to the channel), naming the round."""
    d = event.data
    headline = (
        f"{urgency_marker(d.urgency)}Still unclaimed after {humanize_wait(d.waited_seconds)} "
        f"(reminder {d.round} of {d.max_rounds})"
    )
    body = (
        f":hourglass: *{esc(headline)}*\n*{esc(d.session_title)}*\n*Reason:* {esc(_clip(d.reason, 1500))}\n"
        f"*Urgency:* {urgency_label(d.urgency)}\n*Escalated by:* {esc(d.escalator.name)}"
    )
    blocks = [
        {"type": "section", "text": {"type": "mrkdwn", "text": _clip(body, 3000)}},
        _pickup_actions(link),
    ]
    return _clip(f"{headline}: {d.session_title}: pick up at {link}", 3000), blocks


def released_message(event: HandoffReleased, link: str) -> tuple[str, list[dict[str, Any]]]:
    """The escalation message once its claimer handed it back: in the queue again, Pick up again."""
    r = event.data
    marker = urgency_marker(r.urgency)
    body = (
        f"*{esc(r.session_title)}*\n*Reason:* {esc(_clip(r.reason, 1500))}\n*Urgency:* {urgency_label(r.urgency)}\n"
        f"*Escalated by:* {esc(r.escalator.name)}\n:leftwards_arrow_with_hook: *{esc(r.released_by.name)}* released "
        f"it (picked up by {esc(r.claimer.name)} before): back in the queue."
    )
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": _clip(f"{marker}Escalation: {r.session_title}", 150)},
        },
        {"type": "section", "text": {"type": "mrkdwn", "text": _clip(body, 3000)}},
        _pickup_actions(link),
    ]
    text = f"{r.released_by.name} released {r.session_title}: back in the queue, pick up at {link}"
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
        if not isinstance(event, HandoffEscalated | HandoffClaimed | HandoffReescalated | HandoffReleased):
            return []
        if isinstance(event, HandoffReescalated) and event.data.final:
            return []  # the owners' final notice is a bell row and an email, not a channel post
        integration = await self.chat_integration(event, conn, IntegrationKind.slack)
        if integration is None:
            return [Target(recipient=NO_RECIPIENT, skip_reason="Slack is not configured")]
        channel_id = str(integration.config.get("channel_id") or "")
        token = str(integration.secrets.get("bot_token") or "")
        if not channel_id or not token:
            return [Target(recipient=channel_id or NO_RECIPIENT, skip_reason="Slack integration incomplete")]
        params: dict[str, Any] = {"channel": channel_id, "token": token}
        if isinstance(event, HandoffClaimed | HandoffReescalated | HandoffReleased):
            original = await self._escalation_message(conn, event)
            if original is not None and original["status"] == DeliveryStatus.sent and original["external_id"]:
                posted_channel, _, ts = original["external_id"].partition(":")
                params.update(channel=posted_channel, ts=ts)
            elif not isinstance(event, HandoffReescalated):  # a reminder is posted on its own instead
                state = original["status"] if original is not None else "missing"
                reason = f"no Slack message of the escalation to update (its delivery is {state})"
                return [Target(recipient=channel_id, skip_reason=reason)]
        return [Target(recipient=channel_id, params=params)]

    async def _escalation_message(
        self, conn: asyncpg.Connection, event: HandoffClaimed | HandoffReescalated | HandoffReleased
    ) -> asyncpg.Record | None:
        """The escalation's Slack delivery (status, external_id), waiting (bounded) while it is being posted."""
        started = time.monotonic()
        deadline = started + self.settings.channel_deadline_seconds
        while True:
            row = await conn.fetchrow(ESCALATION_MESSAGE, event.account_id, event.data.handoff_id)
            now = time.monotonic()
            if row is None and now > started + MISSING_ROW_GRACE_SECONDS:
                return None  # the escalation never went to Slack (configured since, or skipped)
            if row is not None and (row["status"] not in UNSETTLED or now > deadline):
                return row
            await self.pause(0.5)

    _http: aiohttp.ClientSession | None = None

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
        """`chat.postMessage` for an escalation (a thread reply sent to the channel too for a round),
        `chat.update` of that message for a claim or a release."""
        client = self.client(target.params["token"])
        try:
            if isinstance(event, HandoffEscalated):
                text, blocks = escalation_message(event, pickup_link(self.settings, event.session_id))
                response = await client.chat_postMessage(
                    channel=target.params["channel"], text=text, blocks=blocks, unfurl_links=False
                )
            elif isinstance(event, HandoffClaimed | HandoffReleased):
                if isinstance(event, HandoffClaimed):
                    text, blocks = claimed_message(event)
                else:
                    text, blocks = released_message(event, pickup_link(self.settings, event.session_id))
                response = await client.chat_update(
                    channel=target.params["channel"], ts=target.params["ts"], text=text, blocks=blocks
                )
            elif isinstance(event, HandoffReescalated):
                text, blocks = round_message(event, pickup_link(self.settings, event.session_id))
                thread = (
                    {"thread_ts": target.params["ts"], "reply_broadcast": True}
                    if "ts" in target.params
                    else {}
                )
                response = await client.chat_postMessage(
                    channel=target.params["channel"], text=text, blocks=blocks, unfurl_links=False, **thread
                )
            else:
                raise PermanentSendError(f"Slack does not handle {event.type}")
        except (SlackApiError, SlackClientError, aiohttp.ClientError, TimeoutError) as exc:
            raise classify_slack_error(exc) from exc
        return Sent(external_id=f"{response.get('channel')}:{response.get('ts')}")

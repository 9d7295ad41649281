"""Slack with slack-sdk: a Block Kit message per escalation (`slack_messages`), a reply in its thread
for each reminder round, and the message edited in place when someone claims or releases it."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

import aiohttp
import asyncpg
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from flowpilot_shared.errors import PermanentError, TransientError
from flowpilot_shared.events import (
    AnyEvent,
    HandoffClaimed,
    HandoffEscalated,
    HandoffReescalated,
    HandoffReleased,
    event_type,
)
from flowpilot_shared.integrations import load_integration
from flowpilot_shared.models.integrations import IntegrationKind
from flowpilot_shared.models.notifications import (
    NO_RECIPIENT,
    NOT_CONFIGURED,
    DeliveryChannel,
    DeliveryStatus,
)
from flowpilot_shared.retry import parse_retry_after
from flowpilot_shared.unit_of_work import DriverUnitOfWork
from notifier.channels.base import (
    Channel,
    Connect,
    Sent,
    Target,
    pickup_link,
)
from notifier.channels.reads import recipients_still_eligible
from notifier.channels.slack_messages import (
    claimed_message,
    escalation_message,
    released_message,
    round_message,
)
from notifier.channels.slack_posts import earlier_post, post_metadata, posted_message
from notifier.channels.slack_users import SlackUserDirectory
from notifier.preferences.rules import is_urgent, mentionable_emails

# Slack `error` codes worth another try; everything else (invalid_auth, channel_not_found...) is final.
TRANSIENT_ERRORS = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)
UNSETTLED = (DeliveryStatus.pending, DeliveryStatus.retrying)
# A follow-up delivered with its escalation can be looked at a moment before the escalation's row is
# inserted: a missing row is waited for this long (a row being posted, until the channel's deadline).
MISSING_ROW_GRACE_SECONDS = 5.0
# The Slack delivery of the escalation a follow-up refers to (its external_id is "channel:ts").
ESCALATION_MESSAGE = """
SELECT status, external_id FROM deliveries
WHERE account_id = $1 AND handoff_id = $2 AND channel = 'slack' AND event_type = $3
ORDER BY created_at DESC LIMIT 1
"""
SlackEvent = HandoffEscalated | HandoffClaimed | HandoffReescalated | HandoffReleased
ESCALATED = event_type(HandoffEscalated)
# Events about an escalation already posted: they edit its message or reply in its thread.
FollowUp = HandoffClaimed | HandoffReescalated | HandoffReleased


def classify_slack_error(exc: Exception) -> Exception:
    """429 (with Retry-After), 5xx, Slack's own transient codes and connection errors are transient."""
    if isinstance(exc, SlackApiError):
        response = exc.response
        status = response.status_code
        data = response.data if isinstance(response.data, dict) else {}
        error = str(data.get("error") or f"HTTP {status}")
        if status == 429 or error == "ratelimited":
            delay = parse_retry_after(response.headers.get("Retry-After") if response.headers else None)
            return TransientError(f"Slack rate limited ({error})", retry_after=delay)
        if status >= 500 or error in TRANSIENT_ERRORS:
            return TransientError(f"Slack error {error} (HTTP {status})")
        return PermanentError(f"Slack error {error} (HTTP {status})")
    return TransientError(f"Slack unreachable: {type(exc).__name__}: {exc}")


class SlackChannel(Channel):
    """One message per escalation in the account's channel; its follow-ups edit it or reply to it."""

    name = DeliveryChannel.slack
    finds_cut_off_sends = True

    async def targets(self, event: AnyEvent, uow: DriverUnitOfWork) -> list[Target]:
        """The account's channel, or a `skipped` record when Slack is not configured."""
        if not isinstance(event, SlackEvent):
            return []
        if isinstance(event, HandoffReescalated) and event.data.final:
            return []  # the owners' final notice is a bell row and an email, not a channel post
        integration = await self.chat_integration(event, uow, IntegrationKind.slack)
        if integration is None:
            return [Target(recipient=NO_RECIPIENT, skip_reason=NOT_CONFIGURED[self.name.value])]
        channel_id = str(integration.config.get("channel_id") or "")
        token = str(integration.secrets.get("bot_token") or "")
        if not channel_id or not token:
            return [Target(recipient=channel_id or NO_RECIPIENT, skip_reason="Slack integration incomplete")]
        params: dict[str, Any] = {
            "channel": channel_id,
            "token": token,
            "interactive": bool(integration.secrets.get("signing_secret")),
        }
        if isinstance(event, HandoffEscalated | HandoffReescalated):
            # Read for every recipient, as the email's claim reads them: one read serves both.
            seniors = await recipients_still_eligible(
                uow, account_id=event.account_id, user_ids=[r.id for r in event.data.recipients]
            )
            params["mention_emails"] = mentionable_emails(
                seniors,
                user_ids=[r.id for r in event.data.recipients if r.id != event.data.escalator.id],
                now=datetime.now(UTC),
                urgent=is_urgent(event),
            )
        if isinstance(event, FollowUp):
            # `before_targets` waited (without a connection) while the escalation was being posted.
            original = await uow.conn.fetchrow(
                ESCALATION_MESSAGE, event.account_id, event.data.handoff_id, ESCALATED
            )
            if original is not None and original["status"] == DeliveryStatus.sent and original["external_id"]:
                posted_channel, _, ts = original["external_id"].partition(":")
                params.update(channel=posted_channel, ts=ts)
            elif not isinstance(event, HandoffReescalated):  # a reminder is posted on its own instead
                state = original["status"] if original is not None else "missing"
                reason = f"no Slack message of the escalation to update (its delivery is {state})"
                return [Target(recipient=channel_id, skip_reason=reason)]
        return [Target(recipient=channel_id, params=params)]

    async def before_targets(self, event: AnyEvent, connect: Connect) -> None:
        """A follow-up waits (bounded) while the escalation's message is being posted; `targets` reads it."""
        if isinstance(event, FollowUp):
            async with connect() as conn:
                slack = await load_integration(
                    conn, account_id=event.account_id, kind=IntegrationKind.slack, box=self._box
                )
                if slack is None:
                    return
            await self._escalation_message(connect, event)

    async def _escalation_message(self, connect: Connect, event: FollowUp) -> asyncpg.Record | None:
        """The escalation's Slack delivery (status, external_id), waiting (bounded) while it is being posted.

        Each look takes a pooled connection for its one statement: none is held across the wait.
        """
        started = time.monotonic()
        deadline = started + self.settings.channel_deadline_seconds
        while True:
            async with connect() as conn:
                row = await conn.fetchrow(
                    ESCALATION_MESSAGE, event.account_id, event.data.handoff_id, ESCALATED
                )
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

    async def find_cut_off_send(self, event: AnyEvent, target: Target) -> Sent | None:
        """A post cut off by a crash is looked for in the channel's history (the client's error
        when it cannot be read); an edit is simply made again (making it twice changes nothing)."""
        if not isinstance(event, HandoffEscalated | HandoffReescalated):
            return None
        channel = target.params["channel"]
        ts = await posted_message(self.client(target.params["token"]), channel, event)
        return None if ts is None else Sent(external_id=f"{channel}:{ts}")

    async def send(
        self, event: AnyEvent, target: Target, *, delivery_id: uuid.UUID, attempt: int = 1
    ) -> Sent:
        """`chat.postMessage` for an escalation (a thread reply sent to the channel too for a round),
        `chat.update` of that message for a claim or a release. A retried post first looks for the
        message an earlier attempt may have left (`slack_posts`)."""
        params = target.params
        client = self.client(params["token"])
        interactive = bool(params.get("interactive"))
        try:
            if isinstance(event, HandoffEscalated | HandoffReescalated):
                earlier = await earlier_post(client, params["channel"], event) if attempt > 1 else None
                if earlier is not None:
                    return Sent(external_id=f"{params['channel']}:{earlier}")
                mentions = await self.directory.user_ids(
                    client, params["token"], params.get("mention_emails", ())
                )
                link = pickup_link(self.settings, event.session_id)
                if isinstance(event, HandoffEscalated):
                    text, blocks = escalation_message(event, link, interactive=interactive, mentions=mentions)
                    thread: dict[str, Any] = {}
                else:
                    text, blocks = round_message(event, link, interactive=interactive, mentions=mentions)
                    thread = {"thread_ts": params["ts"], "reply_broadcast": True} if "ts" in params else {}
                response = await client.chat_postMessage(
                    channel=params["channel"],
                    text=text,
                    blocks=blocks,
                    unfurl_links=False,
                    metadata=post_metadata(event),
                    **thread,
                )
            elif isinstance(event, HandoffClaimed | HandoffReleased):
                if isinstance(event, HandoffClaimed):
                    text, blocks = claimed_message(event)
                else:
                    link = pickup_link(self.settings, event.session_id)
                    text, blocks = released_message(event, link, interactive=interactive)
                response = await client.chat_update(
                    channel=params["channel"], ts=params["ts"], text=text, blocks=blocks
                )
            else:
                raise PermanentError(f"Slack does not handle {event.type}")
        except (SlackApiError, SlackClientError, aiohttp.ClientError, TimeoutError) as exc:
            raise classify_slack_error(exc) from exc
        return Sent(external_id=f"{response.get('channel')}:{response.get('ts')}")

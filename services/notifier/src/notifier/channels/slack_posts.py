"""A retried Slack post first looks for the message an earlier attempt may have left.

Slack has no idempotency key for `chat.postMessage`: when an attempt times out, or its connection
drops, after Slack took the message, a plain retry posts it again, and the channel shows the
escalation twice (a claim then updates only one of them). Each post carries its event's id in the
message's metadata; a retry reads the channel's recent history (`conversations.history`: scope
`channels:history`, `groups:history` for a private channel) and records the message it finds instead
of posting. Without the scope, or when the read fails, the retry posts as before. A post cut off by
a crash is resent only once the history shows it did not get through (`posted_message`).
"""

from __future__ import annotations

from typing import Any

import aiohttp
import structlog
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from flowpilot_shared.events import AnyEvent

log = structlog.get_logger(__name__)

POST_EVENT_TYPE = "flowpilot_post"
# History read from this long before the event: Slack's clock and ours need not agree.
LOOK_BACK_SECONDS = 600.0
# One page: a channel busier than this within the window gets the plain retry.
HISTORY_LIMIT = 200


def post_metadata(event: AnyEvent) -> dict[str, Any]:
    """The metadata every post carries, naming the event it is for."""
    return {"event_type": POST_EVENT_TYPE, "event_payload": {"event_id": str(event.id)}}


async def earlier_post(client: AsyncWebClient, channel: str, event: AnyEvent) -> str | None:
    """The ts of this event's message already in `channel`, if an earlier attempt left one (None
    too when the history cannot be read)."""
    try:
        return await posted_message(client, channel, event)
    except (SlackApiError, SlackClientError, aiohttp.ClientError, TimeoutError) as exc:
        log.warning("slack history not readable; posting again", channel=channel, error=str(exc))
        return None


async def posted_message(client: AsyncWebClient, channel: str, event: AnyEvent) -> str | None:
    """The ts of this event's message in `channel`, None when there is none; the client's error
    when the history cannot be read."""
    oldest = event.occurred_at.timestamp() - LOOK_BACK_SECONDS
    response = await client.conversations_history(
        channel=channel, oldest=f"{oldest:.6f}", include_all_metadata=True, limit=HISTORY_LIMIT
    )
    wanted = str(event.id)
    for message in response.get("messages") or []:
        metadata = message.get("metadata") or {}
        payload = metadata.get("event_payload") or {}
        if metadata.get("event_type") == POST_EVENT_TYPE and payload.get("event_id") == wanted:
            return str(message["ts"])
    return None

"""The Block Kit messages Slack gets: the escalation, a round's reminder, claimed, released.

User text is escaped wherever it enters a message (`esc`: `<!channel>` and `<url|label>` are markup
in Slack, in mrkdwn and in the fallback text alike); the message's own markup stays markup.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from flowpilot_shared.durations import humanize_wait
from flowpilot_shared.events import HandoffClaimed, HandoffEscalated, HandoffReescalated, HandoffReleased
from flowpilot_shared.security.markup import slack_text as esc
from notifier.channels.base import steps_duration
from notifier.channels.render import urgency_label, urgency_marker

Message = tuple[str, list[dict[str, Any]]]


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def clip_escaped(text: str, limit: int) -> str:
    """`esc(text)` within `limit` characters, shortened before escaping so no entity is cut in two."""
    keep = limit
    while len(escaped := esc(_clip(text, keep))) > limit:
        keep -= len(escaped) - limit
    return escaped


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _clip(text, 3000)}}


def _header(text: str) -> dict[str, Any]:
    # plain_text too: Slack decodes &amp; &lt; &gt; in every text field, so it shows as typed.
    return {"type": "header", "text": {"type": "plain_text", "text": clip_escaped(text, 150)}}


def pickup_actions(handoff_id: uuid.UUID, link: str, *, interactive: bool) -> dict[str, Any]:
    """Pick up: a button whose click is posted to the interactions endpoint when the account's Slack
    app has a signing secret (`interactive`), with the link beside it; otherwise the link itself."""
    value = str(handoff_id)
    pickup: dict[str, Any] = {
        "type": "button",
        "action_id": "pickup",
        "style": "primary",
        "text": {"type": "plain_text", "text": "Pick up"},
    }
    if not interactive:
        return {"type": "actions", "block_id": "pickup", "elements": [{**pickup, "url": link}]}
    # Slack posts link clicks too: the handoff id lets the endpoint verify and ignore them.
    open_link = {
        "type": "button",
        "action_id": "open",
        "text": {"type": "plain_text", "text": "Open in FlowPilot"},
        "url": link,
        "value": value,
    }
    return {"type": "actions", "block_id": "pickup", "elements": [{**pickup, "value": value}, open_link]}


def mention_text(user_ids: Sequence[str]) -> str:
    """Slack mentions of these user ids."""
    return " ".join(f"<@{user_id}>" for user_id in user_ids)


def _with_mentions(message: Message, mentions: Sequence[str]) -> Message:
    """A line mentioning the people asked to look (a mention notifies them), before the buttons."""
    if not mentions:
        return message
    text, blocks = message
    blocks.insert(-1, _section(f"*For:* {mention_text(mentions)}"))
    return _clip(f"{mention_text(mentions)} {text}", 3000), blocks


def escalation_message(
    event: HandoffEscalated, link: str, *, interactive: bool = False, mentions: Sequence[str] = ()
) -> Message:
    """Fallback text and blocks of the escalation message; `mentions`: Slack user ids to mention."""
    data = event.data
    title, marker = data.session.title, urgency_marker(data.urgency)
    fallback = f"{marker}Escalation: {esc(title)} ({esc(data.escalator.name)}): pick up at {link}"
    lines = [
        f"*{esc(title)}*",
        f"*Client:* {esc(data.session.client_name or '(no client)')}",
        f"*Reason:* {esc(_clip(data.reason, 1500))}",
        f"*Urgency:* {urgency_label(data.urgency)}",
        f"*Escalated by:* {esc(data.escalator.name)}",
        f"*Steps tried:* {steps_duration(event)}",
    ]
    blocks = [
        _header(f"{marker}Escalation: {title}"),
        _section("\n".join(lines)),
        pickup_actions(data.handoff_id, link, interactive=interactive),
    ]
    return _with_mentions((_clip(fallback, 3000), blocks), mentions)


def claimed_message(event: HandoffClaimed) -> Message:
    """Fallback text and blocks replacing the escalation message once someone picked it up."""
    data = event.data
    text = f"{esc(data.claimer.name)} picked this up: {esc(data.session_title)}"
    body = (
        f"*{esc(data.session_title)}*\n:white_check_mark: *{esc(data.claimer.name)}* picked this up "
        f"(escalated by {esc(data.escalator.name)})."
    )
    return _clip(text, 3000), [_section(body)]


def round_message(
    event: HandoffReescalated, link: str, *, interactive: bool = False, mentions: Sequence[str] = ()
) -> Message:
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
    blocks = [_section(body), pickup_actions(d.handoff_id, link, interactive=interactive)]
    text = f"{esc(headline)}: {esc(d.session_title)}: pick up at {link}"
    return _with_mentions((_clip(text, 3000), blocks), mentions)


def released_message(event: HandoffReleased, link: str, *, interactive: bool = False) -> Message:
    """The escalation message once its claimer handed it back: in the queue again, Pick up again."""
    r = event.data
    body = (
        f"*{esc(r.session_title)}*\n*Reason:* {esc(_clip(r.reason, 1500))}\n*Urgency:* {urgency_label(r.urgency)}\n"
        f"*Escalated by:* {esc(r.escalator.name)}\n:leftwards_arrow_with_hook: *{esc(r.released_by.name)}* released "
        f"it (picked up by {esc(r.claimer.name)} before): back in the queue."
    )
    blocks = [
        _header(f"{urgency_marker(r.urgency)}Escalation: {r.session_title}"),
        _section(body),
        pickup_actions(r.handoff_id, link, interactive=interactive),
    ]
    text = f"{esc(r.released_by.name)} released {esc(r.session_title)}: back in the queue, pick up at {link}"
    return _clip(text, 3000), blocks

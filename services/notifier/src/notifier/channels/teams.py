"""Microsoft Teams: an Adaptive Card posted to the account's Workflows webhook (cards cannot be edited)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from flowpilot_shared.broker.topology import QueueSpec
from flowpilot_shared.durations import humanize_wait
from flowpilot_shared.errors import PermanentError, TransientError
from flowpilot_shared.events import (
    AnyEvent,
    HandoffClaimed,
    HandoffEscalated,
    HandoffReescalated,
    HandoffReleased,
)
from flowpilot_shared.models.integrations import IntegrationKind
from flowpilot_shared.models.notifications import NO_RECIPIENT, NOT_CONFIGURED, DeliveryChannel
from flowpilot_shared.retry import parse_retry_after
from flowpilot_shared.security.markup import markdown_text as md
from flowpilot_shared.security.urls import SharedGuardedClient, refusal
from flowpilot_shared.unit_of_work import DriverUnitOfWork
from notifier.channels.base import (
    Channel,
    Sent,
    Target,
    pickup_link,
    steps_duration,
)
from notifier.channels.render import urgency_label, urgency_marker
from notifier.settings import NotifierSettings

WEBHOOK_RECIPIENT = "webhook"
CARD_SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"


def envelope(card: dict[str, Any]) -> dict[str, Any]:
    """The Workflows webhook body carrying one Adaptive Card."""
    return {
        "type": "message",
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}
        ],
    }


def _card(body: list[dict[str, Any]], actions: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    card: dict[str, Any] = {"$schema": CARD_SCHEMA, "type": "AdaptiveCard", "version": "1.4", "body": body}
    if actions:
        card["actions"] = actions
    return card


def _text(text: str, **style: Any) -> dict[str, Any]:
    """A TextBlock; its text is Markdown: user text goes in escaped (`md`)."""
    return {"type": "TextBlock", "text": text, **style}


def _title(session_title: str) -> dict[str, Any]:
    return _text(md(session_title), size="Large", weight="Bolder", wrap=True)


def _follow_up(headline: str, session_title: str, link: str | None = None) -> dict[str, Any]:
    """A short card after the escalation's (webhooks cannot edit a card): what happened, to which session."""
    body = [_text(headline, weight="Bolder", wrap=True), _text(md(session_title), wrap=True, isSubtle=True)]
    return _card(body, _pick_up(link) if link else None)


def _pick_up(link: str) -> list[dict[str, Any]]:
    return [{"type": "Action.OpenUrl", "title": "Pick up", "url": link}]


def escalation_card(event: HandoffEscalated, link: str) -> dict[str, Any]:
    """Adaptive Card 1.4 of an escalation with an Action.OpenUrl "Pick up"."""
    data = event.data
    facts = [
        {"title": "Client", "value": md(data.session.client_name or "(no client)")},
        {"title": "Reason", "value": md(data.reason)},
        {"title": "Urgency", "value": urgency_label(data.urgency)},
        {"title": "Escalated by", "value": md(data.escalator.name)},
        {"title": "Steps tried", "value": steps_duration(event)},
    ]
    headline = _text(f"{urgency_marker(data.urgency)}Escalation", weight="Bolder", color="Attention")
    return _card([headline, _title(data.session.title), {"type": "FactSet", "facts": facts}], _pick_up(link))


def claimed_card(event: HandoffClaimed) -> dict[str, Any]:
    """Who picked the escalation up."""
    return _follow_up(f"✅ {md(event.data.claimer.name)} picked this up", event.data.session_title)


def round_card(event: HandoffReescalated, link: str) -> dict[str, Any]:
    """A round's reminder card (webhooks cannot edit the escalation card), naming the round."""
    d = event.data
    waited = humanize_wait(d.waited_seconds)
    headline = (
        f"{urgency_marker(d.urgency)}Still unclaimed after {waited} (reminder {d.round} of {d.max_rounds})"
    )
    facts = [
        {"title": "Reason", "value": md(d.reason)},
        {"title": "Urgency", "value": urgency_label(d.urgency)},
        {"title": "Escalated by", "value": md(d.escalator.name)},
    ]
    body = [
        _text(headline, weight="Bolder", color="Attention", wrap=True),
        _title(d.session_title),
        {"type": "FactSet", "facts": facts},
    ]
    return _card(body, _pick_up(link))


def released_card(event: HandoffReleased, link: str) -> dict[str, Any]:
    """Released by its claimer, back in the queue, Pick up again."""
    headline = f"↩️ {md(event.data.released_by.name)} released this: back in the queue"
    return _follow_up(headline, event.data.session_title, link)


class TeamsChannel(Channel):
    """One card per escalation and one per claim, to the account's webhook."""

    name = DeliveryChannel.teams

    def __init__(self, settings: NotifierSettings, spec: QueueSpec) -> None:
        super().__init__(settings, spec)
        self._http = SharedGuardedClient(
            allow_loopback=settings.allow_loopback_integrations, timeout=settings.teams_timeout_seconds
        )

    async def close(self) -> None:
        """Close the pooled connections to the webhook hosts."""
        await self._http.aclose()

    async def targets(self, event: AnyEvent, uow: DriverUnitOfWork) -> list[Target]:
        """The account's webhook, or a `skipped` record when Teams is not configured."""
        if not isinstance(event, HandoffEscalated | HandoffClaimed | HandoffReescalated | HandoffReleased):
            return []
        if isinstance(event, HandoffReescalated) and event.data.final:
            return []  # the owners' final notice is a bell row and an email, not a channel post
        integration = await self.chat_integration(event, uow, IntegrationKind.teams)
        url = str(integration.secrets.get("webhook_url") or "") if integration is not None else ""
        if not url:
            return [Target(recipient=NO_RECIPIENT, skip_reason=NOT_CONFIGURED[self.name.value])]
        return [Target(recipient=WEBHOOK_RECIPIENT, params={"url": url})]

    async def send(
        self, event: AnyEvent, target: Target, *, delivery_id: uuid.UUID, attempt: int = 1
    ) -> Sent:
        """POST the card; 429 and 5xx are transient, other 4xx and refused URLs are final."""
        if isinstance(event, HandoffEscalated):
            card = escalation_card(event, pickup_link(self.settings, event.session_id))
        elif isinstance(event, HandoffClaimed):
            card = claimed_card(event)
        elif isinstance(event, HandoffReescalated):
            card = round_card(event, pickup_link(self.settings, event.session_id))
        elif isinstance(event, HandoffReleased):
            card = released_card(event, pickup_link(self.settings, event.session_id))
        else:
            raise PermanentError(f"Teams does not handle {event.type}")
        try:
            response = await self._http.get().post(target.params["url"], json=envelope(card))
        except httpx.HTTPError as exc:
            if (refused := refusal(exc)) is not None:
                raise PermanentError(f"Teams webhook refused: {refused}") from exc
            # Never echo the URL: a Workflows webhook URL carries its signature.
            raise TransientError(f"Teams unreachable: {type(exc).__name__}") from exc
        status = response.status_code
        if status < 300:
            return Sent(external_id=response.headers.get("x-ms-request-id"))
        detail = f"Teams webhook answered HTTP {status}"
        if status == 429 or status >= 500:
            raise TransientError(detail, retry_after=parse_retry_after(response.headers.get("Retry-After")))
        raise PermanentError(detail)

"""Autotask PSA: ticket notes through the REST API (zone root as base_url)."""

from __future__ import annotations

import json
from typing import ClassVar

from flowpilot_shared.errors import PermanentError
from psa_sync.providers.base import PsaProvider, numeric_ticket

NOTE_TITLE = "FlowPilot escalation"
NOTE_TYPE = 1
PUBLISH = 2


class AutotaskProvider(PsaProvider):
    """`POST {base_url}/v1.0/Tickets/{id}/Notes` with the UserName / Secret / ApiIntegrationCode headers."""

    name: ClassVar[str] = "autotask"
    required_credentials: ClassVar[tuple[str, ...]] = ("username", "secret", "integration_code")

    def _headers(self) -> dict[str, str]:
        return {
            "UserName": self._credential("username"),
            "Secret": self._credential("secret"),
            "ApiIntegrationCode": self._credential("integration_code"),
            "Accept": "application/json",
        }

    async def create_note(self, ticket_id: str, text: str) -> str:
        """Create an internal ticket note; returns the `itemId` Autotask answers."""
        ticket = numeric_ticket(self.name, ticket_id)
        body = {
            "ticketID": ticket,
            "title": NOTE_TITLE,
            "description": text,
            "noteType": NOTE_TYPE,
            "publish": PUBLISH,
        }
        response = await self._request(
            "create_note",
            "POST",
            f"{self.base_url}/v1.0/Tickets/{ticket}/Notes",
            json=body,
            headers=self._headers(),
        )
        self._check(response)
        answer = self._json(response)
        if not isinstance(answer, dict) or answer.get("itemId") is None:
            raise PermanentError("autotask answered without an itemId")
        return str(answer["itemId"])

    async def update_note(self, ticket_id: str, note_id: str, text: str) -> str:
        """`PATCH {base_url}/v1.0/Tickets/{id}/Notes` with the note's `id` and its new `description`."""
        ticket = numeric_ticket(self.name, ticket_id)
        body = {"id": numeric_ticket(self.name, note_id, what="note id"), "description": text}
        response = await self._request(
            "update_note",
            "PATCH",
            f"{self.base_url}/v1.0/Tickets/{ticket}/Notes",
            json=body,
            headers=self._headers(),
        )
        self._check(response, gone_if_missing=True)
        answer = self._json(response)
        return str(answer.get("itemId") or note_id) if isinstance(answer, dict) else note_id

    async def find_note(self, ticket_id: str, marker: str) -> str | None:
        """Query TicketNotes of the ticket whose description contains `marker`."""
        ticket = numeric_ticket(self.name, ticket_id)
        search = {
            "filter": [
                {"op": "eq", "field": "ticketID", "value": ticket},
                {"op": "contains", "field": "description", "value": marker},
            ],
            "MaxRecords": 10,
        }
        response = await self._request(
            "find_note",
            "GET",
            f"{self.base_url}/v1.0/TicketNotes/query",
            params={"search": json.dumps(search)},
            headers=self._headers(),
        )
        self._check(response)
        answer = self._json(response)
        items = answer.get("items") if isinstance(answer, dict) else None
        return self._marked_note(items, field="description", marker=marker, malformed="a query without items")

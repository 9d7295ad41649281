"""ConnectWise Manage: internal analysis notes on service tickets (REST API 3.0)."""

from __future__ import annotations

import base64
from typing import Any, ClassVar
from urllib.parse import quote

from flowpilot_shared.errors import PermanentError
from psa_sync.providers.base import PsaProvider

PAGE_SIZE = 100
MAX_PAGES = 20


class ConnectWiseProvider(PsaProvider):
    """`POST {base_url}/service/tickets/{id}/notes` with member API keys and the clientId header."""

    name: ClassVar[str] = "connectwise"
    required_credentials: ClassVar[tuple[str, ...]] = ("company_id", "public_key", "private_key", "client_id")

    def _headers(self) -> dict[str, str]:
        login = f"{self._credential('company_id')}+{self._credential('public_key')}"
        basic = base64.b64encode(f"{login}:{self._credential('private_key')}".encode()).decode()
        return {
            "Authorization": f"Basic {basic}",
            "clientId": self._credential("client_id"),
            "Accept": "application/json",
        }

    def _notes_url(self, ticket_id: str) -> str:
        return f"{self.base_url}/service/tickets/{quote(ticket_id.strip(), safe='')}/notes"

    async def create_note(self, ticket_id: str, text: str) -> str:
        """Create an internal analysis note; returns its `id`."""
        body = {
            "text": text,
            "internalAnalysisFlag": True,
            "detailDescriptionFlag": False,
            "resolutionFlag": False,
        }
        response = await self._request(
            "create_note", "POST", self._notes_url(ticket_id), json=body, headers=self._headers()
        )
        self._check(response)
        note = self._json(response)
        if not isinstance(note, dict) or note.get("id") is None:
            raise PermanentError("connectwise answered without a note id")
        return str(note["id"])

    async def update_note(self, ticket_id: str, note_id: str, text: str) -> str:
        """`PATCH .../notes/{id}` with a JSON Patch replacing the note's `text`."""
        url = f"{self._notes_url(ticket_id)}/{quote(note_id, safe='')}"
        patch = [{"op": "replace", "path": "text", "value": text}]
        response = await self._request("update_note", "PATCH", url, json=patch, headers=self._headers())
        self._check(response, gone_if_missing=True)
        note = self._json(response)
        return str(note.get("id") or note_id) if isinstance(note, dict) else note_id

    async def find_note(self, ticket_id: str, marker: str) -> str | None:
        """Page through the ticket's notes, newest first, for one holding `marker`."""
        for page in range(1, MAX_PAGES + 1):
            params: dict[str, Any] = {"page": page, "pageSize": PAGE_SIZE, "orderBy": "id desc"}
            response = await self._request(
                "find_note", "GET", self._notes_url(ticket_id), params=params, headers=self._headers()
            )
            self._check(response)
            notes = self._json(response)
            found = self._marked_note(
                notes, field="text", marker=marker, malformed="notes that are not a list"
            )
            if found is not None:
                return found
            if len(notes) < PAGE_SIZE:
                return None
        return None

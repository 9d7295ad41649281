"""HaloPSA: OAuth2 client credentials, then hidden actions (notes) on tickets."""

from __future__ import annotations

from typing import Any, ClassVar

import httpx

from flowpilot_shared.errors import PermanentError
from psa_sync.providers.base import PsaProvider, numeric_ticket
from psa_sync.providers.tokens import cache_key

OUTCOME = "FlowPilot escalation"
DEFAULT_TOKEN_SECONDS = 3600.0


class HaloPsaProvider(PsaProvider):
    """`POST {base_url}/api/Actions` with a bearer token from `{base_url}/auth/token`."""

    name: ClassVar[str] = "halopsa"
    required_credentials: ClassVar[tuple[str, ...]] = ("client_id", "client_secret")

    @property
    def _token_key(self) -> str:
        return cache_key(
            self.base_url,
            self._credential("tenant"),
            self._credential("client_id"),
            self._credential("client_secret"),
        )

    async def _fetch_token(self) -> str:
        form = {
            "grant_type": "client_credentials",
            "client_id": self._credential("client_id"),
            "client_secret": self._credential("client_secret"),
            "scope": "all",
        }
        tenant = self._credential("tenant")
        response = await self._request(
            "token",
            "POST",
            f"{self.base_url}/auth/token",
            data=form,
            params={"tenant": tenant} if tenant else None,
            headers={"Accept": "application/json"},
        )
        self._check(response)
        answer = self._json(response)
        token = answer.get("access_token") if isinstance(answer, dict) else None
        if not token:
            raise PermanentError("halopsa token endpoint answered without an access_token")
        try:
            expires_in = float(answer.get("expires_in") or DEFAULT_TOKEN_SECONDS)
        except (TypeError, ValueError):
            expires_in = DEFAULT_TOKEN_SECONDS
        margin = min(self._tokens.margin_seconds, expires_in / 10)
        self._tokens.put(self._token_key, str(token), expires_in - margin)
        return str(token)

    async def _token(self) -> str:
        key = self._token_key
        cached = self._tokens.get(key)
        if cached is not None:
            return cached
        async with self._tokens.lock(key):
            return self._tokens.get(key) or await self._fetch_token()

    async def _authed(self, operation: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """Call the API with the cached token; on 401 renew the token once and try again."""
        token = await self._token()
        response = await self._send(operation, method, path, token, **kwargs)
        if response.status_code == 401:
            self._tokens.invalidate(self._token_key, token)
            response = await self._send(operation, method, path, await self._token(), **kwargs)
        self._check(response, gone_if_missing=operation == "update_note")
        return response

    async def _send(
        self, operation: str, method: str, path: str, token: str, **kwargs: Any
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        return await self._request(operation, method, f"{self.base_url}{path}", headers=headers, **kwargs)

    async def create_note(self, ticket_id: str, text: str) -> str:
        """Add one hidden action to the ticket; returns the action's id."""
        return await self._post_action("create_note", ticket_id, text)

    async def update_note(self, ticket_id: str, note_id: str, text: str) -> str:
        """The same `POST /api/Actions` with the action's `id`: Halo updates that action."""
        return await self._post_action("update_note", ticket_id, text, action_id=note_id)

    async def _post_action(
        self, operation: str, ticket_id: str, text: str, *, action_id: str | None = None
    ) -> str:
        action: dict[str, Any] = {
            "ticket_id": numeric_ticket(self.name, ticket_id),
            "note": text,
            "outcome": OUTCOME,
            "hiddenfromuser": True,
        }
        if action_id is not None:
            action["id"] = numeric_ticket(self.name, action_id, what="action id")
        response = await self._authed(operation, "POST", "/api/Actions", json=[action])
        answer = self._json(response)
        if isinstance(answer, list):
            answer = answer[0] if answer else None
        if not isinstance(answer, dict) or answer.get("id") is None:
            raise PermanentError("halopsa answered without an action id")
        return str(answer["id"])

    async def find_note(self, ticket_id: str, marker: str) -> str | None:
        """List the ticket's actions and return the one whose note holds `marker`."""
        params = {"ticket_id": numeric_ticket(self.name, ticket_id), "excludesys": "true"}
        response = await self._authed("find_note", "GET", "/api/Actions", params=params)
        answer = self._json(response)
        actions = answer.get("actions") if isinstance(answer, dict) else answer
        return self._marked_note(
            actions, field="note", marker=marker, malformed="actions that are not a list"
        )

"""The provider interface every PSA implements, and the HTTP plumbing they share."""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar

import httpx
from prometheus_client import Histogram

from flowpilot_shared.errors import PermanentError, TransientError
from flowpilot_shared.retry import parse_retry_after
from flowpilot_shared.security.urls import refusal
from psa_sync.providers.errors import PsaNoteGone
from psa_sync.providers.excerpt import error_excerpt
from psa_sync.providers.tokens import TokenCache

PSA_LATENCY = Histogram(
    "flowpilot_psa_request_seconds",
    "Latency of calls to PSA APIs",
    ["provider", "operation"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)


class PsaProvider(ABC):
    """One PSA's REST API: put a note on a ticket, and find a note by a marker in its text."""

    name: ClassVar[str]
    required_credentials: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        *,
        base_url: str,
        credentials: Mapping[str, Any],
        client: httpx.AsyncClient,
        tokens: TokenCache,
    ) -> None:
        if not base_url:
            raise PermanentError(f"{self.name} integration has no base_url")
        missing = [k for k in self.required_credentials if not str(credentials.get(k) or "").strip()]
        if missing:
            # Names of the missing fields only: never a value.
            raise PermanentError(f"{self.name} credentials are missing {', '.join(missing)}")
        self.base_url = base_url.rstrip("/")
        self._credentials = credentials
        self._client = client
        self._tokens = tokens

    def __repr__(self) -> str:
        return f"{type(self).__name__}(base_url={self.base_url!r})"

    @abstractmethod
    async def create_note(self, ticket_id: str, text: str) -> str:
        """Create an internal note on the ticket; returns the PSA's note id."""

    @abstractmethod
    async def find_note(self, ticket_id: str, marker: str) -> str | None:
        """The id of a note on the ticket whose text holds `marker`, or None."""

    @abstractmethod
    async def update_note(self, ticket_id: str, note_id: str, text: str) -> str:
        """Replace the text of a note on the ticket; returns its id. `PsaNoteGone` when it is not there."""

    def _credential(self, key: str) -> str:
        return str(self._credentials.get(key) or "").strip()

    async def _request(self, operation: str, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """Send one request; transport trouble becomes a PSA error, HTTP statuses are left to the caller."""
        started = time.perf_counter()
        try:
            return await self._client.request(method, url, **kwargs)
        except httpx.ConnectError as exc:
            if (refused := refusal(exc)) is not None:
                raise PermanentError(f"{self.name}: refused outbound URL: {refused}") from None
            raise TransientError(f"{self.name} could not be reached: {type(exc).__name__}") from None
        except httpx.TimeoutException as exc:
            raise TransientError(f"{self.name} timed out ({type(exc).__name__})") from None
        except httpx.TransportError as exc:
            raise TransientError(f"{self.name} connection failed: {type(exc).__name__}") from None
        finally:
            PSA_LATENCY.labels(self.name, operation).observe(time.perf_counter() - started)

    def _check(self, response: httpx.Response, *, gone_if_missing: bool = False) -> None:
        """Raise the PSA error a non-2xx answer means (429 and 5xx transient, the rest permanent).

        With `gone_if_missing` (an update of an existing note) a 404 is `PsaNoteGone`.
        """
        status = response.status_code
        if 200 <= status < 300:
            return
        if gone_if_missing and status == 404:
            raise PsaNoteGone(f"{self.name} answered HTTP 404: the note is no longer on the ticket")
        detail = error_excerpt(response, credentials=self._credentials.values())
        message = f"{self.name} answered HTTP {status}" + (f": {detail}" if detail else "")
        if status == 429 or status >= 500:
            raise TransientError(message, retry_after=parse_retry_after(response.headers.get("retry-after")))
        if 300 <= status < 400:
            raise PermanentError(f"{self.name} answered a redirect (HTTP {status}), not followed")
        raise PermanentError(message)

    def _json(self, response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            raise PermanentError(f"{self.name} answered HTTP {response.status_code} without JSON") from None

    def _marked_note(self, notes: Any, *, field: str, marker: str, malformed: str) -> str | None:
        """The id of the first note in `notes` (a listing the PSA answered) whose `field` holds `marker`."""
        if not isinstance(notes, list):
            raise PermanentError(f"{self.name} answered {malformed}")
        for note in notes:
            if isinstance(note, dict) and marker in str(note.get(field) or ""):
                return str(note["id"])
        return None


def numeric_ticket(provider: str, ticket_id: str, *, what: str = "ticket id") -> int:
    """The ticket id (or another id, named by `what`) as the integer the PSA's API expects."""
    try:
        return int(ticket_id.strip())
    except ValueError:
        raise PermanentError(f"{provider} {what} must be a number, got {ticket_id!r}") from None

"""The wire side of the fake PSA: ConnectWise Manage, Autotask and HaloPSA handlers with real auth checks."""

from __future__ import annotations

import base64
import itertools
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes._server import slow_down

ROOTS = {"connectwise": "/cw/v4_6_release/apis/3.0", "autotask": "/atservices", "halopsa": "/halo"}
CREDENTIALS: dict[str, dict[str, str]] = {
    "connectwise": {
        "company_id": "contoso",
        "public_key": "pubKEY1",
        "private_key": "privKEY1",
        "client_id": "3f2c9a1e-client",
    },
    "autotask": {"username": "api@contoso.example", "secret": "at-s3cret", "integration_code": "INTCODE42"},
    "halopsa": {"client_id": "halo-client", "client_secret": "halo-s3cret", "tenant": "contoso"},
}


@dataclass
class Recorded:
    """One request the fake received."""

    provider: str
    operation: str  # create_note, find_note, token
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: str
    status: int = 0
    at: float = field(default_factory=time.monotonic)

    def json(self) -> Any:
        """The request body as JSON."""
        return json.loads(self.body)


@dataclass
class Failure:
    """A scripted answer given instead of the real one, `times` times."""

    status: int
    times: int
    retry_after: str | None = None
    body: Any = None


class PsaWire:
    """Request handlers of the three APIs over shared state (notes, requests, tokens, failures)."""

    def __init__(self, token_ttl: int = 3600) -> None:
        self.token_ttl = token_ttl
        self.notes: dict[str, dict[str, list[dict[str, Any]]]] = {p: {} for p in ROOTS}
        self.requests: list[Recorded] = []
        self.tokens: dict[str, float] = {}
        self._failures: dict[tuple[str, str], list[Failure]] = {}
        self._ids = itertools.count(1001)
        # Seconds a ConnectWise note takes to be created; setting it back to 0 releases waiting calls.
        self.delay_seconds = 0.0

    def ticket_notes(self, provider: str, ticket_id: str | int) -> list[dict[str, Any]]:
        """Notes on one ticket."""
        return self.notes[provider].get(str(ticket_id), [])

    async def _record(self, request: web.Request, provider: str, operation: str) -> Recorded:
        body = await request.text()
        rec = Recorded(
            provider,
            operation,
            request.method,
            request.path,
            dict(request.query),
            dict(request.headers),
            body,
        )
        self.requests.append(rec)
        return rec

    def _scripted(self, provider: str, operation: str) -> web.Response | None:
        queue = self._failures.get((provider, operation)) or []
        if not queue:
            return None
        failure = queue[0]
        failure.times -= 1
        if failure.times <= 0:
            queue.pop(0)
        headers = {"Retry-After": failure.retry_after} if failure.retry_after else {}
        if isinstance(failure.body, str):  # a page (a proxy's or the PSA's own HTML error page)
            return web.Response(
                text=failure.body, status=failure.status, headers=headers, content_type="text/html"
            )
        body = failure.body if failure.body is not None else {"message": f"scripted HTTP {failure.status}"}
        return web.json_response(body, status=failure.status, headers=headers)

    def _answer(self, rec: Recorded, response: web.Response) -> web.Response:
        rec.status = response.status
        return response

    def _new_note(self, provider: str, ticket: str, note: dict[str, Any]) -> dict[str, Any]:
        note = {"id": next(self._ids), **note}
        self.notes[provider].setdefault(ticket, []).append(note)
        return note

    # ConnectWise Manage --------------------------------------------------------------------------
    def _cw_auth_ok(self, request: web.Request) -> bool:
        c = CREDENTIALS["connectwise"]
        expected = base64.b64encode(
            f"{c['company_id']}+{c['public_key']}:{c['private_key']}".encode()
        ).decode()
        return (
            request.headers.get("Authorization") == f"Basic {expected}"
            and request.headers.get("clientId") == c["client_id"]
        )

    async def _cw_guard(self, request: web.Request, operation: str) -> tuple[Recorded, web.Response | None]:
        rec = await self._record(request, "connectwise", operation)
        if not self._cw_auth_ok(request):
            return rec, web.json_response(
                {"code": "Unauthorized", "message": "Authentication failed"}, status=401
            )
        return rec, self._scripted("connectwise", operation)

    async def _cw_create(self, request: web.Request) -> web.Response:
        await slow_down(self)
        rec, early = await self._cw_guard(request, "create_note")
        if early is not None:
            return self._answer(rec, early)
        body = rec.json()
        if not isinstance(body.get("text"), str) or body.get("internalAnalysisFlag") is not True:
            return self._answer(
                rec,
                web.json_response(
                    {"code": "InvalidObject", "message": "text and internalAnalysisFlag are required"},
                    status=400,
                ),
            )
        ticket = request.match_info["ticket"]
        note = self._new_note(
            "connectwise",
            ticket,
            {
                "ticketId": int(ticket) if ticket.isdigit() else ticket,
                "text": body["text"],
                "detailDescriptionFlag": body.get("detailDescriptionFlag"),
                "internalAnalysisFlag": True,
                "resolutionFlag": body.get("resolutionFlag"),
            },
        )
        return self._answer(rec, web.json_response(note, status=201))

    async def _cw_list(self, request: web.Request) -> web.Response:
        rec, early = await self._cw_guard(request, "find_note")
        if early is not None:
            return self._answer(rec, early)
        notes = sorted(self.ticket_notes("connectwise", request.match_info["ticket"]), key=lambda n: -n["id"])
        page, size = int(request.query.get("page", 1)), int(request.query.get("pageSize", 25))
        return self._answer(rec, web.json_response(notes[(page - 1) * size : page * size]))

    # Autotask --------------------------------------------------------------------------------------
    async def _at_guard(self, request: web.Request, operation: str) -> tuple[Recorded, web.Response | None]:
        rec = await self._record(request, "autotask", operation)
        c = CREDENTIALS["autotask"]
        h = request.headers
        if (h.get("UserName"), h.get("Secret"), h.get("ApiIntegrationCode")) != (
            c["username"],
            c["secret"],
            c["integration_code"],
        ):
            return rec, web.json_response({"errors": ["Unauthorized"]}, status=401)
        return rec, self._scripted("autotask", operation)

    async def _at_create(self, request: web.Request) -> web.Response:
        rec, early = await self._at_guard(request, "create_note")
        if early is not None:
            return self._answer(rec, early)
        body, ticket = rec.json(), request.match_info["ticket"]
        if str(body.get("ticketID")) != ticket or not body.get("description") or not body.get("title"):
            return self._answer(
                rec,
                web.json_response({"errors": ["ticketID, title and description are required"]}, status=400),
            )
        note = self._new_note(
            "autotask",
            ticket,
            {
                "ticketID": body["ticketID"],
                "title": body["title"],
                "description": body["description"],
                "noteType": body.get("noteType"),
                "publish": body.get("publish"),
            },
        )
        return self._answer(rec, web.json_response({"itemId": note["id"]}))

    async def _at_query(self, request: web.Request) -> web.Response:
        rec, early = await self._at_guard(request, "find_note")
        if early is not None:
            return self._answer(rec, early)
        try:
            filters = json.loads(request.query["search"])["filter"]
        except (KeyError, ValueError, TypeError):
            return self._answer(rec, web.json_response({"errors": ["search is required"]}, status=400))
        items = [n for notes in self.notes["autotask"].values() for n in notes]
        for f in filters:
            if f["op"] == "eq":
                items = [n for n in items if str(n.get(f["field"])) == str(f["value"])]
            elif f["op"] == "contains":
                items = [n for n in items if str(f["value"]) in str(n.get(f["field"]) or "")]
        page = {"count": len(items), "requestCount": 500, "prevPageUrl": None, "nextPageUrl": None}
        return self._answer(rec, web.json_response({"items": items, "pageDetails": page}))

    # HaloPSA ---------------------------------------------------------------------------------------
    async def _halo_token(self, request: web.Request) -> web.Response:
        rec = await self._record(request, "halopsa", "token")
        scripted = self._scripted("halopsa", "token")
        if scripted is not None:
            return self._answer(rec, scripted)
        form = await request.post()
        c = CREDENTIALS["halopsa"]
        ok = (
            form.get("grant_type") == "client_credentials"
            and form.get("client_id") == c["client_id"]
            and form.get("client_secret") == c["client_secret"]
            and form.get("scope") == "all"
            and request.query.get("tenant", form.get("tenant")) == c["tenant"]
        )
        if not ok:
            return self._answer(rec, web.json_response({"error": "invalid_client"}, status=401))
        token = secrets.token_urlsafe(24)
        self.tokens[token] = time.monotonic() + self.token_ttl
        return self._answer(
            rec,
            web.json_response(
                {"access_token": token, "token_type": "Bearer", "expires_in": self.token_ttl, "scope": "all"}
            ),
        )

    async def _halo_guard(self, request: web.Request, operation: str) -> tuple[Recorded, web.Response | None]:
        rec = await self._record(request, "halopsa", operation)
        auth = request.headers.get("Authorization", "")
        expiry = self.tokens.get(auth.removeprefix("Bearer ")) if auth.startswith("Bearer ") else None
        if expiry is None or expiry < time.monotonic():
            return rec, web.Response(status=401, text="Unauthorized")
        return rec, self._scripted("halopsa", operation)

    async def _halo_create(self, request: web.Request) -> web.Response:
        rec, early = await self._halo_guard(request, "create_note")
        if early is not None:
            return self._answer(rec, early)
        actions = rec.json()
        if (
            not isinstance(actions, list)
            or len(actions) != 1
            or not isinstance(actions[0].get("ticket_id"), int)
        ):
            return self._answer(
                rec, web.json_response({"message": "an array of actions is expected"}, status=400)
            )
        a = actions[0]
        note = self._new_note(
            "halopsa",
            str(a["ticket_id"]),
            {
                "ticket_id": a["ticket_id"],
                "note": a.get("note"),
                "outcome": a.get("outcome"),
                "hiddenfromuser": a.get("hiddenfromuser"),
            },
        )
        return self._answer(rec, web.json_response(note, status=201))

    async def _halo_list(self, request: web.Request) -> web.Response:
        rec, early = await self._halo_guard(request, "find_note")
        if early is not None:
            return self._answer(rec, early)
        actions = self.ticket_notes("halopsa", request.query.get("ticket_id", ""))
        return self._answer(rec, web.json_response({"record_count": len(actions), "actions": actions}))

"""The fake PSA's edits of an existing note, each the way the real API takes it:

- ConnectWise Manage: `PATCH .../service/tickets/{ticket}/notes/{id}` with a JSON Patch array
  (`[{"op": "replace", "path": "text", "value": ...}]`); answers the note; 404 for an unknown note.
- Autotask: `PATCH .../v1.0/Tickets/{ticket}/Notes` with `{"id", ...fields}`; answers `{"itemId"}`.
  A description over 32,000 characters is refused (create and update alike).
- HaloPSA: `POST /api/Actions` with an action that carries its `id` updates that action.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from tests.fakes.psa_wire import PsaWire, Recorded

AUTOTASK_DESCRIPTION_LIMIT = 32_000


class PsaEdits(PsaWire):
    """Note updates on top of the create / list / query handlers."""

    def _note(self, provider: str, ticket: str, note_id: object) -> dict[str, Any] | None:
        for note in self.ticket_notes(provider, ticket):
            if str(note["id"]) == str(note_id):
                return note
        return None

    def _missing(self, rec: Recorded, body: dict[str, Any]) -> web.Response:
        return self._answer(rec, web.json_response(body, status=404))

    # ConnectWise Manage ----------------------------------------------------------------------------
    async def _cw_update(self, request: web.Request) -> web.Response:
        rec, early = await self._cw_guard(request, "update_note")
        if early is not None:
            return self._answer(rec, early)
        note = self._note("connectwise", request.match_info["ticket"], request.match_info["note"])
        if note is None:
            return self._missing(rec, {"code": "NotFound", "message": "Ticket note not found"})
        patch = rec.json()
        if not isinstance(patch, list) or not all(isinstance(op, dict) for op in patch):
            return self._answer(
                rec, web.json_response({"code": "InvalidObject", "message": "a patch array"}, status=400)
            )
        for op in patch:
            if op.get("op") != "replace" or str(op.get("path", "")).strip("/") not in note:
                return self._answer(
                    rec, web.json_response({"code": "InvalidObject", "message": f"bad op {op}"}, status=400)
                )
            note[str(op["path"]).strip("/")] = op.get("value")
        return self._answer(rec, web.json_response(note))

    # Autotask --------------------------------------------------------------------------------------
    async def _at_guard(self, request: web.Request, operation: str) -> tuple[Recorded, web.Response | None]:
        """Autotask's checks, and its refusal of a description over the field's length."""
        rec, early = await super()._at_guard(request, operation)
        if early is None and operation in ("create_note", "update_note"):
            body = rec.json()
            if (
                isinstance(body, dict)
                and len(str(body.get("description") or "")) > AUTOTASK_DESCRIPTION_LIMIT
            ):
                error = f"description: value exceeds the maximum length of {AUTOTASK_DESCRIPTION_LIMIT}"
                early = web.json_response({"errors": [error]}, status=500)
        return rec, early

    async def _at_update(self, request: web.Request) -> web.Response:
        rec, early = await self._at_guard(request, "update_note")
        if early is not None:
            return self._answer(rec, early)
        body = rec.json()
        if not isinstance(body, dict) or body.get("id") is None:
            return self._answer(rec, web.json_response({"errors": ["id is required"]}, status=400))
        note = self._note("autotask", request.match_info["ticket"], body["id"])
        if note is None:
            return self._missing(rec, {"errors": [f"TicketNotes {body['id']} not found"]})
        note.update({k: v for k, v in body.items() if k in ("title", "description", "noteType", "publish")})
        return self._answer(rec, web.json_response({"itemId": note["id"]}))

    # HaloPSA ---------------------------------------------------------------------------------------
    async def _halo_create(self, request: web.Request) -> web.Response:
        actions = await request.json()  # aiohttp keeps the body: the handlers read it again
        if isinstance(actions, list) and actions and isinstance(actions[0], dict) and "id" in actions[0]:
            return await self._halo_update(request)
        return await super()._halo_create(request)

    async def _halo_update(self, request: web.Request) -> web.Response:
        rec, early = await self._halo_guard(request, "update_note")
        if early is not None:
            return self._answer(rec, early)
        [action] = rec.json()
        note = self._note("halopsa", str(action.get("ticket_id")), action["id"])
        if note is None:
            return self._missing(rec, {"message": f"Action {action['id']} not found"})
        note.update({k: v for k, v in action.items() if k in ("note", "outcome", "hiddenfromuser")})
        return self._answer(rec, web.json_response(note, status=201))

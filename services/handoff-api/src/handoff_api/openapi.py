"""The error answers each route can give, documented in the OpenAPI schema."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from pydantic import BaseModel

from flowpilot_shared.web.auth import engineer_or_admin, owner_or_admin

PUBLIC = frozenset({("POST", "/accounts"), ("POST", "/auth/login")})
NO_CONFLICT = frozenset({("POST", "/auth/login")})
ROLE_CHECKS = (engineer_or_admin, owner_or_admin)


class ErrorOut(BaseModel):
    """The body of every 4xx/5xx answer other than a validation error."""

    detail: str


def _error(description: str) -> dict[str, Any]:
    return {"model": ErrorOut, "description": description}


def _checks_role(dependant: Dependant) -> bool:
    return any(d.call in ROLE_CHECKS or _checks_role(d) for d in dependant.dependencies)


def _answers(method: str, route: APIRoute) -> dict[int | str, dict[str, Any]]:
    key = (method, route.path)
    answers: dict[int | str, dict[str, Any]] = {
        429: _error("Too many requests for this account (see Retry-After)"),
        503: _error("Database unavailable; nothing was written (see Retry-After)"),
    }
    if key not in PUBLIC:
        answers[401] = _error("Missing, expired or invalid bearer token")
    elif key in NO_CONFLICT:  # the login itself
        answers[401] = _error("Wrong email or password")
    # Writes also check ownership of the object (e.g. only a session's owner hands it off).
    if _checks_role(route.dependant) or (key not in PUBLIC and method != "GET"):
        answers[403] = _error("The caller's role or ownership does not allow this")
    if "{" in route.path:
        answers[404] = _error("Not found in the caller's account")
    if method in ("POST", "PUT", "PATCH") and key not in NO_CONFLICT:
        answers[409] = _error("The object's state does not allow this")
    return answers


def document_errors(router: APIRouter) -> APIRouter:
    """Add 401/403/404/409/429/503 to the routes that can answer them (before the router is included)."""
    for route in router.routes:
        if isinstance(route, APIRoute):
            for method in route.methods or ():
                for code, answer in _answers(method, route).items():
                    route.responses.setdefault(code, answer)
    return router

"""Domain errors raised by services and the handlers that turn every failure into a clear 4xx/503."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import FastAPI, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import exc as sa_exc

from flowpilot_shared.security.passwords import PasswordWorkBusy
from flowpilot_shared.web.outage import install_outage_handlers
from handoff_api.ratelimit import retry_after_header
from handoff_api.throttles.service import Throttled

log = structlog.get_logger(__name__)


class ApiError(Exception):
    """A refusal with an HTTP status; `extra` fields are added to the JSON body beside `detail`."""

    status_code = status.HTTP_400_BAD_REQUEST

    def __init__(self, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class NotFound(ApiError):
    """Absent, or another tenant's (never 403 across tenants)."""

    status_code = status.HTTP_404_NOT_FOUND


class Forbidden(ApiError):
    """The caller can see the object but may not do this."""

    status_code = status.HTTP_403_FORBIDDEN


class Conflict(ApiError):
    """The object's state does not allow this (already claimed, duplicate, last owner...)."""

    status_code = status.HTTP_409_CONFLICT


class InvalidField(ApiError):
    """A well-formed body whose field value is refused (422 naming the field, like FastAPI's own)."""

    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY

    def __init__(self, field: str, message: str, *, location: str = "body") -> None:
        super().__init__(message)
        self.loc = [location, *field.split(".")]


def _validation_body(errors: list[dict[str, Any]]) -> dict[str, Any]:
    # Inputs are not echoed back: they may hold passwords or integration credentials.
    cleaned = [{k: v for k, v in e.items() if k in ("loc", "msg", "type")} for e in errors]
    return {"detail": jsonable_encoder(cleaned)}


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers: domain errors, validation, database outages and races."""

    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        if isinstance(exc, InvalidField):
            body = {"detail": [{"loc": exc.loc, "msg": exc.detail, "type": "value_error"}]}
            return JSONResponse(body, status_code=exc.status_code)
        return JSONResponse(
            jsonable_encoder({"detail": exc.detail, **exc.extra}), status_code=exc.status_code
        )

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(
            _validation_body(list(exc.errors())), status_code=status.HTTP_422_UNPROCESSABLE_ENTITY
        )

    @app.exception_handler(sa_exc.IntegrityError)
    async def integrity_error(_: Request, exc: sa_exc.IntegrityError) -> JSONResponse:
        # A race the service's own checks lost (e.g. two sign-ups with one email): a conflict.
        log.info("integrity conflict", error=type(exc.orig).__name__)
        return JSONResponse({"detail": "Conflicts with existing data"}, status_code=status.HTTP_409_CONFLICT)

    @app.exception_handler(Throttled)
    async def throttled(_: Request, exc: Throttled) -> JSONResponse:
        return JSONResponse(
            {"detail": "Too many attempts, try again later"},
            status_code=status.HTTP_429_TOO_MANY_REQUESTS,
            headers={"Retry-After": retry_after_header(exc.retry_after)},
        )

    @app.exception_handler(PasswordWorkBusy)
    async def password_work_busy(_: Request, exc: PasswordWorkBusy) -> JSONResponse:
        # Every argon2 slot stayed taken (a flood of sign-ins): the client tries again shortly.
        log.warning("password work busy")
        return JSONResponse(
            {"detail": "Too many sign-ins at once, try again shortly"},
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": "2"},
        )

    install_outage_handlers(app)

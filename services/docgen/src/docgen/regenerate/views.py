"""POST /api/v1/ai-sessions/{id}/documentation/regenerate (routed to docgen by the gateway)."""

from __future__ import annotations

import math
import uuid

from fastapi import APIRouter, HTTPException, Request, status

from docgen.regenerate.service import (
    Forbidden,
    NotEscalated,
    NotFound,
    Throttled,
    VersionContention,
    regenerate,
)
from flowpilot_shared.web.auth import CurrentCaller
from flowpilot_shared.web.documents import DocumentationOut

router = APIRouter(prefix="/api/v1", tags=["documentation"])

SESSION_OWNER_OR_ADMIN_REQUIRED = "Session owner or admin access required"


@router.post(
    "/ai-sessions/{session_id}/documentation/regenerate",
    status_code=status.HTTP_201_CREATED,
    response_model=DocumentationOut,
)
async def regenerate_documentation(
    session_id: uuid.UUID, request: Request, caller: CurrentCaller
) -> DocumentationOut:
    """Regenerate the documentation of the session's latest escalation as a new version (throttled per
    session: 429 with Retry-After); the PSA note of the escalation is updated, not added to."""
    state = request.app.state
    try:
        doc = await regenerate(
            state.db,
            state.generator,
            caller=caller,
            session_id=session_id,
            min_interval=state.settings.regenerate_min_interval_seconds,
        )
    except NotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "Session not found") from exc
    except Forbidden as exc:
        raise HTTPException(status.HTTP_403_FORBIDDEN, SESSION_OWNER_OR_ADMIN_REQUIRED) from exc
    except NotEscalated as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, "Session has not been escalated") from exc
    except Throttled as exc:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            "This session's documentation was regenerated moments ago; try again later",
            headers={"Retry-After": str(max(1, math.ceil(exc.retry_after)))},
        ) from exc
    except VersionContention as exc:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            "Other regenerations are in progress; try again",
            headers={"Retry-After": "1"},
        ) from exc
    return DocumentationOut.model_validate(doc)

"""`POST /integrations/slack/interactions`: Slack posts button clicks here (signed, no bearer)."""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, HTTPException, Request, Response, status

from handoff_api.slack import clicks, pickup

router = APIRouter(prefix="/integrations/slack", tags=["integrations"])

# Slack's block_actions payloads carry the whole message; anything far larger is not from Slack.
MAX_BODY_BYTES = 256 * 1024
INVALID_SIGNATURE = "Invalid or missing Slack signature"


async def _raw_body(request: Request) -> bytes:
    """The body exactly as sent (the signature covers these bytes), refused past MAX_BODY_BYTES."""
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY_BYTES:
            raise HTTPException(status.HTTP_413_REQUEST_ENTITY_TOO_LARGE, "Request body too large")
        chunks.append(chunk)
    return b"".join(chunks)


@router.post(
    "/interactions",
    status_code=status.HTTP_200_OK,
    response_class=Response,
    responses={401: {"description": INVALID_SIGNATURE}},
)
async def slack_interactions(request: Request, background: BackgroundTasks) -> Response:
    """Verify the click's signature, answer at once (Slack waits 3 s at most), then claim after."""
    # Read from app.state, not through the plain-function dependencies: FastAPI runs those in its
    # thread pool, two thread hops per click on the path Slack is waiting on.
    state = request.app.state
    click = await clicks.accept(
        db=state.db,
        box=state.secret_box,
        body=await _raw_body(request),
        timestamp=request.headers.get("X-Slack-Request-Timestamp"),
        signature=request.headers.get("X-Slack-Signature"),
    )
    if click is None:
        pickup.INTERACTIONS.labels("unverified").inc()
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, INVALID_SIGNATURE)
    if click.action_id == clicks.PICKUP_ACTION:
        background.add_task(
            pickup.complete, db=state.db, settings=state.settings, calls=state.slack_calls, click=click
        )
    else:
        pickup.INTERACTIONS.labels("ignored").inc()  # the link button: the browser does the work
    return Response(status_code=status.HTTP_200_OK)

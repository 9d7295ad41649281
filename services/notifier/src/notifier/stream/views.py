"""`GET /ai-sessions/escalations/stream`: the seniors' live queue over SSE, resumable with Last-Event-ID."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated

import anyio
from fastapi import APIRouter, Header, HTTPException, Query, Request, status
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.types import Receive, Scope, Send

from flowpilot_shared.db import Database
from flowpilot_shared.web.auth import Caller, EngineerOrAdmin
from notifier.settings import NotifierSettings
from notifier.stream.events import StreamEvent
from notifier.stream.hub import PUSHED, StreamHub, StreamLimitReached, Subscriber
from notifier.stream.replay import ReplayPlan, head_position, plan_replay

router = APIRouter()

# How long a dropped client's generator gets to end by itself before its response is cancelled
# (a client that stopped reading leaves the generator stuck in a send).
DROP_GRACE_SECONDS = 1.0
# When a client at its cap of open streams may try again (one of its streams may have ended by then).
STREAM_LIMIT_RETRY_SECONDS = 10


class ClientStream(EventSourceResponse):
    """An SSE response that is torn down when the hub drops its subscriber."""

    def __init__(
        self,
        content: AsyncIterator[ServerSentEvent | bytes],
        *,
        subscriber: Subscriber,
        hub: StreamHub,
        **kwargs: object,
    ) -> None:
        super().__init__(content, **kwargs)  # type: ignore[arg-type]
        self._subscriber = subscriber
        self._hub = hub

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the stream; cancel it if the client was dropped and its generator is stuck."""
        try:
            async with anyio.create_task_group() as group:

                async def watch() -> None:
                    await self._subscriber.dropped.wait()
                    await anyio.sleep(DROP_GRACE_SECONDS)
                    group.cancel_scope.cancel()

                group.start_soon(watch)
                await super().__call__(scope, receive, send)
                group.cancel_scope.cancel()
        finally:
            self._hub.unsubscribe(self._subscriber)


def _not_available() -> HTTPException:
    return HTTPException(
        status.HTTP_503_SERVICE_UNAVAILABLE, "Live stream not available yet", headers={"Retry-After": "1"}
    )


def _sse(event: StreamEvent) -> bytes:
    PUSHED.labels(event.event).inc()
    return event.frame


async def _head(db: Database, caller: Caller) -> str | None:
    async with db.sessions() as session:
        return await head_position(session, account_id=caller.account_id, user_id=caller.id)


async def _plan(db: Database, caller: Caller, resume: str | None, limit: int, head: str | None) -> ReplayPlan:
    """The replay after `resume`; when there is none (or it cannot be replayed), `head` as the stream's id."""
    if resume is not None:
        async with db.sessions() as session:
            plan = await plan_replay(
                session, account_id=caller.account_id, user_id=caller.id, last_event_id=resume, limit=limit
            )
        if plan.reset_reason is None:
            return plan
    else:
        plan = ReplayPlan()
    plan.head = head
    return plan


async def _events(
    *,
    db: Database,
    caller: Caller,
    subscriber: Subscriber,
    hub: StreamHub,
    resume: str | None,
    head: str | None,
    limit: int,
    heartbeat: float,
) -> AsyncIterator[ServerSentEvent | bytes]:
    # The subscriber was registered before this replay query runs: live events arriving meanwhile
    # wait in its buffer and are de-duplicated against what the replay sent.
    try:
        plan = await _plan(db, caller, resume, limit, head)
        ready = {
            "user_id": str(caller.id),
            "account_id": str(caller.account_id),
            "resumed": resume is not None and plan.reset_reason is None,
            "heartbeat_seconds": heartbeat,
        }
        yield ServerSentEvent(data=json.dumps(ready), event="ready", id=plan.head)
        if plan.reset_reason is not None:
            reset = {
                "reason": plan.reset_reason,
                "message": "Missed events cannot be replayed; refetch the queue and notifications",
            }
            yield ServerSentEvent(data=json.dumps(reset), event="reset", id=plan.head)
        sent = set()
        for event in plan.events:
            sent.add(event.event_id)
            yield _sse(event)
        while not subscriber.dropped.is_set():
            item = await subscriber.queue.get()
            if item is None or subscriber.dropped.is_set():
                break
            if item.event_id in sent:
                continue
            yield _sse(item)
    finally:
        hub.unsubscribe(subscriber)


@router.get("/ai-sessions/escalations/stream", response_class=EventSourceResponse)
async def escalation_stream(
    request: Request,
    caller: EngineerOrAdmin,
    last_event_id_header: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
    # No length limit: an id that cannot be read resets the replay, it never refuses the stream.
    last_event_id: Annotated[str | None, Query()] = None,
) -> EventSourceResponse:
    """Live escalation events of the caller's account (engineer or admin), resumable by Last-Event-ID."""
    hub: StreamHub = request.app.state.stream_hub
    settings: NotifierSettings = request.app.state.settings
    if not hub.ready:
        raise _not_available()
    db: Database = request.app.state.db
    # Read before binding: every event that goes out once the stream is bound is then marked after
    # this one's pass read it, so a client resuming from the `ready` id misses none of them.
    head = await _head(db, caller)
    try:
        subscriber = await hub.subscribe(account_id=caller.account_id, user_id=caller.id)
    except StreamLimitReached as exc:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            str(exc),
            headers={"Retry-After": str(STREAM_LIMIT_RETRY_SECONDS)},
        ) from exc
    except Exception as exc:  # the broker went away between the readiness check and the binding
        raise _not_available() from exc
    resume = last_event_id_header or last_event_id
    content = _events(
        db=db,
        caller=caller,
        subscriber=subscriber,
        hub=hub,
        resume=resume,
        head=head,
        limit=settings.sse_replay_max_events,
        heartbeat=settings.sse_heartbeat_seconds,
    )
    return ClientStream(
        content,
        subscriber=subscriber,
        hub=hub,
        ping=settings.sse_heartbeat_seconds,
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )

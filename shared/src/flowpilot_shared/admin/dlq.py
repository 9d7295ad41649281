"""Inspecting and replaying dead-letter queues."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractRobustConnection

from flowpilot_shared.admin.render import render as render_items
from flowpilot_shared.broker.publisher import build_message
from flowpilot_shared.broker.topology import ALL_QUEUES, QueueSpec

PREVIEW_BYTES = 200


@dataclass(frozen=True)
class DeadLetter:
    """One dead-lettered message as an operator sees it."""

    queue: str
    message_id: str | None
    event_type: str | None
    reason: str
    attempts: int | None
    size: int
    preview: str

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready view."""
        return self.__dict__.copy()


def _reason(message: AbstractIncomingMessage) -> str:
    headers = message.headers or {}
    if "x-flowpilot-error" in headers:
        return str(headers["x-flowpilot-error"])
    deaths = headers.get("x-death")
    if isinstance(deaths, list) and deaths and isinstance(deaths[0], dict):
        reason = deaths[0].get("reason")  # e.g. delivery_limit, rejected
        return f"broker: {reason.decode() if isinstance(reason, bytes) else reason}"
    return "unknown"


def _describe(spec: QueueSpec, message: AbstractIncomingMessage) -> DeadLetter:
    attempts = (message.headers or {}).get("x-flowpilot-attempts")
    return DeadLetter(
        queue=spec.name,
        message_id=message.message_id,
        event_type=message.type or message.routing_key,
        reason=_reason(message),
        attempts=int(attempts) if isinstance(attempts, int) else None,
        size=len(message.body),
        preview=message.body[:PREVIEW_BYTES].decode("utf-8", "replace"),
    )


def specs(queue: str | None) -> list[QueueSpec]:
    """The queue specs named (or all of them)."""
    chosen = [s for s in ALL_QUEUES if queue in (None, s.name, s.dlq)]
    if not chosen:
        raise SystemExit(f"unknown queue {queue!r}; known: {', '.join(s.name for s in ALL_QUEUES)}")
    return chosen


async def _drain(channel: AbstractChannel, spec: QueueSpec) -> list[AbstractIncomingMessage]:
    """Take every message of the DLQ unacked (they return to the queue when the channel closes)."""
    queue = await channel.declare_queue(spec.dlq, durable=True, arguments={"x-queue-type": "quorum"})
    taken = []
    while (message := await queue.get(no_ack=False, fail=False)) is not None:
        taken.append(message)
    return taken


async def list_dead_letters(connection: AbstractRobustConnection, queue: str | None) -> list[DeadLetter]:
    """Every message waiting in the dead-letter queues, left in place."""
    out: list[DeadLetter] = []
    for spec in specs(queue):
        channel = await connection.channel()
        out.extend(_describe(spec, m) for m in await _drain(channel, spec))
        await channel.close()  # unacked messages go back to the queue
    return out


async def replay(
    connection: AbstractRobustConnection, queue: str | None, message_ids: set[str] | None
) -> list[DeadLetter]:
    """Move dead letters (all, or those with the given ids) back onto their original queue."""
    replayed: list[DeadLetter] = []
    for spec in specs(queue):
        channel = await connection.channel(publisher_confirms=True)
        for message in await _drain(channel, spec):
            if message_ids is not None and message.message_id not in message_ids:
                continue
            headers = {
                k: v
                for k, v in (message.headers or {}).items()
                if not k.startswith(("x-flowpilot-", "x-death"))
            }
            headers["x-flowpilot-replayed"] = True
            copy = build_message(
                event_id=message.message_id or "",
                event_type=message.type or "",
                body=message.body,
                headers=headers,
            )
            # The default exchange routes by queue name: only the queue that failed sees it again.
            await channel.default_exchange.publish(copy, routing_key=spec.name, timeout=10)
            await message.ack()
            replayed.append(_describe(spec, message))
        await channel.close()
    return replayed


def render(letters: list[DeadLetter], as_json: bool) -> str:
    """Text (or JSON) for the terminal."""
    return render_items(
        letters,
        as_json,
        empty="no dead letters",
        header=f"{'queue':<24} {'message_id':<38} {'type':<24} reason",
        line=lambda d: f"{d.queue:<24} {d.message_id or '-':<38} {d.event_type or '-':<24} {d.reason}",
    )


__all__ = ["DeadLetter", "list_dead_letters", "render", "replay"]

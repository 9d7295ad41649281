"""Setting a message aside: a copy with the reason goes to its queue's dead-letter queue, then the
original is acked (rejected instead, so the broker's own dead-lettering takes it, if that publish fails)."""

from __future__ import annotations

import structlog
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage

from flowpilot_shared.broker.publisher import build_message
from flowpilot_shared.broker.topology import DLX_EXCHANGE, QueueSpec
from flowpilot_shared.consumer.metrics import PROCESSED

log = structlog.get_logger(__name__)


async def dead_letter(
    channel: AbstractChannel | None,
    message: AbstractIncomingMessage,
    *,
    consumer: str,
    spec: QueueSpec,
    reason: str,
    attempts: int,
    publish_timeout: float,
) -> None:
    """Publish a copy to `spec`'s dead-letter queue with the reason, then ack the original."""
    PROCESSED.labels(consumer, "dead_lettered").inc()
    log.error("dead-lettering message", consumer=consumer, message_id=message.message_id, reason=reason)
    headers = dict(message.headers or {})
    headers.update(
        {"x-flowpilot-error": reason[:1000], "x-flowpilot-queue": spec.name, "x-flowpilot-attempts": attempts}
    )
    copy = build_message(
        event_id=message.message_id or "", event_type=message.type or "", body=message.body, headers=headers
    )
    try:
        assert channel is not None
        dlx = await channel.get_exchange(DLX_EXCHANGE, ensure=False)
        await dlx.publish(copy, routing_key=spec.dlq, timeout=publish_timeout)
        await message.ack()
    except Exception as exc:
        log.error("dead-letter publish failed; rejecting", error=str(exc))
        await message.reject(requeue=False)

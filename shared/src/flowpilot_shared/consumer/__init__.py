"""Consumer runtime: inbox dedupe, ack after commit, bounded retries, dead-lettering."""

from flowpilot_shared.consumer.contract import (
    ALREADY_DONE,
    Deliver,
    Handler,
    HandlerContext,
)
from flowpilot_shared.consumer.runtime import Consumer

__all__ = [
    "ALREADY_DONE",
    "Consumer",
    "Deliver",
    "Handler",
    "HandlerContext",
]

"""Consumer runtime: inbox dedupe, ack after commit, bounded retries, dead-lettering."""

from flowpilot_shared.consumer.runtime import (
    ALREADY_DONE,
    Consumer,
    HandlerContext,
    PermanentError,
    TransientError,
)

__all__ = ["ALREADY_DONE", "Consumer", "HandlerContext", "PermanentError", "TransientError"]

"""Consumer runtime: inbox dedupe, ack after commit, bounded retries, dead-lettering."""

from flowpilot_shared.consumer.runtime import (
    Consumer,
    HandlerContext,
    PermanentError,
    TransientError,
)

__all__ = ["Consumer", "HandlerContext", "PermanentError", "TransientError"]

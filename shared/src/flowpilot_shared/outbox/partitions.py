"""Which outbox rows a service's relay publishes: its own service's events, by event type.

One outbox table, one active relay per partition. Each event type is written by exactly one service
(handoff-api the handoff story, notifier the bell pushes and delivery records, docgen the
documentation, psa-sync the PSA outcomes), so a service's relay publishing its own types means a
commit always wakes a relay in its own process: no NOTIFY round trip, no extra transaction, no hop
through another process on the way to the broker. With one relay for the whole database every
notifier and docgen commit paid a NOTIFY transaction of its own to wake handoff-api's relay.

Session order still holds: within a partition one relay publishes a session's rows in order, and a
service only writes a session's event in answer to an earlier one it consumed (already published),
so rows of one session from two partitions are never out of order with any cause between them.

A relay whose name is not one of the partitions' (handoff-api, any test or tool) publishes every
other type: the default partition, whose active relay also keeps the backlog gauges and the
retention sweep for the whole table.
"""

from __future__ import annotations

from dataclasses import dataclass

from flowpilot_shared.events import (
    DocumentationGenerated,
    NotificationCreated,
    PsaNotePushed,
    PsaPushFailed,
    event_types,
)

# pg_advisory_lock key of the default partition's active relay (any constant; advisory locks are per
# database); a named partition's key follows it.
DEFAULT_LOCK_KEY = 0x466C6F77_4F757462  # "FlowOutb"
CHANNEL_PREFIX = "flowpilot_outbox"


@dataclass(frozen=True)
class Partition:
    """The outbox rows one active relay publishes: `types`, or with `default` every type but `types`."""

    name: str
    types: tuple[str, ...]
    default: bool = False
    lock_offset: int = 0

    @property
    def lock_key(self) -> int:
        """The advisory lock its active relay holds."""
        return DEFAULT_LOCK_KEY + self.lock_offset

    @property
    def channel(self) -> str:
        """The NOTIFY channel that wakes its active relay."""
        return CHANNEL_PREFIX if self.default else f"{CHANNEL_PREFIX}_{self.name.replace('-', '_')}"

    def includes(self, event_type: str) -> bool:
        """Whether rows of `event_type` are this partition's."""
        return (event_type in self.types) != self.default


_NAMED = (
    Partition("notifier", event_types(NotificationCreated), lock_offset=1),
    Partition("docgen", event_types(DocumentationGenerated), lock_offset=2),
    Partition("psa-sync", event_types(PsaNotePushed, PsaPushFailed), lock_offset=3),
)
DEFAULT_PARTITION = Partition(
    "default", tuple(t for partition in _NAMED for t in partition.types), default=True
)
PARTITIONS: tuple[Partition, ...] = (DEFAULT_PARTITION, *_NAMED)


def partition_for(relay_name: str) -> Partition:
    """The partition a relay of this name publishes (its service's; the default one for any other)."""
    return next((p for p in _NAMED if p.name == relay_name), DEFAULT_PARTITION)


def partition_of(event_type: str) -> Partition:
    """The partition whose relay publishes rows of `event_type`."""
    return next((p for p in _NAMED if p.includes(event_type)), DEFAULT_PARTITION)

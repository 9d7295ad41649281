"""Writes deploy/rabbitmq/definitions.json from the code's topology (flowpilot_shared.broker.topology).

    uv run python deploy/rabbitmq/render_definitions.py           # rewrite definitions.json
    uv run python deploy/rabbitmq/render_definitions.py --check   # exit 1 when it has drifted

The broker loads the file at boot (compose: management.load_definitions) so queues, dead-letter queues
and bindings exist before any service starts; the services still declare the same topology idempotently,
so the queue arguments here must equal theirs exactly (RabbitMQ refuses a redeclare with other arguments).
The guest user is for local and compose use only: replace it in any real deployment.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from flowpilot_shared.broker import topology
from flowpilot_shared.events import EVENTS_EXCHANGE, STREAM_EXCHANGE
from flowpilot_shared.settings import CoreSettings

OUT = Path(__file__).with_name("definitions.json")
VHOST = "/"
# rabbit_password_hashing_sha256 of "guest" with a fixed salt, so the file is reproducible.
_SALT = b"\x90\x8d\xc6\x0a"
GUEST_HASH = base64.b64encode(_SALT + hashlib.sha256(_SALT + b"guest").digest()).decode()


def _exchange(
    name: str, kind: str, arguments: dict[str, Any] | None = None, *, internal: bool = False
) -> dict[str, Any]:
    return {
        "name": name,
        "vhost": VHOST,
        "type": kind,
        "durable": True,
        "auto_delete": False,
        "internal": internal,
        "arguments": arguments or {},
    }


def _queue(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "vhost": VHOST, "durable": True, "auto_delete": False, "arguments": arguments}


def _binding(source: str, destination: str, key: str, kind: str = "queue") -> dict[str, Any]:
    return {
        "source": source,
        "vhost": VHOST,
        "destination": destination,
        "destination_type": kind,
        "routing_key": key,
        "arguments": {},
    }


def definitions() -> dict[str, Any]:
    """The broker definitions mirroring topology.declare_exchanges / declare_queue."""
    limit = CoreSettings.model_fields["delivery_limit"].default
    queues = [
        _queue(
            topology.UNROUTED_QUEUE,
            {
                "x-queue-type": "quorum",
                "x-max-length": topology.UNROUTED_MAX_LENGTH,
                "x-overflow": "drop-head",
            },
        )
    ]
    bindings = [_binding(topology.UNROUTED_EXCHANGE, topology.UNROUTED_QUEUE, "")]
    for spec in topology.ALL_QUEUES:
        queues.append(_queue(spec.name, dict(topology.queue_arguments(spec, limit))))
        queues.append(_queue(spec.dlq, {"x-queue-type": "quorum"}))
        bindings.append(_binding(topology.DLX_EXCHANGE, spec.dlq, spec.dlq))
        bindings.extend(_binding(EVENTS_EXCHANGE, spec.name, key) for key in spec.bindings)
    bindings.extend(
        _binding(EVENTS_EXCHANGE, topology.UNCONSUMED_EXCHANGE, key, "exchange")
        for key in topology.UNCONSUMED_EVENT_TYPES
    )
    return {
        "rabbitmq_version": "3.13.7",
        "users": [
            {
                "name": "guest",
                "password_hash": GUEST_HASH,
                "hashing_algorithm": "rabbit_password_hashing_sha256",
                "tags": ["administrator"],
                "limits": {},
            }
        ],
        "vhosts": [{"name": VHOST}],
        "permissions": [{"user": "guest", "vhost": VHOST, "configure": ".*", "write": ".*", "read": ".*"}],
        "parameters": [],
        "global_parameters": [],
        # Safety net under the per-queue arguments: any consumer queue declared without them still gets
        # a delivery limit and the dead-letter exchange (per-queue arguments win where both are set).
        "policies": [
            {
                "vhost": VHOST,
                "name": "flowpilot-consumer-queues",
                "pattern": r"^(notifier|docgen|psa-sync|handoff-api)\.[a-z-]+$",
                "apply-to": "queues",
                "priority": 0,
                "definition": {"delivery-limit": limit, "dead-letter-exchange": topology.DLX_EXCHANGE},
            }
        ],
        "exchanges": [
            _exchange(topology.UNROUTED_EXCHANGE, "fanout"),
            _exchange(topology.DLX_EXCHANGE, "direct"),
            _exchange(STREAM_EXCHANGE, "topic"),
            _exchange(EVENTS_EXCHANGE, "topic", {"alternate-exchange": topology.UNROUTED_EXCHANGE}),
            _exchange(topology.UNCONSUMED_EXCHANGE, "fanout", internal=True),
        ],
        "queues": queues,
        "bindings": bindings,
    }


def main() -> int:
    text = json.dumps(definitions(), indent=2) + "\n"
    if "--check" in sys.argv[1:]:
        if not OUT.exists() or OUT.read_text() != text:
            print(f"{OUT} differs from the topology in code: run {__file__} without --check", file=sys.stderr)
            return 1
        print(f"{OUT.name} matches flowpilot_shared.broker.topology")
        return 0
    OUT.write_text(text)
    print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

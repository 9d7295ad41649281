"""`flowpilot-admin`: operator commands (dead-letter queues)."""

from __future__ import annotations

import argparse
import asyncio

from flowpilot_shared.admin.dlq import list_dead_letters, render, replay
from flowpilot_shared.broker.publisher import connect
from flowpilot_shared.settings import CoreSettings


async def _run(args: argparse.Namespace) -> str:
    connection = await connect(args.amqp_url or CoreSettings().amqp_url, "flowpilot-admin")
    try:
        if args.action == "list":
            return render(await list_dead_letters(connection, args.queue), args.json)
        ids = set(args.id) if args.id else None
        done = await replay(connection, args.queue, ids)
        return f"replayed {len(done)} message(s)\n" + render(done, args.json)
    finally:
        await connection.close()


def main(argv: list[str] | None = None) -> None:
    """Entry point: `flowpilot-admin dlq list|replay [--queue Q] [--id ID ...] [--json]`."""
    parser = argparse.ArgumentParser(prog="flowpilot-admin", description="FlowPilot operator commands")
    sub = parser.add_subparsers(dest="area", required=True)
    dlq = sub.add_parser("dlq", help="dead-letter queues")
    dlq.add_argument("action", choices=["list", "replay"])
    dlq.add_argument("--queue", help="a consumer queue (e.g. notifier.email); default: all")
    dlq.add_argument("--id", action="append", help="replay only this message id (repeatable)")
    dlq.add_argument("--json", action="store_true", help="machine-readable output")
    dlq.add_argument("--amqp-url", help="default: FLOWPILOT_AMQP_URL")
    args = parser.parse_args(argv)
    print(asyncio.run(_run(args)))


if __name__ == "__main__":
    main()

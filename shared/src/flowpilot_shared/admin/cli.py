"""`flowpilot-admin`: operator commands (dead-letter queues, outbox rows the relay could not publish)."""

from __future__ import annotations

import argparse
import asyncio
import uuid

import asyncpg

from flowpilot_shared.admin import dlq, outbox
from flowpilot_shared.broker.publisher import connect
from flowpilot_shared.db import asyncpg_dsn
from flowpilot_shared.settings import CoreSettings


async def _dead_letters(args: argparse.Namespace) -> str:
    connection = await connect(args.amqp_url or CoreSettings().amqp_url, "flowpilot-admin")
    try:
        if args.action == "list":
            return dlq.render(await dlq.list_dead_letters(connection, args.queue), args.json)
        ids = set(args.id) if args.id else None
        done = await dlq.replay(connection, args.queue, ids)
        return f"replayed {len(done)} message(s)\n" + dlq.render(done, args.json)
    finally:
        await connection.close()


async def _outbox(args: argparse.Namespace) -> str:
    conn = await asyncpg.connect(asyncpg_dsn(args.database_url or CoreSettings().database_url))
    try:
        if args.action == "list":
            return outbox.render(await outbox.list_failing(conn, dead_only=args.dead), args.json)
        ids = {uuid.UUID(value) for value in args.id} if args.id else None
        rows = await outbox.retry_now(conn, ids)
        return f"{len(rows)} row(s) to be tried again now\n" + outbox.render(rows, args.json)
    finally:
        await conn.close()


def main(argv: list[str] | None = None) -> None:
    """Entry point: `flowpilot-admin dlq|outbox list|... [--id ID ...] [--json]`."""
    parser = argparse.ArgumentParser(prog="flowpilot-admin", description="FlowPilot operator commands")
    sub = parser.add_subparsers(dest="area", required=True)
    letters = sub.add_parser("dlq", help="dead-letter queues")
    letters.add_argument("action", choices=["list", "replay"])
    letters.add_argument("--queue", help="a consumer queue (e.g. notifier.email); default: all")
    letters.add_argument("--id", action="append", help="replay only this message id (repeatable)")
    letters.add_argument("--json", action="store_true", help="machine-readable output")
    letters.add_argument("--amqp-url", help="default: FLOWPILOT_AMQP_URL")
    rows = sub.add_parser("outbox", help="outbox rows the relay could not publish (retrying or dead)")
    rows.add_argument("action", choices=["list", "retry"])
    rows.add_argument("--id", action="append", help="retry only this row (event) id (repeatable)")
    rows.add_argument("--dead", action="store_true", help="list only rows set aside as dead")
    rows.add_argument("--json", action="store_true", help="machine-readable output")
    rows.add_argument("--database-url", help="default: FLOWPILOT_DATABASE_URL")
    args = parser.parse_args(argv)
    print(asyncio.run(_dead_letters(args) if args.area == "dlq" else _outbox(args)))


if __name__ == "__main__":
    main()

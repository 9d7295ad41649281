"""Raw limits of this machine, measured in the same run as our numbers."""

from __future__ import annotations

import asyncio
import os
import time
import uuid

import aio_pika
import asyncpg

IN_FLIGHT = 32
PAYLOAD = b"x" * 1200


async def postgres_commits_per_second(dsn: str, *, seconds: float = 5.0) -> float:
    """Escalation-shaped transactions (two inserts and a commit), IN_FLIGHT at once."""
    admin = await asyncpg.connect(dsn)
    table = f"bench_raw_{uuid.uuid4().hex[:8]}"
    await admin.execute(f"CREATE TABLE {table}_a (id uuid primary key, body text)")
    await admin.execute(f"CREATE TABLE {table}_h (id uuid primary key, a uuid, body jsonb)")
    pool = await asyncpg.create_pool(dsn, min_size=IN_FLIGHT, max_size=IN_FLIGHT)
    done = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        async with pool.acquire() as conn:
            while time.perf_counter() < deadline:
                async with conn.transaction():
                    a = uuid.uuid4()
                    await conn.execute(f"INSERT INTO {table}_a VALUES ($1, $2)", a, "escalation")
                    await conn.execute(
                        f"INSERT INTO {table}_h VALUES ($1, $2, $3)", uuid.uuid4(), a, '{"k": 1}'
                    )
                done += 1

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))
    elapsed = time.perf_counter() - start
    await pool.close()
    await admin.execute(f"DROP TABLE {table}_a; DROP TABLE {table}_h")
    await admin.close()
    return done / elapsed


async def rabbitmq_publishes_per_second(amqp_url: str, *, seconds: float = 5.0) -> float:
    """Confirmed persistent 1.2 KB publishes to a durable quorum queue, IN_FLIGHT outstanding."""
    connection = await aio_pika.connect(amqp_url)
    channel = await connection.channel(publisher_confirms=True)
    name = f"bench.raw.{uuid.uuid4().hex[:8]}"
    queue = await channel.declare_queue(name, durable=True, arguments={"x-queue-type": "quorum"})
    done = 0
    deadline = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            await channel.default_exchange.publish(
                aio_pika.Message(PAYLOAD, delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
                routing_key=name,
                timeout=10,
            )
            done += 1

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))
    elapsed = time.perf_counter() - start
    await queue.delete(if_unused=False, if_empty=False)
    await connection.close()
    return done / elapsed


if __name__ == "__main__":
    dsn = os.environ.get("BENCH_PG_DSN", "postgresql://postgres@127.0.0.1:5432/postgres")
    amqp = os.environ.get("BENCH_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
    print("postgres tx/s", round(asyncio.run(postgres_commits_per_second(dsn, seconds=3))))
    print("rabbitmq pub/s", round(asyncio.run(rabbitmq_publishes_per_second(amqp, seconds=3))))

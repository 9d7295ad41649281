"""Raw limits of this machine, measured in the same run as our numbers."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
import uuid
from typing import Any

import aio_pika
import asyncpg

from benchmarks.load import percentile

IN_FLIGHT = 32
PAYLOAD = b"x" * 1200
# One small commit every 20 ms (50/s, the rate commit→stream latency is measured at).
PROBE_INTERVAL_SECONDS = 0.02


def _ms_summary(latencies: list[float]) -> dict[str, Any]:
    if not latencies:
        return {"commits": 0}
    ms = [latency * 1000 for latency in latencies]
    return {
        "commits": len(ms),
        "p50_ms": round(percentile(ms, 50), 1),
        "p99_ms": round(percentile(ms, 99), 1),
        "max_ms": round(max(ms), 1),
    }


class CommitProbe:
    """One single-row insert and commit at a time, every 20 ms, on its own connection, each timed.

    Every handoff waits for its commit to reach the disk, so the tail of this box's commit latency
    is the floor of the API's and of commit→stream latency. Run alone it is a raw limit of the
    machine; run beside a load phase it shows what the disk did in that same window.
    """

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._table = f"bench_probe_{uuid.uuid4().hex[:8]}"
        self._latencies: list[float] = []
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> CommitProbe:
        conn = await asyncpg.connect(self._dsn)
        await conn.execute(f"CREATE TABLE {self._table} (id bigserial primary key, at timestamptz)")
        self._task = asyncio.create_task(self._run(conn), name="commit-probe")
        return self

    async def __aexit__(self, *exc: object) -> None:
        # Not cancelled: a commit cut off mid-flight would leave the connection unusable for the drop.
        self._stop.set()
        assert self._task is not None
        await self._task

    async def _run(self, conn: asyncpg.Connection) -> None:
        try:
            while not self._stop.is_set():
                start = time.perf_counter()
                await conn.execute(f"INSERT INTO {self._table} (at) VALUES (now())")
                self._latencies.append(time.perf_counter() - start)
                with contextlib.suppress(TimeoutError):
                    pause = max(0.0, PROBE_INTERVAL_SECONDS - (time.perf_counter() - start))
                    await asyncio.wait_for(self._stop.wait(), timeout=pause)
            await conn.execute(f"DROP TABLE {self._table}")
        finally:
            await conn.close()

    def summary(self) -> dict[str, Any]:
        """Commits timed, and their p50 / p99 / max in ms."""
        return _ms_summary(self._latencies)


async def postgres_commit_latency(dsn: str, *, seconds: float = 10.0) -> dict[str, Any]:
    """The commit probe alone on the idle box."""
    async with CommitProbe(dsn) as probe:
        await asyncio.sleep(seconds)
    return probe.summary()


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

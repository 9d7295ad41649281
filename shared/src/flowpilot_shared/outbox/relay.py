"""Publishes pending outbox rows with confirms: one active relay per partition, the others on standby.

Every service process runs a relay for its own service's rows (`partitions.py`), so a commit wakes
the relay of its own process. Of a service's replicas, the one holding the partition's advisory lock
is active, so two relays never publish one session's rows out of order; standbys ask for the lock
twice a second (taking over within half a second of the active connection ending), and their
commits wake the active one through the broker (`broker_wake.py`).

The active relay publishes over the lock's connection in plain asyncpg statements (a pass runs for
nearly every commit: no pool, no ORM); without it (and the lock) it cannot mark anything. Being the
only one, a pass needs no transaction and no row locks: read the pending rows (marking the earlier
passes' in the same statement, `marks.py`), publish. A crash before the mark publishes them again,
which the inboxes absorb. A pass late for its confirms runs beside the next one (`passes.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import asyncpg
import structlog

from flowpilot_shared.broker.publisher import Publisher, connect
from flowpilot_shared.closing import cancel_quietly, close_quietly, finish_or_cancel
from flowpilot_shared.db import Database, session_settings
from flowpilot_shared.outbox import housekeeping, marks
from flowpilot_shared.outbox.active import connect_when_active, listen, until_closed
from flowpilot_shared.outbox.broker_wake import BrokerWake
from flowpilot_shared.outbox.partitions import partition_for
from flowpilot_shared.outbox.passes import HeldBack, InFlight, count_outcomes, publish_in_session_order
from flowpilot_shared.outbox.pending import record_failures
from flowpilot_shared.outbox.wake import COALESCE_SECONDS
from flowpilot_shared.settings import CoreSettings

log = structlog.get_logger(__name__)

MAX_BACKOFF_SECONDS = 5.0
RECONNECT_SECONDS = 1.0
# Passes waiting for their confirms at once (each up to outbox_batch_size rows).
MAX_PASSES_IN_FLIGHT = 4
# A pass starts beside one still waiting for its confirms once that one is this late: a confirm in
# time is waited for (the next pass carries all committed meanwhile), a slow one holds up nothing.
OVERLAP_AFTER_SECONDS = 0.03


class OutboxRelay:
    """Background task: while active, wakes on a commit (or polls), publishes pending rows and marks them."""

    def __init__(self, *, db: Database, settings: CoreSettings, name: str) -> None:
        self._db = db
        self._settings = settings
        self._name = name
        self.partition = partition_for(name)
        self._wake = asyncio.Event()
        self._broker_wake = BrokerWake(amqp_url=settings.amqp_url, name=name, partition=self.partition)
        # A pass due for rows nobody watches live, COALESCE_SECONDS after the first of them.
        self._shortly: asyncio.TimerHandle | None = None
        self._active = asyncio.Event()
        # The connection holding the active-relay lock, while this relay is active.
        self._conn: asyncpg.Connection | None = None
        self._publisher: Publisher | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False
        # Passes waiting for their confirms (passes.py); reads and marks share the one connection.
        self._in_flight = InFlight()
        self._marks = marks.PendingMarks()  # published rows whose mark rides on the next read
        self._passes: set[asyncio.Task[None]] = set()
        self._last_pass_started = 0.0
        self._conn_lock = asyncio.Lock()
        self._backoff = 0.0
        # Other channels this process listens to on the same connection (see `listen_also`).
        self._also: dict[str, Callable[[], None]] = {}

    async def start(self) -> None:
        """Start publishing, listening and retention sweeps in the background."""
        self._db.outbox_waker.attach(self._wake_if_active, self._broker_wake.send)
        self._tasks = [
            asyncio.create_task(self._publish_loop(), name=f"{self._name}-relay"),
            asyncio.create_task(self._listen_loop(), name=f"{self._name}-relay-listen"),
        ]
        if self.partition.default:  # it keeps the whole table's gauges and retention: one process does
            sweeps = housekeeping.run(
                self._db,
                retention_hours=self._settings.outbox_retention_hours,
                keeping=lambda: self.active,
                stopping=lambda: self._stopping,
            )
            self._tasks.append(asyncio.create_task(sweeps, name=f"{self._name}-relay-housekeeping"))

    async def stop(self) -> None:
        """Stop the background tasks and close the broker connection."""
        self._db.outbox_waker.detach(self._wake_if_active)
        if self._shortly is not None:
            self._shortly.cancel()
        self._stopping = True
        if self._conn is not None:  # else they are published again, which the inboxes absorb
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.flush_marks(self._conn), timeout=2.0)
        await finish_or_cancel({*self._tasks, *self._passes}, grace_seconds=0)
        await close_quietly(self._publisher)
        await self._broker_wake.close()

    @property
    def active(self) -> bool:
        """Whether this relay holds the active-relay lock (the others stand by)."""
        return self._active.is_set()

    async def listen_also(self, channel: str, callback: Callable[[], None]) -> None:
        """Call `callback` on a NOTIFY on `channel` while this relay is active, on its connection
        (another LISTEN connection would cost a transaction on every NOTIFY: see `active.listen`)."""
        self._also[channel] = callback
        if self._conn is not None:
            with contextlib.suppress(Exception):  # lost: the next connection listens again
                await listen(self._conn, {channel: callback})

    def _wake_if_active(self, soon: bool) -> bool:
        """This process committed outbox rows: start a pass if this is the active relay, at once for
        rows people watch live (`soon`), else sharing one pass with the commits of the next 50 ms."""
        if not self._active.is_set():
            return False
        loop = asyncio.get_running_loop()
        if soon:
            self._wake.set()
        elif self._shortly is None or self._shortly.when() <= loop.time():  # none due yet
            self._shortly = loop.call_later(COALESCE_SECONDS, self._wake.set)
        return True

    async def _ensure_publisher(self) -> Publisher:
        if self._publisher is None:
            connection = await connect(self._settings.amqp_url, f"{self._name}-outbox-relay")
            self._publisher = Publisher(connection, self._settings.publish_timeout_seconds)
        return self._publisher

    async def publish_pending(self, conn: asyncpg.Connection) -> tuple[int, int]:
        """One pass over `conn` (the active relay's), start to finish; returns (published, failed)."""
        publisher = await self._ensure_publisher()
        rows = await self._read(conn)
        outcome = await self._complete(conn, publisher, rows) if rows else (0, 0)
        await self.flush_marks(conn)
        return outcome

    async def flush_marks(self, conn: asyncpg.Connection) -> None:
        """Mark the published rows still waiting for the next read, now."""
        async with self._conn_lock:
            await marks.flush(conn, self._marks)

    async def _read(self, conn: asyncpg.Connection) -> list[asyncpg.Record]:
        """Pending rows not in flight whose session has nothing in flight, now counted as in flight."""
        async with self._conn_lock:
            # Earlier passes' marks go in the same statement (one commit), their rows left out.
            rows = await marks.read_pending(
                conn,
                self._marks,
                partition=self.partition,
                batch=self._settings.outbox_batch_size,
                in_flight=self._in_flight.ids,
            )
        return self._in_flight.take(rows)

    async def _complete(
        self, conn: asyncpg.Connection, publisher: Publisher, rows: list[asyncpg.Record]
    ) -> tuple[int, int]:
        """Publish the rows, wait for the confirms, mark what went out and record what did not."""
        try:
            results = await self._publish_in_session_order(publisher, rows)
            now = datetime.now(UTC)
            published = [row["id"] for row, result in zip(rows, results, strict=True) if result is None]
            # Rows held back behind a failed one were not tried: they are left as they are.
            failed = [
                (row, result)
                for row, result in zip(rows, results, strict=True)
                if result is not None and not isinstance(result, HeldBack)
            ]
            if published:
                self._marks.add(published, rows[0]["read_at"])
            async with self._conn_lock:
                # Failures (rare) are recorded at once, in one statement.
                if failed:
                    errors = await record_failures(
                        conn, failed, max_attempts=self._settings.outbox_row_max_attempts
                    )
        finally:
            if self._in_flight.release(rows):
                self._wake.set()  # rows of these sessions waited for this pass
        if failed:
            # Once per pass; a refused row waits out its own retry, other failures back the relay off.
            log.warning("outbox rows not published", relay=self._name, rows=len(failed), error=errors[0])
        count_outcomes(rows, results, now)
        return len(published), len(failed)

    def _back_off(self) -> None:
        """Wait longer before the next pass (doubling, from 0.1 s up to MAX_BACKOFF_SECONDS)."""
        self._backoff = min(max(self._backoff * 2, 0.1), MAX_BACKOFF_SECONDS)

    async def _publish_in_session_order(
        self, publisher: Publisher, rows: Sequence[asyncpg.Record]
    ) -> list[BaseException | None]:
        """A pass's publishing step (`passes.publish_in_session_order`); tests hold or fail it here."""
        limit = self._settings.outbox_max_payload_bytes
        return await publish_in_session_order(publisher, rows, max_payload_bytes=limit)

    async def _run_pass(
        self, conn: asyncpg.Connection, publisher: Publisher, rows: list[asyncpg.Record]
    ) -> None:
        """A pass in the background; what it found sets the relay's backoff."""
        try:
            published, failed = await self._complete(conn, publisher, rows)
        except Exception as exc:  # broker or database down: the rows stay pending, retried later
            log.warning("outbox relay pass failed", error=str(exc), relay=self._name)
            published, failed = 0, 1
            await self._reset_publisher(publisher)
        if failed and not published:
            # Nothing got through: the broker or the connection is the likely cause, not a row.
            self._back_off()
        elif published:
            self._backoff = 0.0

    async def _publish_loop(self) -> None:
        last_pass = 0.0
        while not self._stopping:
            await self._active.wait()
            conn = self._conn
            if conn is None:
                continue
            if self._passes:
                late_in = OVERLAP_AFTER_SECONDS - (time.monotonic() - self._last_pass_started)
                if len(self._passes) >= MAX_PASSES_IN_FLIGHT or late_in > 0:
                    timeout = None if len(self._passes) >= MAX_PASSES_IN_FLIGHT else late_in
                    await asyncio.wait(self._passes, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
                    continue
            if self._backoff:
                await asyncio.sleep(self._backoff)
            since = time.monotonic() - last_pass
            if since < self._settings.outbox_min_pass_interval_seconds:
                await asyncio.sleep(self._settings.outbox_min_pass_interval_seconds - since)
            last_pass = time.monotonic()
            try:
                # Here, not in the passes: two passes must never each open a broker connection.
                publisher = await self._ensure_publisher()
                rows = await self._read(conn)
            except Exception as exc:  # broker or database down: the rows stay pending
                log.warning("outbox relay pass failed", error=str(exc), relay=self._name)
                self._back_off()
                await self._reset_publisher()
                continue
            if rows:
                task = asyncio.create_task(
                    self._run_pass(conn, publisher, rows), name=f"{self._name}-relay-pass"
                )
                self._passes.add(task)
                self._last_pass_started = time.monotonic()
                task.add_done_callback(self._passes.discard)
                if len(rows) >= self._settings.outbox_batch_size:
                    continue  # more may be waiting
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._settings.outbox_poll_seconds)
            self._wake.clear()

    async def _reset_publisher(self, publisher: Publisher | None = None) -> None:
        """Close the broker connection (`publisher`'s, unless a pass already replaced it)."""
        old = publisher or self._publisher
        if self._publisher is old:
            self._publisher = None  # before closing: the next pass opens a new one meanwhile
        await close_quietly(old)

    async def _listen_loop(self) -> None:
        """Wait for the active-relay lock, then publish (LISTEN, take wake-ups) until the connection drops."""
        while not self._stopping:
            conn, woken_by_standbys = None, None
            try:
                conn = await connect_when_active(
                    self._settings.database_url,
                    lock_key=self.partition.lock_key,
                    server_settings=session_settings(self._settings),
                )
                heard = {self.partition.channel: self._wake.set, **self._also}
                await listen(conn, heard)
                log.info("outbox relay active", relay=self._name, partition=self.partition.name)
                self._conn = conn
                await listen(conn, {c: call for c, call in self._also.items() if c not in heard})
                self._active.set()
                self._wake.set()  # rows committed while no relay was active
                woken_by_standbys = asyncio.create_task(self._broker_wake.take(self._wake.set))
                await until_closed(conn)
            except Exception as exc:
                log.debug("outbox listen connection lost", error=str(exc))
            finally:
                # The lock went with the connection: stop publishing before another relay starts.
                self._active.clear()
                self._conn = None
                await cancel_quietly(woken_by_standbys)
                if conn is not None:
                    with contextlib.suppress(Exception):
                        await conn.close()
            await asyncio.sleep(RECONNECT_SECONDS)

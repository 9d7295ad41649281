"""The active relay notices its connection closed even when asyncpg does not call its listeners."""

from __future__ import annotations

import asyncio

import asyncpg

from flowpilot_shared.db import asyncpg_dsn
from flowpilot_shared.outbox.active import until_closed
from tests.harness.waiting import wait_until


async def test_a_connection_aborted_without_its_termination_listeners_still_ends_the_wait(core_settings):
    conn = await asyncpg.connect(asyncpg_dsn(core_settings.database_url))
    waiting = asyncio.create_task(until_closed(conn))
    try:
        await asyncio.sleep(0)
        assert not waiting.done()
        conn._abort()  # closed as asyncpg closes a connection it was already closing: no listener called
        await wait_until(waiting.done, timeout=10, message="the wait for the connection's end is over")
    finally:
        waiting.cancel()
        conn.terminate()

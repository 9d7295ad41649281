"""A standby's wake-ups while the broker is away: bounded, and said once."""

from __future__ import annotations

import asyncio
import contextlib

from structlog.testing import capture_logs

from flowpilot_shared.outbox import wake
from flowpilot_shared.outbox.wake import OutboxWaker
from tests.harness.waiting import wait_until


@contextlib.asynccontextmanager
async def _no_database():
    raise AssertionError("a replica with a relay wakes the active one through the broker")
    yield


async def test_wake_ups_that_cannot_be_sent_are_tried_once_per_pause_and_logged_once(monkeypatch):
    monkeypatch.setattr(wake, "FAILED_WAKE_PAUSE_SECONDS", 600.0)  # no second try until closing
    attempts: list[bool] = []
    broker_up = False

    async def send() -> None:
        attempts.append(broker_up)
        if not broker_up:
            raise ConnectionError("broker away")

    waker = OutboxWaker(_no_database)
    waker.attach(lambda soon: False, send)  # this process' relay stands by
    with capture_logs() as logs:
        waker.poke()
        await wait_until(lambda: attempts == [False], message="the first wake-up tried")
        for _ in range(50):  # commits keep coming while the broker is away
            waker.poke()
            await asyncio.sleep(0)
        assert attempts == [False]
        broker_up = True
        await waker.close()  # ends the pause: what is pending is sent once more, now through
    assert attempts == [False, True]
    assert [(e["event"], e.get("failed_meanwhile")) for e in logs] == [
        ("outbox wake-ups not sent", None),
        ("outbox wake-ups sent again", 1),
    ]

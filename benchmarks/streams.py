"""Many SSE clients on one notifier, recording when each `handoff_created` reached each of them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from benchmarks.http import SseStream

STREAM_PATH = "/api/v1/ai-sessions/escalations/stream"


@lru_cache(maxsize=1024)
def _handoff_of(data: str) -> tuple[str, float]:
    """Handoff id and commit stamp of a `handoff_created` event's data.

    Parsed once per event, not once per client: with 5,000 clients the generator's own JSON parsing
    competed with the notifier for the same two cores while the fan-out was being timed.
    """
    body = json.loads(data)
    return body["handoff_id"], datetime.fromisoformat(body["escalated_at"]).timestamp()


class Listeners:
    """Open streams and, per handoff, the commit stamp and every client's arrival time."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.streams: list[SseStream] = []
        self.arrivals: dict[str, list[float]] = {}
        self.escalated_at: dict[str, float] = {}

    def _on_event(self, name: str, data: str, received: float) -> None:
        if name != "handoff_created":
            return
        handoff_id, escalated_at = _handoff_of(data)
        self.arrivals.setdefault(handoff_id, []).append(received)
        self.escalated_at.setdefault(handoff_id, escalated_at)

    async def connect(self, tokens: Sequence[str], *, concurrency: int = 50) -> None:
        """Open one stream per token (tokens may repeat: one user, many tabs), `concurrency` at a time."""
        gate = asyncio.Semaphore(concurrency)

        async def one(token: str) -> None:
            async with gate:
                stream = SseStream("127.0.0.1", self.port, STREAM_PATH, token, self._on_event)
                for attempt in range(5):
                    try:
                        await stream.open()
                        break
                    except Exception:
                        if attempt == 4:
                            raise
                        await asyncio.sleep(0.5 * (attempt + 1))
                self.streams.append(stream)

        await asyncio.gather(*(one(t) for t in tokens))

    def latencies_ms(self) -> list[float]:
        """Commit (escalated_at, stamped in the handoff transaction) to receipt, per client and event."""
        out: list[float] = []
        for handoff_id, times in self.arrivals.items():
            start = self.escalated_at[handoff_id]
            out.extend((t - start) * 1000 for t in times)
        return out

    async def fan_out_ms(self, handoff_id: str, *, expected: int, timeout: float = 30.0) -> dict[str, Any]:
        """Wait until `expected` clients got the handoff; commit to first and to last arrival."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self.arrivals.get(handoff_id, ())) < expected and loop.time() < deadline:
            await asyncio.sleep(0.01)
        times = self.arrivals.get(handoff_id, [])
        start = self.escalated_at.get(handoff_id, 0.0)
        return {
            "received": len(times),
            "expected": expected,
            "first_ms": round((min(times) - start) * 1000, 1) if times else None,
            "all_ms": round((max(times) - start) * 1000, 1) if times else None,
        }

    async def close(self) -> None:
        """Close every stream."""
        await asyncio.gather(*(s.close() for s in self.streams), return_exceptions=True)
        self.streams.clear()

"""Open-loop load: handoffs sent on a fixed arrival schedule, latency measured from the scheduled time.

Measuring from the schedule (not from when a request actually left) counts the time a request waited
behind slow ones, so a stalled server shows up in the percentiles (no coordinated omission).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from benchmarks.http import HttpPool
from benchmarks.seed import Team


def percentile(values: Sequence[float], p: float) -> float:
    """The p-th percentile (nearest rank) of `values`; 0 when empty."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(p / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


@dataclass
class LoadResult:
    """What one open-loop run saw."""

    rate: float
    seconds: float
    sent: int = 0
    ok: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)
    # (session_id, handoff_id, answered at) of each created handoff
    handoffs: list[tuple[uuid.UUID, uuid.UUID, float]] = field(default_factory=list)
    elapsed: float = 0.0

    @property
    def achieved(self) -> float:
        """Successful handoffs per second over the run."""
        return self.ok / self.elapsed if self.elapsed else 0.0

    def summary(self) -> dict[str, float | int | dict[str, int]]:
        """Percentiles and counts, rounded for the table."""
        lat = self.latencies_ms
        return {
            "target_rate": self.rate,
            "achieved_rate": round(self.achieved, 1),
            "sent": self.sent,
            "ok": self.ok,
            "errors": self.errors,
            "p50_ms": round(percentile(lat, 50), 1),
            "p95_ms": round(percentile(lat, 95), 1),
            "p99_ms": round(percentile(lat, 99), 1),
            "max_ms": round(max(lat), 1) if lat else 0.0,
        }


async def run_handoffs(
    api: HttpPool,
    teams: Sequence[Team],
    *,
    rate: float,
    seconds: float,
    on_created: Callable[[uuid.UUID, uuid.UUID, float], None] | None = None,
) -> LoadResult:
    """POST /handoff (escalate) `rate` times a second for `seconds`, round-robin over the teams."""
    with collector_paused():
        return await _run(api, teams, rate=rate, seconds=seconds, on_created=on_created)


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """No garbage collection in this process while a load step runs; one full pass before it.

    The generator holds every seeded team, token and result: a full collection here stalls the
    arrival schedule, which an open-loop generator counts as the API's latency.
    """
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


async def _run(
    api: HttpPool,
    teams: Sequence[Team],
    *,
    rate: float,
    seconds: float,
    on_created: Callable[[uuid.UUID, uuid.UUID, float], None] | None,
) -> LoadResult:
    result = LoadResult(rate=rate, seconds=seconds)
    total = int(rate * seconds)
    cycle = itertools.cycle(teams)
    tasks: list[asyncio.Task[None]] = []
    start = time.perf_counter() + 0.05

    async def one(team: Team, session_id: uuid.UUID, scheduled: float) -> None:
        try:
            response = await api.request(
                "POST",
                f"/api/v1/ai-sessions/{session_id}/handoff",
                body={"intent": "escalate", "reason": "Stuck after profile rebuild; needs a senior"},
                headers={"Authorization": f"Bearer {team.junior_token}"},
            )
        except Exception as exc:
            result.errors[type(exc).__name__] = result.errors.get(type(exc).__name__, 0) + 1
            return
        done = time.perf_counter()
        if response.status != 201:
            key = str(response.status)
            result.errors[key] = result.errors.get(key, 0) + 1
            return
        result.ok += 1
        result.latencies_ms.append((done - scheduled) * 1000)
        handoff_id = uuid.UUID(response.json()["id"])
        result.handoffs.append((session_id, handoff_id, time.time()))
        if on_created is not None:
            on_created(team.account_id, handoff_id, time.time())

    for i in range(total):
        scheduled = start + i / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        team = next(cycle)
        result.sent += 1
        tasks.append(asyncio.create_task(one(team, team.next_session(), scheduled)))
    await asyncio.gather(*tasks)
    result.elapsed = max(time.perf_counter() - start, 1e-9)
    return result

"""Outcomes of a process' calls that finish together, recorded in one statement."""

from __future__ import annotations

import asyncio

from notifier.channels.ledger import Connect, Outcome, record_outcomes

# How long a call's outcome waits for the outcomes of the calls made beside it (the call is made and
# its row says so already; only the settle waits).
OUTCOME_LINGER_SECONDS = 0.01


class OutcomeWriter:
    """Records the outcomes of a channel's calls, those that finish together in one statement.

    An escalation's emails are sent concurrently and their outcomes often arrive together: one
    statement records them (and, one writer serving every channel of the process, the chat post's
    with them). Each outcome waits OUTCOME_LINGER_SECONDS for company; one statement is in flight at
    a time, and those arriving meanwhile go in the next. Each caller returns once its own outcome is
    committed, as with `ledger.record_outcome`.
    """

    def __init__(self, connect: Connect) -> None:
        self._connect = connect
        self._turn = asyncio.Lock()
        self._waiting: list[tuple[Outcome, asyncio.Future[None]]] = []

    async def record(self, done: Outcome) -> None:
        """Record `done` (with whatever else is waiting); returns once committed."""
        committed = asyncio.get_running_loop().create_future()
        self._waiting.append((done, committed))
        await asyncio.sleep(OUTCOME_LINGER_SECONDS)
        # Each waiting caller takes a turn and each turn writes whatever waits: none is left behind.
        async with self._turn:
            batch, self._waiting = self._waiting, []
            if batch:
                try:
                    await record_outcomes(self._connect, [item for item, _ in batch])
                except Exception as exc:
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(exc)
                else:
                    for _, future in batch:
                        if not future.done():
                            future.set_result(None)
        await committed

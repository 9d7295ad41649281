"""Stopping psa-sync while a push waits out a PSA's Retry-After: the stop is prompt, the note not lost."""

from __future__ import annotations

import time

from flowpilot_shared.db import Database
from tests.fakes.psa import FakePsa
from tests.harness.factories import commit_events
from tests.harness.waiting import wait_until
from tests.psa_sync.conftest import documentation_event, make_scenario, push_row, settled_row

# The PSA asks for a pause far longer than any shutdown may take (Kubernetes kills a pod after 30 s).
RETRY_AFTER_SECONDS = 600
PROMPT_STOP_SECONDS = 20


async def test_stop_mid_backoff_returns_promptly_and_the_push_resumes(
    db: Database, fake_psa: FakePsa, start_app
):
    fake_psa.fail("connectwise", 503, times=1, retry_after=RETRY_AFTER_SECONDS)
    scenario = await make_scenario(db, fake_psa, "connectwise")
    event = documentation_event(scenario)
    async with start_app(psa_retry_after_max_seconds=RETRY_AFTER_SECONDS):
        await commit_events(db, event)

        async def waiting_to_retry() -> bool:
            row = await push_row(db, event.data.documentation_id)
            return row is not None and row.last_error is not None

        await wait_until(waiting_to_retry, timeout=30, message="first attempt refused, retry pending")
        stopping = time.monotonic()
    took = time.monotonic() - stopping
    assert took < PROMPT_STOP_SECONDS, f"shutdown waited {took:.1f}s of the PSA's {RETRY_AFTER_SECONDS}s"
    assert (await push_row(db, event.data.documentation_id)).status == "pending"

    # The message went back to the queue: the next start pushes the note, once.
    async with start_app():
        row = await settled_row(db, event.data.documentation_id, timeout=30)
    assert row.status == "pushed"
    assert len(fake_psa.ticket_notes("connectwise", "4711")) == 1

"""Once started, a service freezes its start-up objects so full collections stop stalling the loop."""

from __future__ import annotations

import gc

from flowpilot_shared.service import GC_GEN0_THRESHOLD, settle_garbage_collector


def test_settled_collector_skips_startup_objects() -> None:
    before = gc.get_threshold()
    long_lived = [[i] for i in range(200_000)]  # start-up state of a service, roughly
    try:
        settle_garbage_collector()
        # Frozen objects sit in the permanent generation, which no collection walks.
        assert gc.get_freeze_count() >= len(long_lived)
        assert gc.get_threshold()[0] == GC_GEN0_THRESHOLD
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
        del long_lived

"""Once started, a service freezes its start-up objects so full collections stop stalling the loop."""

from __future__ import annotations

import json
import subprocess
import sys

from flowpilot_shared.service import GC_GEN0_THRESHOLD

# In a fresh interpreter: in this one, any earlier in-process app start has already frozen the
# collector, so a settle that did nothing would still look settled.
_SETTLE_IN_FRESH_PROCESS = """
import gc, json
from flowpilot_shared.service import settle_garbage_collector
long_lived = [[i] for i in range(200_000)]  # start-up state of a service, roughly
before = {"frozen": gc.get_freeze_count(), "threshold": gc.get_threshold()}
settle_garbage_collector()
after = {"frozen": gc.get_freeze_count(), "threshold": gc.get_threshold()}
print(json.dumps({"before": before, "after": after, "long_lived": len(long_lived)}))
"""


def test_settled_collector_skips_startup_objects() -> None:
    child = subprocess.run(
        [sys.executable, "-c", _SETTLE_IN_FRESH_PROCESS],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert child.returncode == 0, child.stderr
    report = json.loads(child.stdout)
    before, after = report["before"], report["after"]
    assert before["frozen"] == 0 and before["threshold"][0] != GC_GEN0_THRESHOLD
    # Frozen objects sit in the permanent generation, which no collection walks.
    assert after["frozen"] >= report["long_lived"]
    assert after["threshold"] == [GC_GEN0_THRESHOLD, *before["threshold"][1:]]

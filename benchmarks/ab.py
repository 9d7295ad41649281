"""Two versions of the code measured alternately on one machine: what a change did to an escalation's cost.

    uv run --frozen python -m benchmarks.ab REV            # REV against the working tree
    uv run --frozen python -m benchmarks.ab REV_A REV_B    # two revisions
    BENCH_AB_ROUNDS=4 BENCH_COST_SECONDS=30 uv run --frozen python -m benchmarks.ab HEAD~3

This VM's speed for Python's I/O drifts by a third within an hour, more than most changes move the
cost, so one run of each version says little. Each round runs `benchmarks.cost` once in each
version's tree (a git worktree with its own environment), swapping which goes first from round to
round, and every run is printed beside the fakes' CPU per escalation: the fakes do the same work for
both versions, so `services / fakes` compares the versions with the box's drift divided out.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROUNDS = int(os.environ.get("BENCH_AB_ROUNDS", "3"))
ROOT = Path(__file__).resolve().parent.parent


def _tree(rev: str | None, workdir: Path) -> Path:
    """The working tree itself (rev None), or a worktree of `rev` with its environment synced."""
    if rev is None:
        return ROOT
    path = workdir / rev.replace("/", "_").replace("~", "-")
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(path), rev], check=True)
    subprocess.run(["uv", "sync", "--frozen", "--all-packages", "--quiet"], cwd=path, check=True)
    return path


def _cost_run(tree: Path, out: Path) -> dict[str, Any]:
    """One `benchmarks.cost` run in `tree` (one sustained run at BENCH_COST_RATE)."""
    env = {**os.environ, "BENCH_COST_RUNS": "1", "BENCH_OUT": str(out)}
    env.pop("VIRTUAL_ENV", None)  # each tree runs in its own environment
    subprocess.run(
        ["uv", "run", "--frozen", "python", "-m", "benchmarks.cost"], cwd=tree, env=env, check=True
    )
    run: dict[str, Any] = json.loads(out.read_text())[0]
    return run


def _summary(runs: list[dict[str, Any]]) -> dict[str, Any]:
    services = [r["per_escalation"]["services_cpu_ms"] for r in runs]
    ratios = [r["per_escalation"]["services_cpu_ms"] / r["per_escalation"]["fakes_cpu_ms"] for r in runs]
    # Each process's own median too: a change to one service shows there when the others' drift
    # hides it in the total.
    processes = runs[0]["cpu_ms_per_escalation"].keys()
    return {
        "services_cpu_ms_median": statistics.median(services),
        "services_per_fakes_median": statistics.median(ratios),
        "cpu_ms_median": {
            name: round(statistics.median(r["cpu_ms_per_escalation"][name] for r in runs), 2)
            for name in processes
        },
    }


def main(revs: list[str]) -> dict[str, Any]:
    """Alternate the two versions' cost runs for ROUNDS rounds; print each run and the medians."""
    labels = [revs[0], revs[1] if len(revs) > 1 else "working tree"]
    runs: dict[str, list[dict[str, Any]]] = {label: [] for label in labels}
    with tempfile.TemporaryDirectory(prefix="flowpilot-ab-") as tmp:
        workdir = Path(tmp)
        trees = [_tree(revs[0], workdir), _tree(revs[1] if len(revs) > 1 else None, workdir)]
        try:
            for number in range(ROUNDS):
                order = [0, 1] if number % 2 == 0 else [1, 0]
                for index in order:
                    run = _cost_run(trees[index], workdir / f"run-{number}-{index}.json")
                    runs[labels[index]].append(run)
                    cost = run["per_escalation"]
                    print(
                        f"round {number + 1}/{ROUNDS} {labels[index]}: services {cost['services_cpu_ms']} ms, "
                        f"fakes {cost['fakes_cpu_ms']} ms, services/fakes "
                        f"{cost['services_cpu_ms'] / cost['fakes_cpu_ms']:.2f}, sustained={run['sustained']}",
                        flush=True,
                    )
        finally:
            for tree in trees:
                if tree != ROOT:
                    subprocess.run(
                        ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False
                    )
    result = {label: _summary(label_runs) for label, label_runs in runs.items()}
    for label, summary in result.items():
        print(
            f"{label}: median services {summary['services_cpu_ms_median']} ms, "
            f"median services/fakes {summary['services_per_fakes_median']:.2f}; "
            f"median per process (ms) {summary['cpu_ms_median']}"
        )
    return result


if __name__ == "__main__":
    if not 2 <= len(sys.argv) <= 3:
        sys.exit(__doc__)
    main(sys.argv[1:])

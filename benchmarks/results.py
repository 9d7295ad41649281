"""Benchmark history as data: each `make bench` run is one file in benchmarks/results/.

The file name is the run's date and host; beside the full results it carries `per_escalation`, the
cost of one escalation in the sustained pipeline run, the figure to compare across machines (absolute
rates swing with the machine, cost per escalation much less).
"""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(__file__).resolve().parent / "results"
SERVER_PROCESSES = ("postgresql", "rabbitmq")
NOT_OURS = ("benchmark",)


def per_escalation(results: dict[str, Any]) -> dict[str, float] | None:
    """CPU ms of our services, PostgreSQL, RabbitMQ and the fakes, and PostgreSQL commits, per escalation."""
    final = results.get("pipeline", {}).get("final")
    if not final:
        return None
    cpu: dict[str, float] = final["cpu_ms_per_escalation"]
    fakes = {name: ms for name, ms in cpu.items() if name.endswith(" fake")}
    services = {
        name: ms
        for name, ms in cpu.items()
        if name not in fakes and name not in (*SERVER_PROCESSES, *NOT_OURS)
    }
    return {
        "services_cpu_ms": round(sum(services.values()), 2),
        "postgres_commits": final.get("db_per_escalation", {}).get("commits", 0.0),
        "postgres_cpu_ms": cpu.get("postgresql", 0.0),
        "rabbitmq_cpu_ms": cpu.get("rabbitmq", 0.0),
        "fakes_cpu_ms": round(sum(fakes.values()), 2),
    }


def write(results: dict[str, Any]) -> Path:
    """Write the run as benchmarks/results/<date>-<host>.json (a second run that day adds the time)."""
    RESULTS_DIR.mkdir(exist_ok=True)
    started = time.gmtime(results.get("started", time.time()))
    host = socket.gethostname().split(".")[0] or "host"
    path = RESULTS_DIR / f"{time.strftime('%Y-%m-%d', started)}-{host}.json"
    if path.exists():
        path = RESULTS_DIR / f"{time.strftime('%Y-%m-%dT%H%M', started)}-{host}.json"
    path.write_text(json.dumps({**results, "per_escalation": per_escalation(results)}, indent=2, default=str))
    return path


def newest() -> tuple[Path, dict[str, Any]] | None:
    """The most recent run's file and results (by the time it started)."""
    runs = [(json.loads(p.read_text()), p) for p in RESULTS_DIR.glob("*.json")]
    if not runs:
        return None
    data, path = max(runs, key=lambda run: run[0].get("started", 0))
    return path, data


DOCS = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
START, END = "<!-- newest run: start -->", "<!-- newest run: end -->"


def update_docs(path: Path, results: dict[str, Any]) -> None:
    """Put the run's table between the markers of docs/benchmarks.md (the one current table)."""
    from benchmarks.report import render  # the report imports the phases; only needed here

    doc = DOCS.read_text()
    head, _, rest = doc.partition(START)
    _, _, tail = rest.partition(END)
    table = f"From `benchmarks/results/{path.name}`.\n\n{render(results)}\n"
    DOCS.write_text(f"{head}{START}\n{table}{END}{tail}")


def main() -> None:
    """`python -m benchmarks.results`: show the newest run in docs/benchmarks.md again."""
    found = newest()
    if found is None:
        raise SystemExit("no runs in benchmarks/results/")
    update_docs(*found)
    print(f"docs/benchmarks.md now shows {found[0].name}")


if __name__ == "__main__":
    main()

"""What processes use: resident memory and CPU time of a process tree, of every server process by name."""

from __future__ import annotations

import os
import resource
from pathlib import Path


def raise_fd_limit(want: int = 20000) -> int:
    """Raise this process' (and its children's) open-file limit as far as allowed."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = min(want, hard) if hard != resource.RLIM_INFINITY else want
    if soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def _tree(pid: int) -> list[int]:
    """`pid` and its descendants (uvicorn workers of a multi-worker service)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, ()))
    return found


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children in MB (VmRSS of /proc/<pid>/status)."""
    total = 0.0
    for member in _tree(pid):
        try:
            lines = Path(f"/proc/{member}/status").read_text().splitlines()
        except OSError:
            continue
        total += next((int(line.split()[1]) / 1024 for line in lines if line.startswith("VmRSS:")), 0.0)
    return total


def cpu_seconds(pid: int, *, system_only: bool = False) -> float:
    """User + system CPU time a process and its children have used so far (all their threads); with
    `system_only`, the part spent in the kernel (system calls) alone."""
    total = 0
    for member in _tree(pid):
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (0 if system_only else int(fields[11])) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


# Box-wide processes of the shared servers (their CPU includes anything else they serve meanwhile).
SERVER_PROCESSES = {"postgresql": "postgres", "rabbitmq": "beam.smp"}


def server_cpu_seconds(comm: str) -> float:
    """User + system CPU of every process named `comm` (all PostgreSQL backends, say)."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() != comm:
                continue
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def box_busy_seconds() -> float:
    """CPU time the whole machine has spent busy (every core, every process, interrupts included)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    # user nice system idle iowait irq softirq steal ...: all but idle and iowait
    busy = sum(fields[:8]) - fields[3] - fields[4]
    return busy / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    """User + system CPU of this process (the benchmark: load generator and effect polling)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime

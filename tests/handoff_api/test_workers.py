"""FLOWPILOT_API_WORKERS: several processes serve one port, and stop together."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.harness.infra import Infra
from tests.harness.processes import ServiceProcess


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def test_two_workers_answer_on_one_port_and_stop_together(infra: Infra, tmp_path: Path) -> None:
    env = {"FLOWPILOT_API_WORKERS": "2", "FLOWPILOT_DB_POOL_SIZE": "2", "FLOWPILOT_DB_MAX_OVERFLOW": "1"}
    api = ServiceProcess("handoff-api", env, tmp_path).start()
    try:
        assert api.process is not None
        workers = [p for p in _children(api.process.pid) if "spawn" in Path(f"/proc/{p}/cmdline").read_text()]
        assert len(workers) == 2, api.tail()
        with httpx.Client(base_url=api.url, timeout=10) as client:
            # Each request reaches a worker that has its own database pool and answers in full.
            # (A different unknown email each time: one email's wrong passwords are throttled after ten.)
            for i in range(20):
                refused = client.post(
                    "/api/v1/auth/login",
                    json={"email": f"nobody-{i}@example.com", "password": "wrong password"},
                )
                assert refused.status_code == 401
            assert client.get("/readyz").status_code == 200
    finally:
        api.stop()
    assert api.process.returncode == 0, api.tail()
    assert not any(Path(f"/proc/{pid}").exists() for pid in workers)

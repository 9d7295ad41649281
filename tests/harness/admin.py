"""Runs the operator CLI (`flowpilot-admin`) as an operator would: a process of its own."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ADMIN = str(Path(sys.executable).parent / "flowpilot-admin")


def run_admin(*args: str, env: dict[str, str]) -> str:
    """Its output; fails the test when it exits non-zero. `env` is added to this process's own."""
    done = subprocess.run(
        [ADMIN, *args], env={**os.environ, **env}, capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout

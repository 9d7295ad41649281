"""Outside development a service refuses to start on a missing, short or placeholder secret (real processes)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from pydantic import ValidationError

from flowpilot_shared.settings import CoreSettings
from tests.harness.processes import REPO, ServiceProcess

GOOD_JWT = "j" * 24 + "Qx7vR2mN9pL4kT8w"  # 40 characters, no placeholder word
GOOD_KEY = "k" * 24 + "Zc3bV6nM1qW5eR9t"
REFUSED = [
    ({"FLOWPILOT_JWT_SECRET": "", "FLOWPILOT_SECRET_KEY": GOOD_KEY}, "FLOWPILOT_JWT_SECRET is missing"),
    ({"FLOWPILOT_JWT_SECRET": "s3cr3t", "FLOWPILOT_SECRET_KEY": GOOD_KEY}, "shorter than 32 characters"),
    (
        {"FLOWPILOT_JWT_SECRET": GOOD_JWT, "FLOWPILOT_SECRET_KEY": "change-me-to-another-64-random-bytes"},
        "FLOWPILOT_SECRET_KEY is a known placeholder",
    ),
    (
        {"FLOWPILOT_JWT_SECRET": "flowpilot-compose-jwt-secret-change-me", "FLOWPILOT_SECRET_KEY": GOOD_KEY},
        "FLOWPILOT_JWT_SECRET is a known placeholder",
    ),
    ({"FLOWPILOT_JWT_SECRET": GOOD_JWT, "FLOWPILOT_SECRET_KEY": GOOD_JWT}, "must differ"),
]


IDS = ["missing", "short", "placeholder", "old-compose", "same"]


@pytest.mark.parametrize(("secrets", "reason"), REFUSED, ids=IDS)
def test_production_settings_refuse(secrets: dict[str, str], reason: str):
    values = {k.removeprefix("FLOWPILOT_").lower(): v for k, v in secrets.items()}
    with pytest.raises(ValidationError) as caught:
        CoreSettings(env="production", **values)
    assert reason in str(caught.value)
    assert all(v not in str(caught.value) for v in secrets.values() if len(v) > 8)


# A process each: what an operator sees when the service will not start.
@pytest.mark.parametrize(("secrets", "reason"), [REFUSED[0], REFUSED[3]], ids=[IDS[0], IDS[3]])
def test_production_process_refuses_to_start(infra, tmp_path: Path, secrets: dict[str, str], reason: str):
    service = ServiceProcess("handoff-api", {"FLOWPILOT_ENV": "production", **secrets}, tmp_path)
    service.start(wait=False)
    assert service.process is not None
    assert service.process.wait(timeout=60) != 0
    log = service.log_path.read_text()
    assert "refusing to start with FLOWPILOT_ENV=production" in log and reason in log
    for value in secrets.values():
        if len(value) > 8:
            assert value not in log, "the refusal must not print the secret"


def test_production_starts_with_real_secrets(infra, tmp_path: Path):
    env = {"FLOWPILOT_ENV": "production", "FLOWPILOT_JWT_SECRET": GOOD_JWT, "FLOWPILOT_SECRET_KEY": GOOD_KEY}
    service = ServiceProcess("notifier", env, tmp_path).start()
    try:
        assert "development defaults" not in service.log_path.read_text()
    finally:
        service.stop()


def test_development_starts_without_secrets_and_warns(infra, tmp_path: Path):
    unset = ("FLOWPILOT_ENV", "FLOWPILOT_JWT_SECRET", "FLOWPILOT_SECRET_KEY")
    service = ServiceProcess("psa-sync", {}, tmp_path, unset=unset).start()
    try:
        assert "development defaults" in service.log_path.read_text()
    finally:
        service.stop()


def test_make_up_generates_usable_secrets_once(tmp_path: Path):
    env_file = tmp_path / ".env"
    env_file.write_text("FLOWPILOT_PUBLIC_URL=http://localhost:8080\n")
    for _ in range(2):
        subprocess.run(["bash", str(REPO / "scripts" / "ensure-secrets.sh"), str(env_file)], check=True)
    values = dict(line.split("=", 1) for line in env_file.read_text().splitlines())
    assert values["FLOWPILOT_PUBLIC_URL"] == "http://localhost:8080"  # what was there stays
    assert len(env_file.read_text().splitlines()) == 3  # generated once, not again
    settings = CoreSettings(
        env="production", jwt_secret=values["FLOWPILOT_JWT_SECRET"], secret_key=values["FLOWPILOT_SECRET_KEY"]
    )
    assert settings.jwt_secret != settings.secret_key
    assert oct(env_file.stat().st_mode & 0o777) == "0o600"
    git = subprocess.run(["git", "check-ignore", "-q", ".env"], cwd=REPO)
    assert git.returncode == 0, ".env must be ignored by git"

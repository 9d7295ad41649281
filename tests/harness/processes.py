"""Real service processes (the console scripts) and the nginx gateway, for end-to-end and fault tests."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.fakes._server import free_port
from tests.fakes.slack import FakeSlack
from tests.fakes.smtp import FakeSmtp
from tests.harness.infra import Infra

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

SCRIPTS = {
    "handoff-api": ("flowpilot-handoff-api", "FLOWPILOT_API_PORT"),
    "notifier": ("flowpilot-notifier", "FLOWPILOT_NOTIFIER_PORT"),
    "docgen": ("flowpilot-docgen", "FLOWPILOT_DOCGEN_PORT"),
    "psa-sync": ("flowpilot-psa-sync", "FLOWPILOT_PSA_SYNC_PORT"),
}


def service_env(infra: Infra, smtp: FakeSmtp, slack: FakeSlack) -> dict[str, str]:
    """What every service process is started with: this worker's database and vhost, and the SMTP
    and Slack fakes to send to."""
    return {
        "FLOWPILOT_DATABASE_URL": infra.database_url,
        "FLOWPILOT_AMQP_URL": infra.amqp_url,
        "FLOWPILOT_SMTP_HOST": smtp.host,
        "FLOWPILOT_SMTP_PORT": str(smtp.port),
        "FLOWPILOT_SLACK_API_URL": slack.api_url,
    }


def wait_http(url: str, *, timeout: float = 30.0, process: subprocess.Popen[bytes] | None = None) -> None:
    """Block until `url` answers 200 (or fail, naming the process' exit if it died)."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise AssertionError(f"process exited with {process.returncode} before {url} was ready")
        try:
            response = httpx.get(url, timeout=2.0)
            if response.status_code == 200:
                return
            last = f"{response.status_code} {response.text[:200]}"
        except httpx.HTTPError as exc:
            last = str(exc)
        time.sleep(0.1)
    raise AssertionError(f"{url} not ready within {timeout}s: {last}")


@dataclass
class ServiceProcess:
    """One service replica as a real process, with its log in a file."""

    service: str
    env: dict[str, str]
    log_dir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0
    # Variables removed from the inherited environment (e.g. ANTHROPIC_API_KEY for the template path).
    unset: tuple[str, ...] = ()

    @property
    def url(self) -> str:
        """Base URL of this replica."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_path(self) -> Path:
        """Where this replica's output goes."""
        return self.log_dir / f"{self.service}-{self.port}.log"

    def start(self, *, wait: bool = True) -> ServiceProcess:
        """Start the console script; wait for /readyz unless told not to."""
        script, port_var = SCRIPTS[self.service]
        env = {k: v for k, v in {**os.environ, **self.env}.items() if k not in self.unset}
        env[port_var] = str(self.port)
        env["PYTHONUNBUFFERED"] = "1"  # the log file is complete up to a kill -9
        self.starts += 1
        log = self.log_path.open("ab")
        self.process = subprocess.Popen([str(BIN / script)], env=env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        if wait:
            try:
                self.wait_ready()
            except AssertionError as exc:
                # A replica that never became ready must not outlive the test (nor hold its port).
                self.stop()
                raise AssertionError(f"{exc}\n--- {self.log_path.name} ---\n{self.tail()}") from None
        return self

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Block until the replica says it is ready (database and broker reachable)."""
        wait_http(f"{self.url}/readyz", timeout=timeout, process=self.process)

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Send a signal (SIGKILL by default) and reap the process."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def stop(self) -> None:
        """Stop gracefully (SIGTERM), killing if it does not exit."""
        self.kill(signal.SIGTERM)

    @property
    def alive(self) -> bool:
        """Whether the process is running."""
        return self.process is not None and self.process.poll() is None

    def tail(self, lines: int = 60) -> str:
        """The end of the replica's log, for failure messages."""
        if not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])


@dataclass
class Gateway:
    """The real nginx gateway rendered from deploy/gateway for the given upstreams."""

    api: list[str]
    notifier: list[str]
    docgen: list[str]
    workdir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """Base URL of the gateway."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Gateway:
        """Render the config and start nginx in the foreground."""
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        subprocess.run(
            [
                "bash",
                str(REPO / "scripts" / "render-gateway.sh"),
                str(self.workdir),
                ",".join(self.api),
                ",".join(self.notifier),
                str(self.port),
                ",".join(self.docgen),
            ],
            check=True,
            capture_output=True,
        )
        self.process = subprocess.Popen(
            [nginx, "-p", str(self.workdir), "-c", str(self.workdir / "nginx.conf"), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        wait_http(f"{self.url}/gateway/healthz", timeout=15, process=self.process)
        return self

    def stop(self) -> None:
        """Stop nginx (SIGTERM: fast shutdown, so open SSE streams do not hold it up)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def tail(self, lines: int = 40) -> str:
        """The end of nginx's error log, for failure messages."""
        path = self.workdir / "logs" / "error.log"
        if not path.exists():
            return ""
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def nginx_available() -> bool:
    """Whether an nginx binary is installed."""
    return shutil.which("nginx") is not None or Path("/usr/sbin/nginx").exists()

"""The system under test: its own database and vhost, the fakes and the four services as processes."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar
from urllib.parse import quote

import aio_pika
import asyncpg
from sqlalchemy.engine import make_url
from tests.harness.processes import ServiceProcess, free_port

from benchmarks.procstats import SERVER_PROCESSES, cpu_seconds, own_cpu_seconds, server_cpu_seconds
from flowpilot_shared.broker.topology import ALL_QUEUES, UNROUTED_QUEUE
from flowpilot_shared.migrations.cli import upgrade

BASE_DB = os.environ.get(
    "FLOWPILOT_BENCH_DATABASE_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
)
BASE_AMQP = os.environ.get("FLOWPILOT_BENCH_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
JWT_SECRET = "bench-jwt-secret-" + uuid.uuid4().hex
SECRET_KEY = "bench-secret-key-" + uuid.uuid4().hex
# The notifier runs as two replicas, as a deployment with many stream clients would: one consumes the
# work queues (bell rows, email, chat), one serves the SSE streams (FLOWPILOT_NOTIFIER_QUEUES empty),
# so stream latency does not queue behind sending.
STREAM_REPLICA = "notifier-stream"
SERVICES = ("handoff-api", "notifier", STREAM_REPLICA, "docgen", "psa-sync")
# Consumers that do the after-commit work (bell rows, email, chat, documentation, PSA notes) run at a
# lower CPU priority than the API and the stream replica, as a shared box should be set up (in
# Kubernetes: CPU requests): the handoff and the live push come first, the rest catches up.
BACKGROUND = frozenset({"notifier", "docgen", "psa-sync"})
BACKGROUND_NICE = 10
# Streams only touch the database to authenticate and replay: a small pool keeps the total under the
# 100 connections this PostgreSQL allows.
REPLICA_OF = {
    STREAM_REPLICA: (
        "notifier",
        {"FLOWPILOT_NOTIFIER_QUEUES": "", "FLOWPILOT_DB_POOL_SIZE": "4", "FLOWPILOT_DB_MAX_OVERFLOW": "4"},
    )
}


@dataclass
class Stack:
    """Database, vhost, fakes and service processes of one benchmark run."""

    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="flowpilot-bench-")))
    services: dict[str, ServiceProcess] = field(default_factory=dict)
    fakes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    fake_ports: dict[str, int] = field(default_factory=dict)
    # OpenTelemetry variables of the services started from now on (`benchmarks/tracing.py`).
    tracing_env: dict[str, str] = field(default_factory=lambda: dict(Stack.UNTRACED))

    # Untraced whatever the shell exports.
    UNTRACED: ClassVar[dict[str, str]] = {"OTEL_TRACES_EXPORTER": "none"}

    @property
    def db_name(self) -> str:
        """This run's database."""
        return f"flowpilot_bench_{self.run_id}"

    @property
    def vhost(self) -> str:
        """This run's RabbitMQ vhost."""
        return f"flowpilot_bench_{self.run_id}"

    @property
    def database_url(self) -> str:
        """SQLAlchemy URL of this run's database."""
        return make_url(BASE_DB).set(database=self.db_name).render_as_string(hide_password=False)

    @property
    def dsn(self) -> str:
        """libpq DSN of this run's database."""
        return self.database_url.replace("postgresql+asyncpg://", "postgresql://", 1)

    @property
    def admin_dsn(self) -> str:
        """libpq DSN of the maintenance database."""
        return make_url(BASE_DB).set(drivername="postgresql").render_as_string(hide_password=False)

    @property
    def amqp_url(self) -> str:
        """AMQP URL of this run's vhost."""
        return BASE_AMQP.rstrip("/") + "/" + quote(self.vhost, safe="")

    async def provision(self) -> None:
        """Create and migrate the database; create the vhost."""
        conn = await asyncpg.connect(self.admin_dsn)
        try:
            await conn.execute(f'CREATE DATABASE "{self.db_name}"')
        finally:
            await conn.close()
        await asyncio.to_thread(upgrade, self.database_url)
        user = BASE_AMQP.split("//", 1)[1].split(":", 1)[0]
        _ctl("add_vhost", self.vhost)
        _ctl("set_permissions", "-p", self.vhost, user, ".*", ".*", ".*")

    def start_fakes(self) -> None:
        """SMTP sink, Slack and PSA fakes, each its own process (they must not share our event loop)."""
        for name in ("smtp", "slack", "psa"):
            port = free_port()
            extra = ["--count-only"] if name == "smtp" else []  # effects are counted in the database
            self.fakes[name] = subprocess.Popen(
                [sys.executable, "-m", f"tests.fakes.{name}", "--port", str(port), *extra],
                stdout=subprocess.DEVNULL,
                stderr=(self.workdir / f"fake-{name}.log").open("wb"),
            )
            self.fake_ports[name] = port
        for name, port in self.fake_ports.items():
            wait_port(port, self.fakes[name])

    def env(self) -> dict[str, str]:
        """Production-like settings (INFO logging, default pools and prefetch) aimed at this run."""
        env = {
            "FLOWPILOT_DATABASE_URL": self.database_url,
            "FLOWPILOT_AMQP_URL": self.amqp_url,
            "FLOWPILOT_JWT_SECRET": JWT_SECRET,
            "FLOWPILOT_SECRET_KEY": SECRET_KEY,
            "FLOWPILOT_PUBLIC_URL": "http://localhost:8080",
            "FLOWPILOT_SMTP_HOST": "127.0.0.1",
            "FLOWPILOT_SMTP_PORT": str(self.fake_ports.get("smtp", 1025)),
            "FLOWPILOT_SLACK_API_URL": f"http://127.0.0.1:{self.fake_ports.get('slack', 0)}/api/",
            "FLOWPILOT_ALLOW_LOOPBACK_INTEGRATIONS": "true",
            "FLOWPILOT_LOG_LEVEL": "INFO",
            # PostgreSQL here allows 100 connections in all (shared with whatever else runs): 15 per
            # service at most. Two cores never keep more than a few transactions busy anyway.
            "FLOWPILOT_DB_POOL_SIZE": os.environ.get("FLOWPILOT_DB_POOL_SIZE", "10"),
            "FLOWPILOT_DB_MAX_OVERFLOW": os.environ.get("FLOWPILOT_DB_MAX_OVERFLOW", "5"),
            # The fan-out step opens thousands of streams for ten users of one account: a load shape
            # the per-user and per-account caps exist to refuse in production.
            "FLOWPILOT_SSE_MAX_STREAMS_PER_USER": "0",
            "FLOWPILOT_SSE_MAX_STREAMS_PER_ACCOUNT": "0",
            **self.tracing_env,
        }
        for key in ("ANTHROPIC_API_KEY", "FLOWPILOT_ANTHROPIC_API_KEY"):
            os.environ.pop(key, None)  # no key: template documentation, as the issue asks
        return env

    def start(self, *names: str, extra_env: dict[str, str] | None = None) -> None:
        """Start the named services as real processes and wait until each is ready."""
        for name in names:
            if name in self.services:
                continue
            service, replica_env = REPLICA_OF.get(name, (name, {}))
            proc = ServiceProcess(service, {**self.env(), **replica_env, **(extra_env or {})}, self.workdir)
            proc.start(wait=False)
            if name in BACKGROUND and proc.process is not None:
                os.setpriority(os.PRIO_PROCESS, proc.process.pid, BACKGROUND_NICE)
            self.services[name] = proc
        for name in names:
            self.services[name].wait_ready(timeout=90)

    def restart(self, name: str, *, extra_env: dict[str, str] | None = None) -> None:
        """Stop a service and start it again (same port) with `extra_env` on top of the run's settings."""
        old = self.services.pop(name)
        old.stop()
        service, replica_env = REPLICA_OF.get(name, (name, {}))
        env = {**self.env(), **replica_env, **(extra_env or {})}
        proc = ServiceProcess(service, env, self.workdir, port=old.port)
        proc.start(wait=False)
        if name in BACKGROUND and proc.process is not None:
            os.setpriority(os.PRIO_PROCESS, proc.process.pid, BACKGROUND_NICE)
        self.services[name] = proc
        proc.wait_ready(timeout=90)

    def cpu_snapshot(self) -> dict[str, float]:
        """CPU seconds so far of each service (with its workers), PostgreSQL, RabbitMQ, each fake and
        the benchmark itself: everything that shares the box's cores during a run."""
        snapshot = {name: cpu_seconds(self.pid(name)) for name in self.services}
        snapshot.update({name: server_cpu_seconds(comm) for name, comm in SERVER_PROCESSES.items()})
        snapshot.update({f"{name} fake": cpu_seconds(proc.pid) for name, proc in self.fakes.items()})
        snapshot["benchmark"] = own_cpu_seconds()
        return snapshot

    def system_cpu_snapshot(self) -> dict[str, float]:
        """Kernel CPU seconds so far of each service (the system calls' share of `cpu_snapshot`)."""
        return {name: cpu_seconds(self.pid(name), system_only=True) for name in self.services}

    def pid(self, name: str) -> int:
        """The pid of a running service."""
        proc = self.services[name].process
        assert proc is not None
        return proc.pid

    async def queue_depths(self) -> dict[str, int]:
        """Messages waiting in each consumer queue (passive declare; no management plugin needed)."""
        connection = await aio_pika.connect(self.amqp_url)
        depths: dict[str, int] = {}
        try:
            for spec in ALL_QUEUES:
                channel = await connection.channel()
                try:
                    queue = await channel.declare_queue(spec.name, passive=True)
                    depths[spec.name] = queue.declaration_result.message_count or 0
                except Exception:
                    depths[spec.name] = -1  # not declared (its consumer is not running)
                finally:
                    if not channel.is_closed:
                        await channel.close()
        finally:
            await connection.close()
        return depths

    async def purge_unrouted(self) -> None:
        """Empty the unrouted queue (events published while no consumer queue existed)."""
        connection = await aio_pika.connect(self.amqp_url)
        try:
            channel = await connection.channel()
            queue = await channel.declare_queue(UNROUTED_QUEUE, passive=True)
            await queue.purge()
        except Exception:
            pass
        finally:
            await connection.close()

    async def teardown(self) -> None:
        """Stop everything and drop the database and vhost."""
        for proc in self.services.values():
            proc.stop()
        for fake in self.fakes.values():
            fake.terminate()
            try:
                fake.wait(timeout=10)
            except subprocess.TimeoutExpired:
                fake.kill()
        conn = await asyncpg.connect(self.admin_dsn)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')
        finally:
            await conn.close()
        subprocess.run(
            ["rabbitmqctl", "delete_vhost", self.vhost], capture_output=True, check=False, timeout=60
        )


def api_worker_env(workers: int) -> dict[str, str]:
    """handoff-api's settings for `workers` worker processes (none for one): each worker has its own
    pool, and together they keep to the per-service 15 connections."""
    if workers <= 1:
        return {}
    per_worker = max(15 // workers, 2)
    return {
        "FLOWPILOT_API_WORKERS": str(workers),
        "FLOWPILOT_DB_POOL_SIZE": str(per_worker * 2 // 3),
        "FLOWPILOT_DB_MAX_OVERFLOW": str(per_worker - per_worker * 2 // 3),
    }


def _ctl(*args: str, attempts: int = 5) -> None:
    for attempt in range(attempts):
        done = subprocess.run(["rabbitmqctl", *args], capture_output=True, text=True, timeout=60)
        if done.returncode == 0:
            return
        time.sleep(2.0 * (attempt + 1))
    raise RuntimeError(f"rabbitmqctl {' '.join(args)} failed: {done.stdout} {done.stderr}")


def wait_port(port: int, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"fake on port {port} exited with {process.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")

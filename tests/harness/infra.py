"""Per-run PostgreSQL database and RabbitMQ vhost, so test runs (and xdist workers) never collide.

URLs come from FLOWPILOT_TEST_DATABASE_URL / FLOWPILOT_TEST_AMQP_URL (defaults: the local services);
when neither is set and a Docker engine answers, testcontainers starts both instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import quote

import asyncpg
from sqlalchemy.engine import make_url

from flowpilot_shared.migrations.cli import upgrade

LOCAL_DATABASE_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
LOCAL_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"


@dataclass
class Infra:
    """Where this worker's tests find their own database and vhost."""

    database_url: str
    amqp_url: str
    admin_database_url: str
    vhost: str
    rabbitmqctl: list[str]


def _docker_available() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "info"], capture_output=True, check=False).returncode == 0


def _base_urls() -> tuple[str, str, list[str]]:
    db = os.environ.get("FLOWPILOT_TEST_DATABASE_URL")
    amqp = os.environ.get("FLOWPILOT_TEST_AMQP_URL")
    if db or amqp or not _docker_available():
        return db or LOCAL_DATABASE_URL, amqp or LOCAL_AMQP_URL, ["rabbitmqctl"]
    from testcontainers.postgres import PostgresContainer
    from testcontainers.rabbitmq import RabbitMqContainer

    pg = PostgresContainer("postgres:16-alpine", driver="asyncpg").start()
    mq = RabbitMqContainer("rabbitmq:3.13-management").start()
    amqp_url = f"amqp://guest:guest@{mq.get_container_host_ip()}:{mq.get_exposed_port(5672)}/"
    return pg.get_connection_url(), amqp_url, ["docker", "exec", mq.get_wrapped_container().id, "rabbitmqctl"]


def _admin(url: str) -> str:
    return (
        make_url(url).set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    )


async def _create_database(admin_url: str, name: str, template: str | None) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        suffix = f' TEMPLATE "{template}"' if template else ""
        await conn.execute(f'CREATE DATABASE "{name}"{suffix}')
    finally:
        await conn.close()


async def drop_database(admin_url: str, name: str) -> None:
    """Drop a test database, closing whatever still holds it."""
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@contextlib.contextmanager
def scratch_database(infra: Infra, suffix: str) -> Iterator[str]:
    """An empty database of its own beside the test database (its URL), dropped afterwards: for
    tests that migrate step by step."""
    name = f"{make_url(infra.database_url).database}_{suffix}"
    url = make_url(infra.database_url).set(database=name).render_as_string(hide_password=False)
    asyncio.run(_create_database(infra.admin_database_url, name, None))
    try:
        yield url
    finally:
        asyncio.run(drop_database(infra.admin_database_url, name))


def rabbitmqctl(ctl: list[str], *args: str) -> None:
    """Run a rabbitmqctl command (vhost management)."""
    subprocess.run([*ctl, *args], check=True, capture_output=True, timeout=60)


def provision(run_id: str, worker: str) -> Infra:
    """Create this worker's migrated database and its vhost."""
    base_db, base_amqp, ctl = _base_urls()
    admin_url = _admin(base_db)
    name = f"flowpilot_test_{run_id}_{worker}"
    template = f"{name}_tmpl"
    url = make_url(base_db).set(database=template).render_as_string(hide_password=False)
    asyncio.run(_create_database(admin_url, template, None))
    upgrade(url)
    asyncio.run(_create_database(admin_url, name, template))
    asyncio.run(drop_database(admin_url, template))
    vhost = name
    rabbitmqctl(ctl, "add_vhost", vhost)
    amqp_user = base_amqp.split("//", 1)[1].split(":", 1)[0]
    rabbitmqctl(ctl, "set_permissions", "-p", vhost, amqp_user, ".*", ".*", ".*")
    return Infra(
        database_url=make_url(base_db).set(database=name).render_as_string(hide_password=False),
        amqp_url=base_amqp.rstrip("/") + "/" + quote(vhost, safe=""),
        admin_database_url=admin_url,
        vhost=vhost,
        rabbitmqctl=ctl,
    )


def teardown(infra: Infra) -> None:
    """Drop the worker's database and vhost."""
    asyncio.run(drop_database(infra.admin_database_url, make_url(infra.database_url).database or ""))
    subprocess.run([*infra.rabbitmqctl, "delete_vhost", infra.vhost], capture_output=True, check=False)


def new_run_id() -> str:
    """A short id naming this test run's resources."""
    return uuid.uuid4().hex[:8]

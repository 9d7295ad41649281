"""`flowpilot-migrate`: apply Alembic migrations (`make migrate`); creates the database if missing."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

import asyncpg
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import make_url

from flowpilot_shared.settings import CoreSettings

HERE = Path(__file__).resolve().parent


def alembic_config(database_url: str) -> Config:
    """An Alembic config pointing at this package's migrations and `database_url`."""
    config = Config()
    config.set_main_option("script_location", str(HERE))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


async def ensure_database(database_url: str) -> None:
    """Create the target database when it does not exist yet (first run on a fresh machine)."""
    url = make_url(database_url)
    admin = url.set(drivername="postgresql", database="postgres")
    conn = await asyncpg.connect(admin.render_as_string(hide_password=False))
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", url.database)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{url.database}"')
    finally:
        await conn.close()


def upgrade(database_url: str, revision: str = "head") -> None:
    """Create the database if needed and upgrade it to `revision`."""
    asyncio.run(ensure_database(database_url))
    command.upgrade(alembic_config(database_url), revision)


def main() -> None:
    """Entry point of `flowpilot-migrate`."""
    parser = argparse.ArgumentParser(description="Apply FlowPilot database migrations")
    parser.add_argument("revision", nargs="?", default="head")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    upgrade(args.database_url or CoreSettings().database_url, args.revision)


if __name__ == "__main__":
    main()

"""Test harness shared by every suite: per-run database and vhost, settings, broker, the fakes."""

from __future__ import annotations

import gc
import os
from collections.abc import AsyncIterator, Iterator

import pytest
from aio_pika.abc import AbstractRobustConnection

from flowpilot_shared.broker.publisher import connect
from flowpilot_shared.db import Database
from flowpilot_shared.settings import CoreSettings
from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.psa import FakePsa
from tests.fakes.slack import FakeSlack
from tests.fakes.smtp import FakeSmtp
from tests.fakes.teams import FakeTeams
from tests.harness.infra import Infra, new_run_id, provision, teardown


@pytest.fixture(scope="session")
def infra() -> Iterator[Infra]:
    """This worker's database (migrated) and RabbitMQ vhost; exported as FLOWPILOT_* variables."""
    worker_id = os.environ.get("PYTEST_XDIST_WORKER", "main")
    run_id = os.environ.setdefault("FLOWPILOT_TEST_RUN_ID", new_run_id())
    resources = provision(run_id, worker_id)
    os.environ["FLOWPILOT_DATABASE_URL"] = resources.database_url
    os.environ["FLOWPILOT_AMQP_URL"] = resources.amqp_url
    os.environ["FLOWPILOT_ALLOW_LOOPBACK_INTEGRATIONS"] = "true"
    # Every test client comes from 127.0.0.1: a whole run's sign-ups and failed sign-ins would add up
    # under one address. The per-address limits are tested where they are set (test_auth_throttling).
    os.environ["FLOWPILOT_SIGNUPS_PER_ADDRESS"] = "0"
    os.environ["FLOWPILOT_LOGIN_ATTEMPTS_PER_ADDRESS"] = "0"
    yield resources
    teardown(resources)


@pytest.fixture(autouse=True)
def restored_garbage_collector() -> Iterator[None]:
    """Undo what an in-process app start does to the collector (freeze, larger first generation).

    A service settles the collector once per process; in the test process it would otherwise stay
    settled for every later test, whatever that test checks."""
    threshold = gc.get_threshold()
    yield
    if gc.get_freeze_count():
        gc.unfreeze()
    gc.set_threshold(*threshold)


@pytest.fixture
def core_settings(infra: Infra) -> CoreSettings:
    """Core settings pointing at this worker's database and vhost, with fast retries for tests."""
    return CoreSettings(
        database_url=infra.database_url,
        amqp_url=infra.amqp_url,
        allow_loopback_integrations=True,
        consumer_retry_base_seconds=0.05,
        consumer_retry_max_seconds=1.0,
        outbox_poll_seconds=0.2,
    )


@pytest.fixture
async def db(core_settings: CoreSettings) -> AsyncIterator[Database]:
    """A database handle for the test's own reads and writes."""
    database = Database.from_settings(core_settings)
    yield database
    await database.dispose()


@pytest.fixture
async def one_connection(core_settings: CoreSettings) -> AsyncIterator[Database]:
    """A database handle whose pool holds a single connection (what one held connection blocks)."""
    database = Database.from_settings(
        core_settings.model_copy(update={"db_pool_size": 1, "db_max_overflow": 0})
    )
    yield database
    await database.dispose()


@pytest.fixture
async def amqp(core_settings: CoreSettings) -> AsyncIterator[AbstractRobustConnection]:
    """A broker connection for the test's own captures and raw publishes."""
    connection = await connect(core_settings.amqp_url, "pytest")
    yield connection
    await connection.close()


@pytest.fixture
def smtp() -> Iterator[FakeSmtp]:
    """A running SMTP sink."""
    sink = FakeSmtp().start()
    yield sink
    sink.stop()


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    """A running fake Slack Web API."""
    fake = FakeSlack().start()
    yield fake
    fake.stop()


@pytest.fixture
def teams() -> Iterator[FakeTeams]:
    """A running fake Teams webhook."""
    fake = FakeTeams().start()
    yield fake
    fake.stop()


@pytest.fixture
async def fake_anthropic() -> AsyncIterator[FakeAnthropic]:
    """The Messages API on an ephemeral loopback port."""
    fake = FakeAnthropic()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
async def fake_psa() -> AsyncIterator[FakePsa]:
    """ConnectWise, Autotask and HaloPSA on an ephemeral loopback port."""
    async with FakePsa() as psa:
        yield psa

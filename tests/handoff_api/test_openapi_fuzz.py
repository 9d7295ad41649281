"""A property-based run over the OpenAPI schema (schemathesis): no input produces a 500."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from schemathesis import DataGenerationMethod
from schemathesis.checks import not_a_server_error

from handoff_api.app import create_app
from tests.harness.api import api_settings
from tests.harness.people import API, PASSWORD
from tests.harness.processes import free_port

MAX_EXAMPLES = 25


@pytest.fixture
def served_api(core_settings) -> Iterator[tuple[str, dict]]:
    """handoff-api served by uvicorn in a thread (schemathesis calls are synchronous)."""
    app = create_app(api_settings(core_settings, rate_limit_per_minute=0))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", app.openapi()
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def test_no_input_is_a_server_error(served_api):
    base_url, raw_schema = served_api
    signup = httpx.post(
        f"{base_url}{API}/accounts",
        json={
            "account_name": "Fuzz MSP",
            "owner_email": f"fuzz-{time.monotonic_ns()}@example.com",
            "owner_name": "Fuzz Owner",
            "owner_password": PASSWORD,
        },
        timeout=30,
    )
    assert signup.status_code == 201, signup.text
    headers = {"Authorization": f"Bearer {signup.json()['access_token']}"}
    # FastAPI emits OpenAPI 3.1 (nullable as `anyOf [..., null]`); schemathesis 3.x needs the flag.
    schemathesis.experimental.OPEN_API_3_1.enable()
    schema = schemathesis.from_dict(
        raw_schema,
        base_url=base_url,
        data_generation_methods=[DataGenerationMethod.positive, DataGenerationMethod.negative],
    )
    failures: list[str] = []
    calls: list[int] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 25
    for operation in operations:

        @given(case=operation.as_strategy())
        @hypothesis_settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        def check(case: schemathesis.Case) -> None:
            response = case.call(headers=headers, timeout=30)
            calls.append(response.status_code)
            case.validate_response(response, checks=(not_a_server_error,))

        try:
            check()
        except Exception as exc:  # collect every operation's failure, not just the first
            failures.append(f"{operation.verbose_name}: {str(exc)[:2000]}")
    assert not failures, "\n\n".join(failures)
    assert len(calls) >= len(operations) * 5, "the run generated too few requests to mean anything"

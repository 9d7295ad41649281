"""One escalation's documentation becomes exactly one internal note on the ticket, per provider."""

from __future__ import annotations

import base64

import httpx
import pytest
from multidict import CIMultiDict
from prometheus_client.parser import text_string_to_metric_families

from flowpilot_shared.db import Database
from tests.fakes.psa import FakePsa
from tests.harness.broker import capture
from tests.harness.factories import commit_events
from tests.harness.waiting import wait_until
from tests.psa_sync.conftest import documentation_event, make_scenario, push_row, settled_row


def _auth_ok(fake: FakePsa, provider: str, sent: dict[str, str]) -> None:
    # Header names are case-insensitive (RFC 9110): the client may send `clientId` as `clientid`.
    headers = CIMultiDict(sent)
    creds = fake.credentials(provider)
    if provider == "connectwise":
        raw = f"{creds['company_id']}+{creds['public_key']}:{creds['private_key']}"
        assert headers["Authorization"] == "Basic " + base64.b64encode(raw.encode()).decode()
        assert headers["clientId"] == creds["client_id"]
    elif provider == "autotask":
        assert headers["UserName"] == creds["username"]
        assert headers["Secret"] == creds["secret"]
        assert headers["ApiIntegrationCode"] == creds["integration_code"]
    else:
        assert headers["Authorization"].startswith("Bearer ")


@pytest.mark.parametrize(
    ("provider", "path"),
    [
        ("connectwise", "/cw/v4_6_release/apis/3.0/service/tickets/4711/notes"),
        ("autotask", "/atservices/v1.0/Tickets/4711/Notes"),
        ("halopsa", "/halo/api/Actions"),
    ],
)
async def test_each_provider_gets_one_note(provider, path, db: Database, amqp, fake_psa: FakePsa, psa_app):
    captured = await capture(amqp, "psa.#")
    scenario = await make_scenario(db, fake_psa, provider)
    event = documentation_event(
        scenario, content="## Escalation\nRebuilt the Outlook profile; still prompts."
    )
    await commit_events(db, event)

    row = await settled_row(db, event.data.documentation_id)
    assert row.status == "pushed", row.last_error
    [note] = fake_psa.ticket_notes(provider, "4711")
    assert row.external_note_id == str(note["id"])
    assert row.provider == provider and row.ticket_id == "4711" and row.attempts == 1
    assert row.marker == f"[flowpilot:{event.data.documentation_id}]"

    [create] = fake_psa.calls(provider, "create_note")
    assert create.path == path and create.method == "POST"
    _auth_ok(fake_psa, provider, create.headers)
    body = create.json()
    if provider == "connectwise":
        text = body["text"]
        assert body["internalAnalysisFlag"] is True
        assert body["detailDescriptionFlag"] is False and body["resolutionFlag"] is False
    elif provider == "autotask":
        text = body["description"]
        assert body["ticketID"] == 4711 and body["title"] and body["noteType"] == 1 and body["publish"] == 2
    else:
        [action] = body
        text = action["note"]
        assert action["ticket_id"] == 4711 and action["hiddenfromuser"] is True and action["outcome"]
    assert "Rebuilt the Outlook profile; still prompts." in text
    assert row.marker in text
    # Nothing looked up on a first, unambiguous attempt.
    assert fake_psa.calls(provider, "find_note") == []

    pushed = await wait_until(
        lambda: captured.of_account(scenario.account_id, "psa.note_pushed"), message="note_pushed"
    )
    [body] = pushed
    assert body["session_id"] == str(scenario.escalation.session_id)
    assert body["data"]["external_note_id"] == row.external_note_id
    assert body["data"]["provider"] == provider and body["data"]["ticket_id"] == "4711"
    assert body["data"]["documentation_id"] == str(event.data.documentation_id)
    assert captured.of_account(scenario.account_id, "psa.push_failed") == []


async def test_no_integration_is_no_psa_and_nothing_sent(db, amqp, fake_psa: FakePsa, psa_app):
    captured = await capture(amqp, "psa.#")
    scenario = await make_scenario(db, fake_psa, None)
    event = documentation_event(scenario)
    await commit_events(db, event)

    row = await wait_until(lambda: push_row(db, event.data.documentation_id), message="no_psa row")
    assert row.status == "no_psa" and row.provider is None and row.ticket_id == "4711"
    assert row.external_note_id is None and row.attempts == 0
    assert fake_psa.requests == []
    assert captured.of_account(scenario.account_id) == []


async def test_no_ticket_is_no_psa_and_nothing_sent(db, amqp, fake_psa: FakePsa, psa_app):
    captured = await capture(amqp, "psa.#")
    scenario = await make_scenario(db, fake_psa, "connectwise", ticket=None)
    event = documentation_event(scenario)
    await commit_events(db, event)

    row = await wait_until(lambda: push_row(db, event.data.documentation_id), message="no_psa row")
    assert row.status == "no_psa" and row.provider == "connectwise" and row.ticket_id is None
    assert fake_psa.requests == []
    assert captured.of_account(scenario.account_id) == []


def _sample(exposition: str, name: str, labels: dict[str, str]) -> float:
    """One sample's value in a /metrics page; 0 when the series is not there yet."""
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return 0.0


async def test_metrics_count_pushes_by_provider_and_outcome(db, fake_psa: FakePsa, psa_app):
    pushed = ("flowpilot_psa_pushes_total", {"outcome": "pushed", "provider": "autotask"})
    timed = (
        "flowpilot_psa_request_seconds_count",
        {"operation": "create_note", "provider": "autotask"},
    )
    transport = httpx.ASGITransport(app=psa_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://psa-sync") as client:
        # The registry is process-wide: earlier tests' pushes are already counted, so compare.
        before = (await client.get("/metrics")).text
        scenario = await make_scenario(db, fake_psa, "autotask")
        event = documentation_event(scenario)
        await commit_events(db, event)
        await settled_row(db, event.data.documentation_id)
        after = (await client.get("/metrics")).text
        assert (await client.get("/healthz")).status_code == 200

        async def ready() -> bool:
            return (await client.get("/readyz")).status_code == 200

        await wait_until(ready, message="/readyz")
    assert _sample(after, *pushed) - _sample(before, *pushed) == 1
    assert _sample(after, *timed) - _sample(before, *timed) == 1

"""Transient PSA failures retried with backoff (honouring Retry-After); permanent ones fail at once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

from flowpilot_shared.db import Database
from tests.fakes.psa import FakePsa
from tests.harness.broker import capture
from tests.harness.factories import commit_events
from tests.harness.waiting import wait_until
from tests.psa_sync.conftest import documentation_event, make_scenario, push_row, settled_row


async def _events(captured, account_id, event_type):
    return captured.of_account(account_id, event_type)


async def test_503_twice_then_created_is_one_note_after_three_attempts(
    db: Database, fake_psa: FakePsa, psa_app
):
    fake_psa.fail("connectwise", 503, times=2)
    scenario = await make_scenario(db, fake_psa, "connectwise")
    event = documentation_event(scenario)
    await commit_events(db, event)

    row = await settled_row(db, event.data.documentation_id)
    assert row.status == "pushed" and row.attempts == 3 and row.last_error is None
    assert len(fake_psa.ticket_notes("connectwise", "4711")) == 1
    assert [c.status for c in fake_psa.calls("connectwise", "create_note")] == [503, 503, 201]


async def test_429_retry_after_is_honoured(db: Database, fake_psa: FakePsa, psa_app):
    fake_psa.fail("autotask", 429, times=1, retry_after=1)
    scenario = await make_scenario(db, fake_psa, "autotask")
    event = documentation_event(scenario)
    await commit_events(db, event)

    row = await settled_row(db, event.data.documentation_id)
    assert row.status == "pushed" and row.attempts == 2
    first, *later = fake_psa.calls("autotask")
    assert first.status == 429 and later
    # Backoff alone is 0.05 s here: only Retry-After explains a pause of a second.
    assert later[0].at - first.at >= 0.95
    assert len(fake_psa.ticket_notes("autotask", "4711")) == 1


async def test_retry_after_http_date_is_honoured(db: Database, fake_psa: FakePsa, psa_app):
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=3), usegmt=True)
    fake_psa.fail("connectwise", 503, times=1, retry_after=when)
    scenario = await make_scenario(db, fake_psa, "connectwise")
    event = documentation_event(scenario)
    await commit_events(db, event)

    row = await settled_row(db, event.data.documentation_id)
    assert row.status == "pushed"
    first, *later = fake_psa.calls("connectwise")
    # The date was set ~3 s ahead before staging, at one-second resolution: well over the 0.05 s backoff.
    assert later[0].at - first.at >= 1.0


async def test_401_fails_at_once_with_push_failed(db: Database, amqp, fake_psa: FakePsa, psa_app):
    captured = await capture(amqp, "psa.#")
    creds = {**fake_psa.credentials("connectwise"), "private_key": "wrong-private-key"}
    scenario = await make_scenario(db, fake_psa, "connectwise", credentials=creds)
    event = documentation_event(scenario)
    await commit_events(db, event)

    row = await settled_row(db, event.data.documentation_id)
    assert row.status == "failed" and row.attempts == 1
    assert "401" in (row.last_error or "") and "Authentication failed" in (row.last_error or "")
    assert "wrong-private-key" not in (row.last_error or "")
    [failed] = await wait_until(
        lambda: _events(captured, scenario.account_id, "psa.push_failed"), message="push_failed"
    )
    data = failed["data"]
    assert data["provider"] == "connectwise" and data["ticket_id"] == "4711"
    assert data["session_title"] == scenario.escalation.data.session.title
    assert data["escalator"]["id"] == str(scenario.escalation.data.escalator.id)
    assert "401" in data["error"]
    assert len(fake_psa.requests) == 1
    assert fake_psa.ticket_notes("connectwise", "4711") == []
    assert captured.of_account(scenario.account_id, "psa.note_pushed") == []


async def test_404_unknown_ticket_is_permanent(db: Database, fake_psa: FakePsa, psa_app):
    fake_psa.fail("halopsa", 404, body={"message": "Ticket 4711 not found"})
    scenario = await make_scenario(db, fake_psa, "halopsa")
    event = documentation_event(scenario)
    await commit_events(db, event)

    row = await settled_row(db, event.data.documentation_id)
    assert row.status == "failed" and row.attempts == 1
    assert "Ticket 4711 not found" in (row.last_error or "")
    assert len(fake_psa.calls("halopsa", "create_note")) == 1


async def test_retries_are_bounded_then_failed(db: Database, amqp, fake_psa: FakePsa, start_app):
    captured = await capture(amqp, "psa.#")
    fake_psa.fail("autotask", 502, times=100)
    scenario = await make_scenario(db, fake_psa, "autotask")
    event = documentation_event(scenario)
    async with start_app(psa_retry_base_seconds=0.3, psa_max_attempts=3):
        await commit_events(db, event)

        async def retrying():
            row = await push_row(db, event.data.documentation_id)
            return row if row is not None and row.status == "pending" and row.last_error else None

        pending = await wait_until(retrying, message="pending with last_error while retrying")
        assert "502" in (pending.last_error or "")
        row = await settled_row(db, event.data.documentation_id)
        # Committed with the failed row; published by the app's relay while it runs (an event
        # committed just before a stop waits in the outbox for the next active relay).
        await wait_until(
            lambda: _events(captured, scenario.account_id, "psa.push_failed"), message="push_failed"
        )
    assert row.status == "failed" and row.attempts == 3
    assert "gave up after 3 attempts" in (row.last_error or "")
    assert len(fake_psa.calls("autotask", "create_note")) == 3


async def test_halopsa_token_cached_across_pushes_and_renewed_on_401(
    db: Database, fake_psa: FakePsa, psa_app
):
    scenario = await make_scenario(db, fake_psa, "halopsa")
    first, second, third = (documentation_event(scenario) for _ in range(3))
    await commit_events(db, first)
    await settled_row(db, first.data.documentation_id)
    await commit_events(db, second)
    await settled_row(db, second.data.documentation_id)
    assert len(fake_psa.calls("halopsa", "token")) == 1
    [token_call] = fake_psa.calls("halopsa", "token")
    assert token_call.query == {"tenant": "contoso"}
    assert "grant_type=client_credentials" in token_call.body and "scope=all" in token_call.body

    fake_psa.revoke_tokens()
    await commit_events(db, third)
    row = await settled_row(db, third.data.documentation_id)
    assert row.status == "pushed" and row.attempts == 1
    assert len(fake_psa.calls("halopsa", "token")) == 2
    assert [c.status for c in fake_psa.calls("halopsa", "create_note")] == [201, 201, 401, 201]
    assert len(fake_psa.ticket_notes("halopsa", "4711")) == 3


async def test_halopsa_bad_client_secret_fails_at_once(db: Database, fake_psa: FakePsa, psa_app):
    creds = {**fake_psa.credentials("halopsa"), "client_secret": "nope"}
    scenario = await make_scenario(db, fake_psa, "halopsa", credentials=creds)
    event = documentation_event(scenario)
    await commit_events(db, event)

    row = await settled_row(db, event.data.documentation_id)
    assert row.status == "failed" and "invalid_client" in (row.last_error or "")
    assert len(fake_psa.calls("halopsa", "token")) == 1
    assert fake_psa.calls("halopsa", "create_note") == []


async def test_loopback_url_refused_when_loopback_integrations_are_off(
    db: Database, fake_psa: FakePsa, start_app
):
    scenario = await make_scenario(db, fake_psa, "connectwise")
    event = documentation_event(scenario)
    async with start_app(allow_loopback_integrations=False):
        await commit_events(db, event)
        row = await settled_row(db, event.data.documentation_id)
    assert row.status == "failed" and row.attempts == 1
    assert "refused outbound URL" in (row.last_error or "")
    assert fake_psa.requests == []

"""handoff.escalated -> package + documentation (AI or template) + documentation.generated, once."""

from __future__ import annotations

import json

import pytest

from flowpilot_shared.db import Database
from tests.docgen.conftest import documentation_rows, package_rows, running_docgen
from tests.fakes.anthropic import FakeAnthropic
from tests.harness.broker import capture
from tests.harness.factories import commit_events, make_escalation, make_team
from tests.harness.waiting import wait_until

pytestmark = pytest.mark.usefixtures("purged_queue")

SECRET_STEPS = [
    ("action", "Rebuilt the Outlook profile, signed in with password=Hunter2!Summer"),
    ("observation", "Still prompts; found AKIAIOSFODNN7EXAMPLE in the sync script"),
    ("action", "Tested EWS with Authorization: Bearer abcDEF1234567890ghiJKL.mnoPQR"),
    ("observation", "401 from EWS; db is postgres://app:Sup3rS3cret@db.contoso.local/crm"),
    ("ai_suggestion", "Check whether modern authentication is enabled"),
]
SECRETS = ["Hunter2!Summer", "AKIAIOSFODNN7EXAMPLE", "abcDEF1234567890ghiJKL.mnoPQR", "Sup3rS3cret"]
SECTIONS = [
    "### Problem",
    "### Work performed",
    "### Current state",
    "### Escalation reason",
    "### Next owner",
]


async def _one_doc(db: Database, handoff_id: object):
    rows = await documentation_rows(db, handoff_id)
    return rows[0] if rows else None


async def test_ai_documentation_with_redacted_request(
    db, amqp, docgen_settings, fake_anthropic: FakeAnthropic
):
    team = await make_team(db)
    event = await make_escalation(db, team, escalator=team.users[1], steps=SECRET_STEPS)
    captured = await capture(amqp, "documentation.generated")
    settings = docgen_settings()
    async with running_docgen(settings):
        await commit_events(db, event)
        doc = await wait_until(
            lambda: _one_doc(db, event.data.handoff_id), timeout=15, message="documentation"
        )
        await wait_until(lambda: captured.of_account(team.account.id), message="documentation.generated")

    assert doc.generated_by == "ai" and doc.model == settings.docgen_model and doc.version == 1
    assert doc.fallback_reason is None
    assert doc.input_tokens == 812 and doc.output_tokens == 344 and doc.latency_ms is not None
    assert all(section in doc.content_markdown for section in SECTIONS)
    assert "Users still see the password prompt loop." in doc.content_markdown
    [package] = await package_rows(db, event.data.handoff_id)
    content = package.content
    assert package.generated_by == "ai" and package.model == settings.docgen_model
    assert content["summary"].startswith("Fake summary")
    assert len(content["steps_tried"]) == 2 and {"step", "outcome"} <= set(content["steps_tried"][0])
    assert content["hypotheses"] and content["suggested_next_steps"] and content["open_questions"]
    assert content["risk"] == "medium" and content["urgency"] == "high"

    [request] = [b for b in fake_anthropic.bodies if "Rebuilt the Outlook profile" in json.dumps(b)]
    sent = json.dumps(request)
    for secret in SECRETS:
        assert secret not in sent and secret not in doc.content_markdown and secret not in json.dumps(content)
    assert "[REDACTED]" in sent
    assert request["model"] == settings.docgen_model
    assert request["tool_choice"] == {"type": "tool", "name": request["tools"][0]["name"]}
    assert request["tools"][0]["input_schema"]["required"]
    assert request["system"][0]["cache_control"] == {"type": "ephemeral"}

    [generated] = captured.of_account(team.account.id, "documentation.generated")
    data = generated["data"]
    assert generated["session_id"] == str(event.session_id)
    assert data["documentation_id"] == str(doc.id) and data["handoff_id"] == str(event.data.handoff_id)
    assert data["content_markdown"] == doc.content_markdown and data["psa_ticket_id"] == "T-1001"
    assert data["generated_by"] == "ai" and data["version"] == 1
    assert data["escalator"]["id"] == str(team.users[1].id)


@pytest.mark.parametrize(
    ("script", "reason"),
    [
        ("500_then_timeout", "timeout"),
        ("500s", "api_error: HTTP 500"),
        ("invalid", "invalid_response"),
    ],
)
async def test_ai_failure_falls_back_to_template(db, docgen_settings, fake_anthropic, script, reason):
    if script == "500_then_timeout":
        fake_anthropic.fail(1)
        fake_anthropic.delay(5, seconds=3.0)
    elif script == "500s":
        fake_anthropic.fail(5)
    else:
        fake_anthropic.invalid(1)
    team = await make_team(db)
    event = await make_escalation(db, team, escalator=team.users[1], steps=SECRET_STEPS)
    # Only the timeout script wants a short per-attempt timeout; elsewhere a loaded CI box could turn
    # a slow first attempt into a client-side timeout the fake never records.
    attempt_timeout = 1.0 if script == "500_then_timeout" else 10.0
    retries = 1
    async with running_docgen(docgen_settings(ai_timeout_seconds=attempt_timeout, ai_max_retries=retries)):
        await commit_events(db, event)
        doc = await wait_until(
            lambda: _one_doc(db, event.data.handoff_id), timeout=15, message="documentation"
        )
    assert doc.generated_by == "template" and doc.model is None
    assert doc.fallback_reason is not None and doc.fallback_reason.startswith(reason), doc.fallback_reason
    assert all(section in doc.content_markdown for section in SECTIONS)
    assert "Rebuilt the Outlook profile" in doc.content_markdown
    assert not any(secret in doc.content_markdown for secret in SECRETS)
    [package] = await package_rows(db, event.data.handoff_id)
    assert package.generated_by == "template" and package.content["steps_tried"][0]["outcome"].startswith(
        "Still"
    )
    # A failed call is tried again exactly `ai_max_retries` times; an invalid answer is not retried.
    expected_attempts = 1 if script == "invalid" else 1 + retries
    assert len(fake_anthropic.requests) == expected_attempts


async def test_no_key_template_documentation_waits_for_no_model(db, docgen_settings):
    # Without a key the template is used at once, for that reason (not after a failed or timed-out
    # model call, which would name another). How fast it comes is the benchmark's (pipeline phase).
    team = await make_team(db)
    event = await make_escalation(db, team, escalator=team.users[1])
    async with running_docgen(docgen_settings(anthropic_api_key=None)):
        await commit_events(db, event)
        doc = await wait_until(
            lambda: _one_doc(db, event.data.handoff_id), timeout=30, message="template documentation"
        )
    assert doc.generated_by == "template" and doc.model is None
    assert doc.fallback_reason is not None and doc.fallback_reason.startswith("no_api_key")

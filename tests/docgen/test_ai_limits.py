"""The AI path's own limits (issue 24, item 1): an over-long answer is cut to fit with a marker and
kept; an answer the model had to stop at max_tokens is not used (the template documents instead)."""

from __future__ import annotations

import pytest

from tests.docgen.conftest import documentation_rows, package_rows, running_docgen
from tests.fakes.anthropic import FakeAnthropic
from tests.harness.factories import commit_events, make_escalation, make_team
from tests.harness.waiting import wait_until

pytestmark = pytest.mark.usefixtures("purged_queue")


async def _documented(db, handoff_id):  # type: ignore[no-untyped-def]
    rows = await documentation_rows(db, handoff_id)
    return rows[0] if rows else None


async def test_an_over_long_ai_answer_is_cut_to_fit_and_kept(
    db, docgen_settings, fake_anthropic: FakeAnthropic
):
    fake_anthropic.tool_input = {
        "summary": "The prompt loop comes from stale tokens. " * 300,
        "steps_tried": [{"step": f"Step {n} " + "x" * 2500, "outcome": "No change"} for n in range(150)],
        "hypotheses": [f"Hypothesis {n}: " + "y" * 1500 for n in range(30)],
        "suggested_next_steps": ["Check the Autodiscover record"],
        "risk": "medium",
        "urgency": "high",
        "open_questions": [],
        "current_state": "Users still see the loop. " * 400,
    }
    team = await make_team(db)
    event = await make_escalation(db, team, escalator=team.users[1])
    async with running_docgen(docgen_settings()):
        await commit_events(db, event)
        doc = await wait_until(lambda: _documented(db, event.data.handoff_id), timeout=15, message="docs")

    assert doc.generated_by == "ai" and doc.fallback_reason is None
    [package] = await package_rows(db, event.data.handoff_id)
    content = package.content
    assert len(content["summary"]) == 4000 and content["summary"].endswith("(… truncated)")
    assert len(content["steps_tried"]) == 100
    assert content["steps_tried"][0]["step"].endswith("(… truncated)")
    assert content["steps_tried"][-1]["step"] == "(… 51 more actions not shown)"
    assert len(content["hypotheses"]) == 20 and content["hypotheses"][-1] == "(… 11 more not shown)"
    assert all(len(h) <= 1000 for h in content["hypotheses"])
    assert "Users still see the loop." in doc.content_markdown and "(… truncated)" in doc.content_markdown


async def test_an_answer_cut_off_at_max_tokens_is_not_used(
    db, docgen_settings, fake_anthropic: FakeAnthropic
):
    fake_anthropic.cut(1)
    team = await make_team(db)
    steps = [("action", "Rebuilt the Outlook profile"), ("action", "Cleared the credential cache")]
    event = await make_escalation(db, team, escalator=team.users[1], steps=steps)
    async with running_docgen(docgen_settings(ai_max_retries=0)):
        await commit_events(db, event)
        doc = await wait_until(lambda: _documented(db, event.data.handoff_id), timeout=15, message="docs")

    assert doc.generated_by == "template", doc.content_markdown
    assert doc.fallback_reason and doc.fallback_reason.startswith("invalid_response: answer cut off")
    # Both actions are documented, not just the one the model got to before it was cut off.
    assert "Rebuilt the Outlook profile" in doc.content_markdown
    assert "Cleared the credential cache" in doc.content_markdown

"""The pickup screen reads: handoff-context, documentation (404 until ready), psa-pushes."""

from __future__ import annotations

import uuid

from flowpilot_shared.models import Documentation, EscalationPackage, PsaPush
from tests.harness.people import API, DOCUMENTATION_FIELDS, add_user, create_session, escalate, signup


async def test_context_documentation_and_psa_pushes(api, db):
    tenant = await signup(api)
    junior = await add_user(api, tenant, "engineer")
    session = await create_session(api, junior.token, steps=[("action", "Reset the password")])
    base = f"{API}/ai-sessions/{session['id']}"
    context = (await api.get(f"{base}/handoff-context", headers=junior.headers)).json()
    assert (
        context["handoff"] is None
        and context["escalation_package"] is None
        and context["documentation"] is None
    )
    handoff = await escalate(api, junior.token, session["id"])
    assert (await api.get(f"{base}/documentation", headers=junior.headers)).status_code == 404
    assert (await api.get(f"{base}/psa-pushes", headers=junior.headers)).json() == []

    session_id, handoff_id = uuid.UUID(session["id"]), uuid.UUID(handoff["id"])
    doc_v2 = uuid.uuid4()
    of_handoff = {"account_id": tenant.account_id, "session_id": session_id, "handoff_id": handoff_id}
    async with db.sessions() as s, s.begin():
        s.add(
            EscalationPackage(
                **of_handoff,
                version=1,
                content={"tried": ["Reset the password"], "next_steps": ["Check MFA"]},
                generated_by="template",
                model=None,
            )
        )
        s.add(
            Documentation(
                **of_handoff, version=1, content_markdown="# v1", generated_by="template", model=None
            )
        )
        await s.flush()
        s.add(
            Documentation(
                id=doc_v2,
                **of_handoff,
                version=2,
                content_markdown="# v2",
                generated_by="ai",
                model="claude-x",
            )
        )
        s.add(
            PsaPush(
                **of_handoff,
                documentation_id=doc_v2,
                event_id=uuid.uuid4(),
                provider="connectwise",
                ticket_id="T-1001",
                status="pushed",
                marker="fp-1",
                external_note_id="555",
                attempts=1,
            )
        )
    doc = (await api.get(f"{base}/documentation", headers=junior.headers)).json()
    assert doc["id"] == str(doc_v2) and doc["content_markdown"] == "# v2"
    assert set(doc) == DOCUMENTATION_FIELDS
    assert doc["generated_by"] == "ai" and doc["model"] == "claude-x"
    context = (await api.get(f"{base}/handoff-context", headers=junior.headers)).json()
    assert set(context) == {"session", "handoff", "escalation_package", "documentation"}
    assert context["handoff"]["id"] == handoff["id"]
    assert context["session"]["steps"][0]["content"] == "Reset the password"
    assert context["escalation_package"]["content"]["next_steps"] == ["Check MFA"]
    assert context["documentation"]["id"] == str(doc_v2)
    [push] = (await api.get(f"{base}/psa-pushes", headers=junior.headers)).json()
    assert push == {
        "provider": "connectwise",
        "ticket_id": "T-1001",
        "status": "pushed",
        "external_note_id": "555",
        "attempts": 1,
        "last_error": None,
        "updated_at": push["updated_at"],
    }
    outsider = (await signup(api)).owner
    for path in ("handoff-context", "documentation", "psa-pushes"):
        assert (await api.get(f"{base}/{path}", headers=outsider.headers)).status_code == 404

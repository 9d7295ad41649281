"""Bad input across endpoints: 4xx naming the field, nothing written, never a 500."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from flowpilot_shared.models import AiSession, Handoff, Integration, OutboxEvent, SessionStep, User
from tests.harness.people import API, PASSWORD, add_user, create_session, signup

LONG = "x" * 20_001


async def _counts(db, account_id) -> dict[str, int]:
    async with db.sessions() as s:
        out = {}
        for model in (AiSession, Handoff, Integration, OutboxEvent, User):
            out[model.__name__] = await s.scalar(
                select(func.count()).select_from(model).where(model.account_id == account_id)
            )
        out["steps"] = await s.scalar(
            select(func.count())
            .select_from(SessionStep)
            .join(AiSession)
            .where(AiSession.account_id == account_id)
        )
    return out


def _cases(session_id: str, handoff_id: str, engineer_id: str) -> list[tuple[str, str, object, str | None]]:
    """(method, path, json body or raw bytes, the field the 422 must name)."""
    s = f"{API}/ai-sessions/{session_id}"
    return [
        ("POST", f"{API}/ai-sessions", {"problem": "p"}, "title"),
        ("POST", f"{API}/ai-sessions", {"title": 5, "problem": "p"}, "title"),
        ("POST", f"{API}/ai-sessions", {"title": "t" * 301, "problem": "p"}, "title"),
        ("POST", f"{API}/ai-sessions", {"title": "t", "problem": LONG}, "problem"),
        (
            "POST",
            f"{API}/ai-sessions",
            {"title": "t", "problem": "p", "psa_ticket_id": "9" * 101},
            "psa_ticket_id",
        ),
        ("POST", f"{API}/ai-sessions", {"title": "nul\x00", "problem": "p"}, "title"),
        ("POST", f"{API}/ai-sessions", {"title": "", "problem": "p"}, "title"),
        ("POST", f"{API}/ai-sessions", [1, 2], None),
        ("POST", f"{s}/steps", {"kind": "dance", "content": "c"}, "kind"),
        ("POST", f"{s}/steps", {"kind": "note"}, "content"),
        ("POST", f"{s}/steps", {"kind": "note", "content": LONG}, "content"),
        ("POST", f"{s}/handoff", {"intent": "escalate"}, "reason"),
        ("POST", f"{s}/handoff", {"intent": "vanish", "reason": "r"}, "intent"),
        (
            "POST",
            f"{s}/handoff",
            {"intent": "escalate", "reason": "r", "target_user_id": "nope"},
            "target_user_id",
        ),
        ("POST", f"{s}/handoff", {"intent": "escalate", "reason": "r" * 5001}, "reason"),
        ("POST", f"{s}/handoff", {"intent": "escalate", "reason": ["r"]}, "reason"),
        ("POST", f"{s}/escalate", {"escalated_to_id": engineer_id}, "escalation_reason"),
        ("POST", f"{s}/escalate", {"escalation_reason": "r", "escalated_to_id": 12}, "escalated_to_id"),
        ("POST", f"{s}/handoff", b'{"intent": "escalate", "reason": ', None),
        ("POST", f"{s}/escalate", b"not json at all", None),
        ("GET", f"{API}/ai-sessions/not-a-uuid", None, "session_id"),
        ("POST", f"{API}/ai-sessions/123/handoff", {"intent": "park", "reason": "r"}, "session_id"),
        ("POST", f"{s}/handoffs/zzz/claim", None, "handoff_id"),
        ("PATCH", f"{API}/users/not-a-uuid", {"role": "admin"}, "user_id"),
        ("PATCH", f"{API}/users/{engineer_id}", {"role": "emperor"}, "role"),
        ("PATCH", f"{API}/users/{engineer_id}", {"is_active": "maybe"}, "is_active"),
        (
            "POST",
            f"{API}/users",
            {"email": "not-an-email", "name": "n", "role": "engineer", "password": PASSWORD},
            "email",
        ),
        (
            "POST",
            f"{API}/users",
            {"email": "a@example.com", "name": "n", "role": "engineer", "password": "short"},
            "password",
        ),
        (
            "POST",
            f"{API}/users",
            {"email": "b@example.com", "name": "n" * 201, "role": "engineer", "password": PASSWORD},
            "name",
        ),
        (
            "PUT",
            f"{API}/integrations/psa",
            {"provider": "salesforce", "base_url": "http://127.0.0.1", "credentials": {}},
            "provider",
        ),
        (
            "PUT",
            f"{API}/integrations/psa",
            {"provider": "halopsa", "credentials": {"client_id": "c", "client_secret": "s"}},
            "base_url",
        ),
        (
            "PUT",
            f"{API}/integrations/psa",
            {"provider": "halopsa", "base_url": "http://127.0.0.1", "credentials": "s"},
            "credentials",
        ),
        ("PUT", f"{API}/integrations/slack", {"channel_id": "C1"}, "bot_token"),
        ("PUT", f"{API}/integrations/teams", {"webhook_url": "u" * 2001}, "webhook_url"),
        ("DELETE", f"{API}/integrations/fax", None, "kind"),
    ]


async def test_bad_input_is_422_with_the_field_and_writes_nothing(api, db):
    tenant = await signup(api)
    engineer = await add_user(api, tenant, "engineer")
    session = await create_session(api, tenant.owner.token)
    handoff_resp = await api.post(
        f"{API}/ai-sessions/{session['id']}/handoff",
        headers=tenant.owner.headers,
        json={"intent": "park", "reason": "later"},
    )
    await api.post(f"{API}/ai-sessions/{session['id']}/resume", headers=tenant.owner.headers)
    before = await _counts(db, tenant.account_id)
    for method, path, body, field in _cases(session["id"], handoff_resp.json()["id"], str(engineer.id)):
        kwargs: dict = {"headers": tenant.owner.headers}
        if isinstance(body, bytes):
            kwargs["content"] = body
            kwargs["headers"] = {**tenant.owner.headers, "Content-Type": "application/json"}
        elif body is not None:
            kwargs["json"] = body
        response = await api.request(method, path, **kwargs)
        assert response.status_code == 422, (method, path, body, response.status_code, response.text)
        detail = response.json()["detail"]
        assert isinstance(detail, list) and detail, response.text
        if field is not None:
            assert any(field in [str(p) for p in d["loc"]] for d in detail), (path, field, detail)
        for secret in (PASSWORD,):
            assert secret not in response.text
    assert await _counts(db, tenant.account_id) == before


async def test_signup_and_login_bad_input(api):
    for body, field in (
        ({"account_name": "a", "owner_email": "x@example.com", "owner_name": "n"}, "owner_password"),
        (
            {
                "account_name": "a" * 201,
                "owner_email": "x@example.com",
                "owner_name": "n",
                "owner_password": PASSWORD,
            },
            "account_name",
        ),
        (
            {"account_name": "a", "owner_email": "bad", "owner_name": "n", "owner_password": PASSWORD},
            "owner_email",
        ),
    ):
        response = await api.post(f"{API}/accounts", json=body)
        assert response.status_code == 422, response.text
        assert [d["loc"] for d in response.json()["detail"]] == [["body", field]]
    response = await api.post(f"{API}/auth/login", json={"email": "x@example.com"})
    assert response.status_code == 422, response.text
    assert [d["loc"] for d in response.json()["detail"]] == [["body", "password"]]
    response = await api.post(f"{API}/auth/login", content=b"{", headers={"Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    assert [d["type"] for d in response.json()["detail"]] == ["json_invalid"]


@pytest.mark.parametrize(
    ("header", "detail"),
    [
        ("Bearer", "Not authenticated"),  # no token after the scheme
        ("Basic abc", "Not authenticated"),  # not a bearer token at all
        ("Bearer " + "a" * 5000, "Invalid or expired token"),
        ("Bearer a.b.c", "Invalid or expired token"),
    ],
)
async def test_bad_tokens_are_401(api, header, detail):
    response = await api.get(f"{API}/auth/me", headers={"Authorization": header})
    assert response.status_code == 401, response.text
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.json() == {"detail": detail}

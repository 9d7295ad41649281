"""Scenario 8 (API side): tenants probing each other on every endpoint and the stream, bad JWTs, viewers,
outbound URLs refused when saved, secrets only as ciphertext, the per-account rate limit."""

from __future__ import annotations

import base64
import json
import re
import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from flowpilot_shared.models import Integration
from flowpilot_shared.security.tokens import issue_token
from handoff_api.app import create_app as create_api
from notifier.app import create_app as create_notifier
from tests.harness.api import api_settings, running_api
from tests.harness.people import API, Tenant, add_user, create_session, escalate, signup
from tests.harness.sse import open_stream
from tests.harness.waiting import wait_until
from tests.notifier.conftest import notifier_settings_from, serve_notifier

PUBLIC = {("post", "/api/v1/accounts"), ("post", "/api/v1/auth/login")}
STREAM = "/api/v1/ai-sessions/escalations/stream"
ENGINEER_ONLY = [
    ("post", "/api/v1/ai-sessions"),
    ("get", "/api/v1/ai-sessions/queue"),
    ("post", "/api/v1/ai-sessions/{session_id}/pickup"),
    ("post", "/api/v1/ai-sessions/{session_id}/handoffs/{handoff_id}/claim"),
]
BODIES: dict[str, dict[str, Any]] = {
    "/steps": {"kind": "note", "content": "probe"},
    "/handoff": {"intent": "escalate", "reason": "probe"},
    "/escalate": {"escalation_reason": "probe"},
    "/users/{user_id}": {"role": "viewer"},
}
UNSAFE_URLS = [
    "https://127.0.0.1/apis/3.0",
    "https://localhost/apis/3.0",
    "https://169.254.169.254/latest/meta-data",
    "https://10.0.0.8/apis/3.0",
    "https://192.168.1.20/apis/3.0",
    "https://172.16.4.4/apis/3.0",
    "https://[::ffff:127.0.0.1]/apis/3.0",
    "https://[::1]/apis/3.0",
    "http://example.com/apis/3.0",
]


def operations() -> list[tuple[str, str]]:
    """Every (method, path) of handoff-api and the notifier, from their OpenAPI documents."""
    out = []
    for app in (create_api(), create_notifier()):
        for path, ops in app.openapi()["paths"].items():
            out += [(method, path) for method in ops if (method, path) not in PUBLIC]
    return out


def fill(path: str, ids: dict[str, str]) -> str:
    """The path with its parameters replaced by `ids`."""
    return re.sub(r"\{(\w+)\}", lambda m: ids[m.group(1)], path)


def body_for(path: str) -> dict[str, Any] | None:
    """A well-formed body for operations that take one, so validation never answers first."""
    for suffix, body in BODIES.items():
        if path.endswith(suffix):
            return body
    return None


async def world(api: httpx.AsyncClient) -> tuple[Tenant, Tenant, dict[str, str]]:
    """Two tenants; B has a session, an escalation and teammates; returns B's ids."""
    a, b = await signup(api), await signup(api)
    for tenant in (a, b):
        await add_user(api, tenant, "engineer")
        await add_user(api, tenant, "viewer")
    session = await create_session(api, b.owner.token, steps=[("action", "secret step of B")])
    handoff = await escalate(api, b.owner.token, session["id"], reason="B's private reason")
    return (
        a,
        b,
        {
            "session_id": session["id"],
            "handoff_id": handoff["id"],
            "user_id": str(b.people[0].id),
            "kind": "slack",
            "notification_id": str(uuid.uuid4()),
        },
    )


@pytest.mark.faults
@pytest.mark.timeout(180)
async def test_tenants_cannot_reach_each_other(core_settings, db):
    settings = api_settings(core_settings, rate_limit_per_minute=0)
    nsettings = notifier_settings_from(core_settings)
    async with running_api(settings) as api, serve_notifier(nsettings) as notifier:
        a, b, ids = await world(api)
        async with httpx.AsyncClient(timeout=10) as http:

            async def b_bell_rows() -> list[dict[str, Any]]:
                got = await http.get(notifier.url("notifications"), headers=b.people[0].headers)
                return list(got.json()["items"])

            rows = await wait_until(b_bell_rows, timeout=20, message="B's bell row")
            ids["notification_id"] = rows[0]["id"]
            secrets_of_b = [ids["session_id"], ids["handoff_id"], "secret step of B", "B's private reason"]
            for method, path in operations():
                if "{" not in path and method != "get":
                    continue  # nothing of B's to aim at
                client, base = (http, notifier.base_url) if _notifier_path(path) else (api, "")
                url = base + fill(path, ids)
                params = {"session_id": ids["session_id"]} if path.endswith("/deliveries") else None
                if path == STREAM:
                    continue  # probed below with a live stream
                response = await client.request(
                    method, url, headers=a.owner.headers, json=body_for(path), params=params
                )
                text = response.text
                if "{" in path and not path.endswith("/integrations/{kind}"):
                    assert response.status_code == 404, f"{method} {path}: {response.status_code} {text}"
                else:
                    assert response.status_code < 500, f"{method} {path}: {response.status_code} {text}"
                for secret in secrets_of_b:
                    assert secret not in text, f"{method} {path} leaked {secret}: {text[:300]}"

            # The stream: A hears its own escalation and nothing of B's.
            async with open_stream(http, notifier.url(STREAM), headers=a.owner.headers) as stream:
                await stream.wait_event("ready")
                other = await create_session(api, b.owner.token)
                await escalate(api, b.owner.token, other["id"])
                mine = await create_session(api, a.people[0].token)
                await escalate(api, a.people[0].token, mine["id"])
                await stream.wait_event(
                    "handoff_created", where=lambda d: d["session_id"] == mine["id"], timeout=20
                )
                seen = json.dumps([e.data for e in stream.events])
                assert other["id"] not in seen and ids["session_id"] not in seen


@pytest.mark.faults
@pytest.mark.timeout(120)
async def test_bad_tokens_and_viewers(core_settings):
    settings = api_settings(core_settings, rate_limit_per_minute=0)
    async with running_api(settings) as api:
        a, _, ids = await world(api)
        session = await create_session(api, a.owner.token)
        handoff = await escalate(api, a.owner.token, session["id"])
        own = {
            **ids,
            "session_id": session["id"],
            "handoff_id": handoff["id"],
            "user_id": str(a.people[0].id),
        }
        good = a.owner.token
        header, payload, signature = good.split(".")
        claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
        claims["role"] = "owner"
        claims["sub"] = str(uuid.uuid4())
        forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
        bad = {
            "expired": issue_token(
                user_id=a.owner.id, account_id=a.account_id, secret=settings.jwt_secret, ttl_seconds=-60
            ),
            "tampered": f"{header}.{forged}.{signature}",
            "wrong-secret": issue_token(
                user_id=a.owner.id, account_id=a.account_id, secret="not-the-secret", ttl_seconds=600
            ),
            "garbage": "not.a.jwt",
        }
        nsettings = notifier_settings_from(core_settings)
        async with serve_notifier(nsettings) as notifier, httpx.AsyncClient(timeout=10) as http:
            for method, path in operations():
                client, base = (http, notifier.base_url) if _notifier_path(path) else (api, "")
                for name, token in bad.items():
                    response = await client.request(
                        method,
                        base + fill(path, own),
                        headers={"Authorization": f"Bearer {token}"},
                        json=body_for(path),
                    )
                    assert response.status_code == 401, (
                        f"{name} token, {method} {path}: {response.status_code}"
                    )
            viewer = a.by_role("viewer")[0]
            for method, path in [*ENGINEER_ONLY, ("get", STREAM)]:
                client, base = (http, notifier.base_url) if _notifier_path(path) else (api, "")
                body = {"title": "t", "problem": "p"} if path == "/api/v1/ai-sessions" else None
                response = await client.request(
                    method, base + fill(path, own), headers=viewer.headers, json=body
                )
                assert response.status_code == 403, f"viewer {method} {path}: {response.status_code}"
                assert "Engineer or admin access required" in response.text, response.text


@pytest.mark.faults
@pytest.mark.timeout(120)
async def test_unsafe_urls_refused_on_save_and_secrets_sealed(core_settings, db):
    async with running_api(api_settings(core_settings, allow_loopback_integrations=False)) as api:
        tenant = await signup(api)
        headers = tenant.owner.headers
        for url in UNSAFE_URLS:
            psa = await api.put(
                f"{API}/integrations/psa",
                headers=headers,
                json={
                    "provider": "connectwise",
                    "base_url": url,
                    "credentials": {
                        "company_id": "c",
                        "public_key": "p",
                        "private_key": "k",
                        "client_id": "i",
                    },
                },
            )
            assert psa.status_code == 422, f"PSA {url}: {psa.status_code} {psa.text}"
            teams = await api.put(f"{API}/integrations/teams", headers=headers, json={"webhook_url": url})
            assert teams.status_code == 422, f"Teams {url}: {teams.status_code} {teams.text}"
        secret_token = f"xoxb-{uuid.uuid4().hex}"
        secret_key = f"pk-{uuid.uuid4().hex}"
        saved = await api.put(
            f"{API}/integrations/slack", headers=headers, json={"bot_token": secret_token, "channel_id": "C1"}
        )
        assert saved.status_code == 200, saved.text
        listed = await api.get(f"{API}/integrations", headers=headers)
        assert secret_token not in listed.text
    async with running_api(api_settings(core_settings)) as api:  # loopback allowed (dev): http to 127.0.0.1
        saved = await api.put(
            f"{API}/integrations/psa",
            headers=headers,
            json={
                "provider": "connectwise",
                "base_url": "http://127.0.0.1:9/apis/3.0",
                "credentials": {
                    "company_id": "c",
                    "public_key": "p",
                    "private_key": secret_key,
                    "client_id": "i",
                },
            },
        )
        assert saved.status_code == 200, saved.text
    async with db.sessions() as s:
        rows = (
            (await s.execute(select(Integration).where(Integration.account_id == tenant.account_id)))
            .scalars()
            .all()
        )
    assert {r.kind for r in rows} == {"slack", "psa"}
    for row in rows:
        stored = json.dumps(row.config).encode() + bytes(row.secret_ciphertext)
        assert secret_token.encode() not in stored and secret_key.encode() not in stored


@pytest.mark.faults
@pytest.mark.timeout(60)
async def test_rate_limit_answers_429_with_retry_after(core_settings):
    async with running_api(api_settings(core_settings, rate_limit_per_minute=15)) as api:
        tenant = await signup(api)
        statuses, retry_after = [], None
        for _ in range(25):
            response = await api.get(f"{API}/auth/me", headers=tenant.owner.headers)
            statuses.append(response.status_code)
            if response.status_code == 429:
                retry_after = response.headers.get("Retry-After")
                break
        assert 429 in statuses, statuses
        assert retry_after is not None and int(retry_after) >= 1
        other = await signup(api)  # another account is not limited by the first one's traffic
        assert (await api.get(f"{API}/auth/me", headers=other.owner.headers)).status_code == 200


def _notifier_path(path: str) -> bool:
    """Whether the notifier serves `path` (the gateway routes it there)."""
    return path in _NOTIFIER_PATHS


_NOTIFIER_PATHS = frozenset(create_notifier().openapi()["paths"])

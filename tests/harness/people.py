"""People and sessions through the public API: sign-up, teammates, login, sessions (any suite may use)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from flowpilot_shared.models import User
from flowpilot_shared.security.tokens import issue_token
from flowpilot_shared.settings import CoreSettings

API = "/api/v1"
PASSWORD = "correct horse battery staple"
# What the API shows of a documentation (handoff-api's GET; docgen's regenerate adds its version).
DOCUMENTATION_FIELDS = frozenset(
    {"id", "session_id", "handoff_id", "content_markdown", "generated_by", "model", "created_at", "version"}
)


@dataclass
class Person:
    """A user of a tenant with a valid token."""

    id: uuid.UUID
    email: str
    name: str
    role: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        """Bearer headers for this person."""
        return auth(self.token)


@dataclass
class Tenant:
    """An account created through sign-up, its owner, and whoever was added since."""

    account_id: uuid.UUID
    name: str
    owner: Person
    people: list[Person] = field(default_factory=list)

    def by_role(self, role: str) -> list[Person]:
        """Members with this role (the owner included when role is "owner")."""
        return [p for p in [self.owner, *self.people] if p.role == role]


def auth(token: str) -> dict[str, str]:
    """Authorization headers for a bearer token."""
    return {"Authorization": f"Bearer {token}"}


def minted_headers(settings: CoreSettings, user: User) -> dict[str, str]:
    """Bearer headers of a user written straight to the database: a token minted with the services'
    secret, as a sign-in would give."""
    token = issue_token(
        user_id=user.id, account_id=user.account_id, secret=settings.jwt_secret, ttl_seconds=600
    )
    return auth(token)


def _tag() -> str:
    return uuid.uuid4().hex[:10]


def _ok(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, (
        f"{response.request.method} {response.request.url}: {response.status_code} {response.text}"
    )
    body: dict[str, Any] = response.json()
    return body


async def signup(client: httpx.AsyncClient, *, name: str | None = None) -> Tenant:
    """A new account with its owner (token included)."""
    tag = _tag()
    body = _ok(
        await client.post(
            f"{API}/accounts",
            json={
                "account_name": name or f"MSP {tag}",
                "owner_email": f"owner-{tag}@example.com",
                "owner_name": f"Owner {tag}",
                "owner_password": PASSWORD,
            },
        ),
        201,
    )
    user = body["user"]
    owner = Person(
        id=uuid.UUID(user["id"]),
        email=user["email"],
        name=user["name"],
        role=user["role"],
        token=body["access_token"],
    )
    return Tenant(account_id=uuid.UUID(body["account"]["id"]), name=body["account"]["name"], owner=owner)


async def login(client: httpx.AsyncClient, email: str, password: str = PASSWORD) -> str:
    """A token for these credentials (asserts the login succeeds)."""
    body = _ok(await client.post(f"{API}/auth/login", json={"email": email, "password": password}), 200)
    token: str = body["access_token"]
    return token


def _token(client: httpx.AsyncClient, person_id: uuid.UUID, account_id: uuid.UUID) -> str | None:
    # In-process apps expose their settings: mint the token instead of paying for an argon2 login.
    app = getattr(client, "app", None)
    settings = getattr(getattr(app, "state", None), "settings", None)
    if settings is None:
        return None
    return issue_token(user_id=person_id, account_id=account_id, secret=settings.jwt_secret, ttl_seconds=3600)


async def add_user(
    client: httpx.AsyncClient,
    tenant: Tenant,
    role: str = "engineer",
    *,
    active: bool = True,
    name: str | None = None,
) -> Person:
    """A teammate created by the owner, logged in (a deactivated one keeps a now-useless token)."""
    tag = _tag()
    email = f"{role}-{tag}@example.com"
    user = _ok(
        await client.post(
            f"{API}/users",
            headers=tenant.owner.headers,
            json={
                "email": email,
                "name": name or f"{role.title()} {tag}",
                "role": role,
                "password": PASSWORD,
            },
        ),
        201,
    )
    person = Person(
        id=uuid.UUID(user["id"]),
        email=email,
        name=user["name"],
        role=role,
        token=await login(client, email),
    )
    if not active:
        _ok(
            await client.patch(
                f"{API}/users/{person.id}", headers=tenant.owner.headers, json={"is_active": False}
            ),
            200,
        )
    tenant.people.append(person)
    return person


async def add_story_cast(client: httpx.AsyncClient, tenant: Tenant) -> tuple[Person, list[Person], Person]:
    """The people of the escalation stories: Jo Junior, the seniors Sam Senior (engineer) and Alex
    Admin (admin), and Vic Viewer."""
    junior = await add_user(client, tenant, "engineer", name="Jo Junior")
    seniors = [
        await add_user(client, tenant, "engineer", name="Sam Senior"),
        await add_user(client, tenant, "admin", name="Alex Admin"),
    ]
    viewer = await add_user(client, tenant, "viewer", name="Vic Viewer")
    return junior, seniors, viewer


async def create_session(
    client: httpx.AsyncClient,
    token: str,
    *,
    title: str = "Outlook cannot connect",
    problem: str = "Password prompt loop in Outlook for every user at Contoso",
    client_name: str | None = "Contoso",
    psa_ticket_id: str | None = "T-1001",
    steps: list[tuple[str, str]] | None = None,
) -> dict[str, Any]:
    """A session owned by the token's user, with steps added in order; returns the session body."""
    session = _ok(
        await client.post(
            f"{API}/ai-sessions",
            headers=auth(token),
            json={
                "title": title,
                "problem": problem,
                "client_name": client_name,
                "psa_ticket_id": psa_ticket_id,
            },
        ),
        201,
    )
    for kind, content in steps or []:
        _ok(
            await client.post(
                f"{API}/ai-sessions/{session['id']}/steps",
                headers=auth(token),
                json={"kind": kind, "content": content},
            ),
            201,
        )
    if steps:
        session = _ok(await client.get(f"{API}/ai-sessions/{session['id']}", headers=auth(token)), 200)
    return session


async def escalate(
    client: httpx.AsyncClient,
    token: str,
    session_id: str,
    *,
    reason: str = "Stuck, need a senior",
    target_user_id: uuid.UUID | str | None = None,
    urgency: str | None = None,
) -> dict[str, Any]:
    """Escalate a session through `/handoff`; returns the handoff body."""
    body: dict[str, Any] = {"intent": "escalate", "reason": reason}
    if urgency is not None:
        body["urgency"] = urgency
    if target_user_id is not None:
        body["target_user_id"] = str(target_user_id)
    return _ok(
        await client.post(f"{API}/ai-sessions/{session_id}/handoff", headers=auth(token), json=body), 201
    )

"""Sign-up, login, /auth/me and teammates (roles, duplicates, soft delete, last owner)."""

from __future__ import annotations

from sqlalchemy import select

from flowpilot_shared.models import User
from tests.harness.people import API, PASSWORD, add_user, auth, login, signup


async def test_signup_login_me(api):
    tenant = await signup(api)
    me = (await api.get(f"{API}/auth/me", headers=tenant.owner.headers)).json()
    assert me["id"] == str(tenant.owner.id) and me["role"] == "owner" and me["is_active"] is True
    assert me["account_id"] == str(tenant.account_id)
    assert set(me) >= {"id", "account_id", "email", "name", "role", "is_active"}
    token = await login(api, tenant.owner.email.upper())
    login_body = (
        await api.post(f"{API}/auth/login", json={"email": tenant.owner.email, "password": PASSWORD})
    ).json()
    assert login_body["token_type"] == "bearer" and login_body["user"]["id"] == str(tenant.owner.id)
    assert (await api.get(f"{API}/auth/me", headers=auth(token))).status_code == 200


async def test_bad_credentials_answer_401(api):
    tenant = await signup(api)
    wrong = await api.post(
        f"{API}/auth/login", json={"email": tenant.owner.email, "password": "wrong-password"}
    )
    unknown = await api.post(f"{API}/auth/login", json={"email": "nobody@example.com", "password": PASSWORD})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["detail"] == unknown.json()["detail"]
    assert (await api.get(f"{API}/auth/me")).status_code == 401
    assert (await api.get(f"{API}/auth/me", headers=auth("not-a-jwt"))).status_code == 401


async def test_duplicate_email_is_409_case_insensitive(api):
    tenant = await signup(api)
    other = await signup(api)
    body = {"email": tenant.owner.email.upper(), "name": "Dup", "role": "engineer", "password": PASSWORD}
    assert (await api.post(f"{API}/users", headers=other.owner.headers, json=body)).status_code == 409
    again = {
        "account_name": "Again",
        "owner_email": tenant.owner.email.title(),
        "owner_name": "X",
        "owner_password": PASSWORD,
    }
    assert (await api.post(f"{API}/accounts", json=again)).status_code == 409


async def test_users_crud_roles_and_soft_delete(api, db):
    tenant = await signup(api)
    engineer = await add_user(api, tenant, "engineer")
    viewer = await add_user(api, tenant, "viewer")
    listed = (await api.get(f"{API}/users", headers=viewer.headers)).json()
    assert {u["id"] for u in listed} == {str(tenant.owner.id), str(engineer.id), str(viewer.id)}
    # Engineers and viewers do not manage people.
    body = {"email": "x-new@example.com", "name": "X", "role": "engineer", "password": PASSWORD}
    assert (await api.post(f"{API}/users", headers=engineer.headers, json=body)).status_code == 403
    patched = await api.patch(
        f"{API}/users/{viewer.id}", headers=tenant.owner.headers, json={"role": "admin"}
    )
    assert patched.status_code == 200 and patched.json()["role"] == "admin"
    deleted = await api.delete(f"{API}/users/{engineer.id}", headers=tenant.owner.headers)
    assert deleted.status_code == 204
    async with db.sessions() as s:
        row = (await s.execute(select(User).where(User.id == engineer.id))).scalar_one()
    assert row.deleted_at is not None and row.is_active is False
    assert (await api.get(f"{API}/auth/me", headers=engineer.headers)).status_code == 401
    bad_login = await api.post(f"{API}/auth/login", json={"email": engineer.email, "password": PASSWORD})
    assert bad_login.status_code == 401
    listed = (await api.get(f"{API}/users", headers=tenant.owner.headers)).json()
    assert str(engineer.id) not in {u["id"] for u in listed}


async def test_last_owner_cannot_be_removed_or_demoted(api):
    tenant = await signup(api)
    owner = tenant.owner
    assert (
        await api.patch(f"{API}/users/{owner.id}", headers=owner.headers, json={"role": "admin"})
    ).status_code == 409
    assert (
        await api.patch(f"{API}/users/{owner.id}", headers=owner.headers, json={"is_active": False})
    ).status_code == 409
    assert (await api.delete(f"{API}/users/{owner.id}", headers=owner.headers)).status_code == 409
    second = await add_user(api, tenant, "owner")
    assert (
        await api.patch(f"{API}/users/{owner.id}", headers=second.headers, json={"role": "admin"})
    ).status_code == 200
    assert (await api.delete(f"{API}/users/{second.id}", headers=second.headers)).status_code == 409


async def test_other_tenant_users_are_404(api):
    tenant = await signup(api)
    other = await signup(api)
    engineer = await add_user(api, tenant, "engineer")
    assert (
        await api.patch(f"{API}/users/{engineer.id}", headers=other.owner.headers, json={"role": "viewer"})
    ).status_code == 404
    assert (await api.delete(f"{API}/users/{engineer.id}", headers=other.owner.headers)).status_code == 404
    listed = (await api.get(f"{API}/users", headers=other.owner.headers)).json()
    assert [u["id"] for u in listed] == [str(other.owner.id)]

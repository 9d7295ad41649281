"""Sign-in and sign-up under abuse: guessing one password, spraying many, flooding the hasher."""

from __future__ import annotations

import asyncio
import uuid

from sqlalchemy import func, select

from flowpilot_shared.models import Account
from tests.harness.api import api_settings, running_api
from tests.harness.people import API, PASSWORD, add_user, signup

LOGIN = f"{API}/auth/login"


def _from(address: str, *, proxies: str = "") -> dict[str, str]:
    """Headers of a request the gateway forwarded for `address` (behind `proxies`, if any)."""
    return {"X-Forwarded-For": f"{proxies}, {address}" if proxies else address, "X-Real-IP": address}


def _signup_body() -> dict[str, str]:
    tag = uuid.uuid4().hex[:10]
    return {
        "account_name": f"MSP {tag}",
        "owner_email": f"owner-{tag}@example.com",
        "owner_name": "Owner",
        "owner_password": PASSWORD,
    }


async def test_guessing_one_password_is_throttled_and_others_still_sign_in(core_settings):
    settings = api_settings(
        core_settings, login_attempts_per_email=5, login_attempts_per_address=1000, rate_limit_per_minute=0
    )
    async with running_api(settings) as api:
        tenant = await signup(api)
        bob = await add_user(api, tenant)
        victim = tenant.owner.email
        guesses = [
            api.post(LOGIN, json={"email": victim, "password": f"guess-{i}"}, headers=_from("203.0.113.7"))
            for i in range(50)
        ]
        answers = await asyncio.gather(*guesses)
        statuses = sorted(a.status_code for a in answers)
        assert statuses == [401] * 5 + [429] * 45
        for answer in answers:
            if answer.status_code == 429:
                assert 1 <= int(answer.headers["retry-after"]) <= 900
        # The right password does not get through either while the window lasts (nothing tells them apart)...
        right = await api.post(
            LOGIN, json={"email": victim, "password": PASSWORD}, headers=_from("203.0.113.7")
        )
        assert right.status_code == 429
        # ...while everyone else signs in, from that address too.
        for address in ("203.0.113.7", "198.51.100.9"):
            other = await api.post(
                LOGIN, json={"email": bob.email, "password": PASSWORD}, headers=_from(address)
            )
            assert other.status_code == 200, other.text


async def test_spraying_from_one_address_is_throttled_by_address(core_settings):
    settings = api_settings(
        core_settings, login_attempts_per_email=100, login_attempts_per_address=8, rate_limit_per_minute=0
    )
    async with running_api(settings) as api:
        tenant = await signup(api)
        statuses = []
        for i in range(20):
            sprayed = {"email": f"nobody-{i}-{uuid.uuid4().hex[:6]}@example.com", "password": "Winter2026!"}
            # What the client claims left of the gateway's entry is never believed.
            headers = _from("203.0.113.8", proxies=f"198.51.100.{i}")
            statuses.append((await api.post(LOGIN, json=sprayed, headers=headers)).status_code)
        assert statuses == [401] * 8 + [429] * 12
        ok = await api.post(
            LOGIN, json={"email": tenant.owner.email, "password": PASSWORD}, headers=_from("198.51.100.20")
        )
        assert ok.status_code == 200


async def test_forwarded_headers_count_only_from_a_trusted_proxy(core_settings):
    # No trusted proxy: every request counts under the peer's own address, whatever it claims.
    settings = api_settings(
        core_settings,
        trusted_proxies="",
        login_attempts_per_email=100,
        login_attempts_per_address=3,
        rate_limit_per_minute=0,
    )
    async with running_api(settings) as api:
        statuses = []
        for i in range(5):
            body = {"email": f"who-{uuid.uuid4().hex[:6]}@example.com", "password": "nope-nope"}
            statuses.append((await api.post(LOGIN, json=body, headers=_from(f"192.0.2.{i}"))).status_code)
        assert statuses == [401, 401, 401, 429, 429]


async def test_sign_up_is_throttled_per_address_and_refusals_write_nothing(core_settings, db):
    settings = api_settings(core_settings, signups_per_address=3, rate_limit_per_minute=0)
    async with running_api(settings) as api:
        for _ in range(3):
            created = await api.post(f"{API}/accounts", json=_signup_body(), headers=_from("203.0.113.9"))
            assert created.status_code == 201, created.text
        refused_body = _signup_body()
        refused = await api.post(f"{API}/accounts", json=refused_body, headers=_from("203.0.113.9"))
        assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
        elsewhere = await api.post(f"{API}/accounts", json=_signup_body(), headers=_from("198.51.100.30"))
        assert elsewhere.status_code == 201
    async with db.sessions() as session:
        count = await session.scalar(
            select(func.count()).select_from(Account).where(Account.name == refused_body["account_name"])
        )
    assert count == 0


async def test_a_flood_of_sign_ins_is_bounded_by_the_hashing_slots(core_settings):
    # One argon2 slot, a short wait for it: a flood gets 503 + Retry-After instead of piling up memory.
    settings = api_settings(
        core_settings,
        password_hash_concurrency=1,
        password_hash_wait_seconds=0.2,
        login_attempts_per_email=0,
        rate_limit_per_minute=0,
    )
    async with running_api(settings) as api:
        tenant = await signup(api)
        flood = [
            api.post(
                LOGIN,
                json={"email": tenant.owner.email, "password": f"wrong-{i}"},
                headers=_from("203.0.113.10"),
            )
            for i in range(30)
        ]
        answers = await asyncio.gather(*flood)
        statuses = {a.status_code for a in answers}
        assert statuses <= {401, 503} and 503 in statuses, statuses
        busy = next(a for a in answers if a.status_code == 503)
        assert int(busy.headers["retry-after"]) >= 1
        assert busy.json()["detail"] == "Too many sign-ins at once, try again shortly"
        # Once the flood is over, sign-in works.
        ok = await api.post(LOGIN, json={"email": tenant.owner.email, "password": PASSWORD})
        assert ok.status_code == 200

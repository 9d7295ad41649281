"""Integrations: secrets sealed at rest and never returned; outbound URLs checked."""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from sqlalchemy import select

from flowpilot_shared.integrations import load_integration
from flowpilot_shared.models import Integration, IntegrationKind
from flowpilot_shared.security.crypto import SecretBox
from tests.harness.api import ApiClient, api_settings, running_api
from tests.harness.people import API, add_user, signup

CW = {
    "provider": "connectwise",
    "base_url": "http://127.0.0.1:9/v4_6_release/apis/3.0",
    "credentials": {
        "company_id": "contoso",
        "public_key": "pub-key-123",
        "private_key": "PRIVATE-SECRET-cw-9f2d",
        "client_id": "client-abc",
    },
}


async def assert_each_url_refused_and_nothing_saved(
    api: ApiClient, headers: dict[str, str], urls: Iterable[str]
) -> None:
    """Each URL, as a PSA base URL or a Teams webhook: 422 naming that field; no integration saved."""
    for url in urls:
        psa = await api.put(f"{API}/integrations/psa", headers=headers, json={**CW, "base_url": url})
        assert psa.status_code == 422, (url, psa.text)
        assert psa.json()["detail"][0]["loc"] == ["body", "base_url"]
        teams = await api.put(f"{API}/integrations/teams", headers=headers, json={"webhook_url": url})
        assert teams.status_code == 422, (url, teams.text)
        assert teams.json()["detail"][0]["loc"] == ["body", "webhook_url"]
    assert (await api.get(f"{API}/integrations", headers=headers)).json() == []


async def test_secrets_never_returned_and_sealed(api, db, core_settings):
    tenant = await signup(api)
    headers = tenant.owner.headers
    put = await api.put(f"{API}/integrations/psa", headers=headers, json=CW)
    assert put.status_code == 200, put.text
    slack = await api.put(
        f"{API}/integrations/slack",
        headers=headers,
        json={"bot_token": "xoxb-SLACK-SECRET", "channel_id": "C123"},
    )
    teams = await api.put(
        f"{API}/integrations/teams",
        headers=headers,
        json={"webhook_url": "http://127.0.0.1:9/hook?sig=TEAMS-SECRET"},
    )
    assert slack.status_code == teams.status_code == 200
    listed = await api.get(f"{API}/integrations", headers=headers)
    assert listed.status_code == 200
    for text in (put.text, slack.text, teams.text, listed.text):
        for secret in ("PRIVATE-SECRET-cw-9f2d", "xoxb-SLACK-SECRET", "TEAMS-SECRET", "pub-key-123"):
            assert secret not in text
    by_kind = {i["kind"]: i for i in listed.json()}
    assert set(by_kind) == {"psa", "slack", "teams"}
    assert by_kind["psa"]["provider"] == "connectwise"
    assert by_kind["psa"]["config"] == {"base_url": CW["base_url"]}
    assert by_kind["psa"]["configured"] == {k: True for k in sorted(CW["credentials"])}
    assert by_kind["slack"]["config"] == {"channel_id": "C123"}
    async with db.sessions() as s:
        rows = (
            (await s.execute(select(Integration).where(Integration.account_id == tenant.account_id)))
            .scalars()
            .all()
        )
        for row in rows:
            assert (
                b"PRIVATE-SECRET" not in row.secret_ciphertext
                and b"SLACK-SECRET" not in row.secret_ciphertext
            )
    async with db.driver() as conn:
        loaded = await load_integration(
            conn,
            account_id=tenant.account_id,
            kind=IntegrationKind.psa,
            box=SecretBox(core_settings.secret_key),
        )
    assert loaded is not None and loaded.secrets == CW["credentials"]
    assert loaded.provider == "connectwise" and loaded.config == {"base_url": CW["base_url"]}

    assert (await api.delete(f"{API}/integrations/slack", headers=headers)).status_code == 204
    assert (await api.delete(f"{API}/integrations/slack", headers=headers)).status_code == 404
    assert (await api.delete(f"{API}/integrations/nope", headers=headers)).status_code == 422
    assert {i["kind"] for i in (await api.get(f"{API}/integrations", headers=headers)).json()} == {
        "psa",
        "teams",
    }


async def test_integrations_owner_or_admin_and_tenant_scoped(api):
    tenant = await signup(api)
    engineer = await add_user(api, tenant, "engineer")
    admin = await add_user(api, tenant, "admin")
    assert (await api.put(f"{API}/integrations/psa", headers=engineer.headers, json=CW)).status_code == 403
    assert (await api.get(f"{API}/integrations", headers=engineer.headers)).status_code == 403
    assert (await api.put(f"{API}/integrations/psa", headers=admin.headers, json=CW)).status_code == 200
    other = await signup(api)
    assert (await api.get(f"{API}/integrations", headers=other.owner.headers)).json() == []
    assert (await api.delete(f"{API}/integrations/psa", headers=other.owner.headers)).status_code == 404


@pytest.mark.parametrize(
    ("credentials", "provider"),
    [
        ({"company_id": "c", "public_key": "p", "client_id": "x"}, "connectwise"),  # private_key missing
        ({"username": "u", "secret": "s"}, "autotask"),  # integration_code missing
        ({"client_id": "c"}, "halopsa"),  # client_secret missing
        ({"client_id": "c", "client_secret": "s", "bogus": "x"}, "halopsa"),
    ],
)
async def test_psa_credentials_validated_per_provider(api, credentials, provider):
    tenant = await signup(api)
    body = {"provider": provider, "base_url": "http://127.0.0.1:9/api", "credentials": credentials}
    response = await api.put(f"{API}/integrations/psa", headers=tenant.owner.headers, json=body)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "credentials"]
    assert (await api.get(f"{API}/integrations", headers=tenant.owner.headers)).json() == []


async def test_halopsa_and_autotask_accepted(api):
    tenant = await signup(api)
    for body in (
        {
            "provider": "autotask",
            "base_url": "http://localhost:9/atservicesrest",
            "credentials": {"username": "u", "secret": "s", "integration_code": "i"},
        },
        {
            "provider": "halopsa",
            "base_url": "http://127.0.0.1:9",
            "credentials": {"client_id": "c", "client_secret": "s", "tenant": "t"},
        },
    ):
        response = await api.put(f"{API}/integrations/psa", headers=tenant.owner.headers, json=body)
        assert response.status_code == 200, response.text
        assert response.json()["provider"] == body["provider"]


async def test_unsafe_urls_refused_when_loopback_is_off(core_settings):
    settings = api_settings(core_settings, allow_loopback_integrations=False)
    async with running_api(settings) as api:
        tenant = await signup(api)
        await assert_each_url_refused_and_nothing_saved(
            api,
            tenant.owner.headers,
            (
                "http://127.0.0.1:9/apis/3.0",  # http
                "https://127.0.0.1/apis/3.0",  # loopback
                "https://10.1.2.3/apis/3.0",  # private
                "https://169.254.169.254/latest",  # link-local (cloud metadata)
                "https://user:pw@example.com/",  # credentials in URL
                "ftp://example.com/",
                "not a url",
            ),
        )

"""Saving an integration URL whose address leads inside, in any of its disguises: 422, nothing saved."""

from __future__ import annotations

from tests.handoff_api.test_integrations import CW
from tests.harness.api import api_settings, running_api
from tests.harness.people import API, signup
from tests.shared.test_outbound_urls import NON_PUBLIC_URLS


async def test_every_non_public_address_form_is_refused_when_saved(core_settings):
    settings = api_settings(core_settings, allow_loopback_integrations=False, rate_limit_per_minute=0)
    async with running_api(settings) as api:
        tenant = await signup(api)
        headers = tenant.owner.headers
        for url in NON_PUBLIC_URLS:
            psa = await api.put(f"{API}/integrations/psa", headers=headers, json={**CW, "base_url": url})
            assert psa.status_code == 422, (url, psa.text)
            assert psa.json()["detail"][0]["loc"] == ["body", "base_url"]
            teams = await api.put(f"{API}/integrations/teams", headers=headers, json={"webhook_url": url})
            assert teams.status_code == 422, (url, teams.text)
            assert teams.json()["detail"][0]["loc"] == ["body", "webhook_url"]
        assert (await api.get(f"{API}/integrations", headers=headers)).json() == []

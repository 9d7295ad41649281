"""Saving an integration URL whose address leads inside, in any of its disguises: 422, nothing saved."""

from __future__ import annotations

from tests.handoff_api.test_integrations import assert_each_url_refused_and_nothing_saved
from tests.harness.api import api_settings, running_api
from tests.harness.people import signup
from tests.shared.test_outbound_urls import NON_PUBLIC_URLS


async def test_every_non_public_address_form_is_refused_when_saved(core_settings):
    settings = api_settings(core_settings, allow_loopback_integrations=False, rate_limit_per_minute=0)
    async with running_api(settings) as api:
        tenant = await signup(api)
        await assert_each_url_refused_and_nothing_saved(api, tenant.owner.headers, NON_PUBLIC_URLS)

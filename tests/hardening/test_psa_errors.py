"""What a PSA answered in error is kept as a short, clean excerpt (issue 24, item 11): no markup, no
page-long body, and nothing of the credentials that were sent, even when the PSA echoes them."""

from __future__ import annotations

import base64

import pytest

from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.psa import CREDENTIALS, FakePsa
from tests.hardening.conftest import pipeline, settled_pushes, team_on_psa
from tests.harness.people import create_session, escalate


def _sent(provider: str) -> list[str]:
    """The credentials the provider's requests carry (and so a careless error page may echo)."""
    creds = CREDENTIALS[provider]
    sent = list(creds.values())
    if provider == "connectwise":
        login = f"{creds['company_id']}+{creds['public_key']}:{creds['private_key']}"
        sent.append(base64.b64encode(login.encode()).decode())
    return sent


def error_page(provider: str) -> str:
    """A whole HTML error page, styled and scripted, that echoes what the request carried."""
    echoed = " ".join(_sent(provider))
    return f"""<!DOCTYPE html>
<html><head><title>400 - Bad Request</title>
<style>body {{ font-family: Segoe UI; color: #333 }} .trace {{ display: none }}</style>
<script>window.__state = {{"debug": "STACKTRACE-IN-SCRIPT"}};</script></head>
<body>
  <h1>Server Error in '/v4_6_release' Application.</h1>
  <h2>   <i>The request &amp; its credentials were rejected.</i>   </h2>
  <p>Request headers and body:</p>
  <pre class="trace">{echoed}</pre>
  {"<p>filler paragraph of the error page</p>" * 200}
</body></html>"""


@pytest.mark.parametrize(
    ("provider", "operation"),
    [("connectwise", "create_note"), ("autotask", "create_note"), ("halopsa", "token")],
)
async def test_a_psa_error_page_is_kept_as_a_clean_bounded_excerpt(
    core_settings, amqp, fake_anthropic: FakeAnthropic, fake_psa: FakePsa, provider: str, operation: str
):
    fake_psa.fail(provider, 400, operation=operation, body=error_page(provider))
    async with pipeline(core_settings, amqp, fake_anthropic, ai=False) as system:
        team = await team_on_psa(system.api, fake_psa, provider)
        session = await create_session(system.api, team.junior.token, psa_ticket_id="4711")
        await escalate(system.api, team.junior.token, session["id"])
        [push] = await settled_pushes(system.api, team.junior, session["id"])

    error = push["last_error"]
    assert push["status"] == "failed" and error.startswith(f"{provider} answered HTTP 400: "), error
    assert "The request & its credentials were rejected." in error
    assert "Server Error in '/v4_6_release' Application." in error
    assert len(error) <= 400, len(error)
    assert "<" not in error and ">" not in error and "STACKTRACE-IN-SCRIPT" not in error
    assert "  " not in error and "\n" not in error
    for secret in _sent(provider):
        if len(secret) >= 4:
            assert secret not in error, secret
    assert "[REDACTED]" in error

"""Settings in a real browser: people and roles, integrations with write-only secrets, delivery failures."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from playwright.async_api import expect

from tests.e2e.browser import Console, unique
from tests.e2e.conftest import Fakes
from tests.e2e.story import make_team, ok
from tests.harness.people import API, PASSWORD, create_session, escalate
from tests.harness.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


async def test_owner_manages_people_and_integrations(console: Console, fakes: Fakes, gw: httpx.AsyncClient):
    team = await make_team(gw, fakes, slack=False, psa=False)
    page = await console.signed_in(team.owner, "/settings/users")
    email = f"nia-{uuid.uuid4().hex[:8]}@example.com"

    await page.get_by_label("Name", exact=True).fill("Nia New")
    await page.get_by_label("Email").fill(email)
    await page.get_by_label("Role", exact=True).select_option("engineer")
    await page.get_by_label("Initial password").fill(PASSWORD)
    await page.get_by_role("button", name="Add teammate").click()
    nia = page.get_by_role("row").filter(has_text=email)
    await expect(nia).to_contain_text("Active")

    await page.get_by_label("Role of Nia New").select_option("admin")
    await expect(page.get_by_label("Role of Nia New")).to_have_value("admin")
    await nia.get_by_role("button", name="Deactivate").click()
    await expect(nia).to_contain_text("Deactivated")
    users = await ok(await gw.get(f"{API}/users", headers=team.owner.headers))
    added = next(u for u in users if u["email"] == email)
    assert (added["role"], added["is_active"]) == ("admin", False)

    # Slack: the token goes in, and only "set" ever comes back.
    await page.get_by_role("link", name="Integrations").click()
    slack = page.get_by_role("region", name=re.compile("^Slack"))
    await expect(slack).to_contain_text("Not connected")
    await slack.get_by_label("Bot token").fill("xoxb-e2e-secret-token")
    await slack.get_by_label("Channel ID").fill("C0CONSOLE")
    await slack.get_by_role("button", name="Save Slack connection").click()
    await expect(slack).to_contain_text("Connected")
    await expect(slack).to_contain_text("Bot token: set")
    await expect(slack).to_contain_text("Signing secret: not set")
    await expect(slack.get_by_label("Bot token")).to_have_value("")
    assert "xoxb-e2e-secret-token" not in await page.content()
    listed = await ok(await gw.get(f"{API}/integrations", headers=team.owner.headers))
    assert [(i["kind"], i["config"]["channel_id"]) for i in listed] == [("slack", "C0CONSOLE")]

    # The signing secret: write-only like the token, and what it enables is said beside it.
    signing = slack.get_by_label("Signing secret")
    await expect(signing).to_have_accessible_description(re.compile("Enables Pick up from Slack"))
    await slack.get_by_label("Bot token").fill("xoxb-e2e-secret-token")
    await signing.fill("e2e-signing-secret-3f9a")
    await slack.get_by_role("button", name="Save Slack connection").click()
    await expect(slack).to_contain_text("Signing secret: set")
    await expect(signing).to_have_value("")
    assert "e2e-signing-secret-3f9a" not in await page.content()
    listed = await ok(await gw.get(f"{API}/integrations", headers=team.owner.headers))
    assert listed[0]["configured"] == {"bot_token": True, "signing_secret": True}

    # With it, the channel's escalation message carries the Pick up button Slack posts clicks of.
    session = await create_session(gw, team.junior.token, title=unique("Slack button check"))
    handoff = await escalate(gw, team.junior.token, str(session["id"]))

    async def pick_up_button() -> bool:
        return any(
            element.get("action_id") == "pickup" and element.get("value") == handoff["id"]
            for message in fakes.slack.in_channel("C0CONSOLE")
            for block in message.blocks
            for element in block.get("elements", [])
        )

    await wait_until(pick_up_button, timeout=60, message="the Slack message with its Pick up button")

    # A 422 naming the field: a Teams webhook that is not an https URL.
    teams = page.get_by_role("region", name=re.compile("^Teams"))
    await teams.get_by_label("Webhook URL").fill("not a url")
    await teams.get_by_role("button", name="Save Teams connection").click()
    await expect(teams.get_by_role("alert")).to_contain_text("Webhook URL")

    await slack.get_by_role("button", name="Disconnect Slack").click()
    await expect(slack).to_contain_text("Not connected")
    assert await ok(await gw.get(f"{API}/integrations", headers=team.owner.headers)) == []


async def test_delivery_failures_are_shown_plainly_to_owners_only(
    console: Console, fakes: Fakes, gw: httpx.AsyncClient
):
    team = await make_team(gw, fakes, slack=False, psa=False)
    sam = team.seniors[0]
    fakes.smtp.reject_recipient(sam.email)
    session = await create_session(gw, team.junior.token, title=unique("Mail flow stopped"))
    sid = str(session["id"])
    await escalate(gw, team.junior.token, sid)

    async def failed() -> bool:
        response = await gw.get(
            f"{API}/notifications/deliveries", params={"session_id": sid}, headers=team.owner.headers
        )
        return response.status_code == 200 and any(
            d["recipient"] == sam.email and d["status"] == "failed" for d in response.json()
        )

    await wait_until(failed, timeout=60, message="the refused email recorded as failed")

    page = await console.signed_in(team.owner, "/settings/deliveries")
    await page.get_by_label("Session ID or link").fill(f"http://flowpilot.example/pilot/{sid}?pickup=true")
    await page.get_by_role("button", name="Show deliveries").click()
    row = page.get_by_role("row").filter(has_text=sam.email)
    await expect(row).to_contain_text("failed")
    await expect(row).to_contain_text("550")
    await expect(page.get_by_role("row").filter(has_text=team.seniors[1].email)).to_contain_text("sent")

    # An engineer sees the team, read-only, and none of the owner's sections.
    junior = await console.signed_in(team.junior, "/settings/users")
    await expect(junior.get_by_role("row").filter(has_text=sam.email)).to_be_visible()
    await expect(junior.get_by_role("button", name="Deactivate")).to_have_count(0)
    await expect(junior.get_by_role("button", name="Add teammate")).to_have_count(0)
    tabs = junior.get_by_role("navigation", name="Settings sections")
    await expect(tabs.get_by_role("link")).to_have_text(["Your account", "Notification preferences", "Users"])

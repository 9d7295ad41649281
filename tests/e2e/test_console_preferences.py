"""Notification preferences in a real browser: every person's own, saved through the gateway, obeyed."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.async_api import expect

from tests.e2e.browser import PHONE, Console, screenshot, unique
from tests.e2e.conftest import Fakes
from tests.e2e.story import make_team, ok
from tests.harness.people import API, create_session, escalate
from tests.harness.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

PREFERENCES = f"{API}/me/notification-preferences"
DEFAULTS = {"timezone": "UTC", "quiet_hours": None, "email": True, "chat_mentions": True}


async def test_a_viewer_sets_zone_and_quiet_hours_and_sees_refusals_in_words(
    console: Console, fakes: Fakes, gw: httpx.AsyncClient
):
    team = await make_team(gw, fakes, slack=False, psa=False)
    viewer = team.viewer
    page = await console.signed_in(viewer, "/settings", timezone_id="America/Chicago")
    await page.get_by_role("link", name="Notification preferences").click()
    await expect(page).to_have_url(re.compile(r"/settings/notifications$"))
    saved = page.locator(".saved-line")
    await expect(saved).to_have_text("Saved: UTC · no quiet hours · email on · Slack mentions on")
    zone = page.get_by_label("Time zone")
    await expect(zone).to_have_value("UTC")

    # The browser's own zone is one click away.
    await page.get_by_role("button", name="Use this browser's time zone (America/Chicago)").click()
    await expect(zone).to_have_value("America/Chicago")
    await expect(page.get_by_role("button", name=re.compile("Use this browser's time zone"))).to_have_count(0)

    # Start == end: the API refuses it (422 on quiet_hours); the page says why, and nothing is saved.
    await page.get_by_label("Hold email and Slack mentions during quiet hours").check()
    start, end = page.get_by_label("Quiet from"), page.get_by_label("Quiet until")
    await start.fill("22:00")
    await end.fill("22:00")
    await page.get_by_role("button", name="Save preferences").click()
    await expect(page.get_by_role("alert")).to_have_text(
        "Quiet hours: start and end must be different times. To have no quiet hours, switch them off."
    )
    await expect(start).to_have_attribute("aria-invalid", "true")
    await expect(end).to_have_attribute("aria-invalid", "true")
    assert await ok(await gw.get(PREFERENCES, headers=viewer.headers)) == DEFAULTS

    # A window across midnight is fine.
    await end.fill("06:30")
    await expect(
        page.get_by_text("No email or Slack mention from 22:00 to 06:30 the next morning, on your clock.")
    ).to_be_visible()
    await page.get_by_label("Mention me in the team's Slack messages").uncheck()
    await page.get_by_role("button", name="Save preferences").click()
    await expect(page.get_by_role("status").filter(has_text="Saved.")).to_be_visible()
    await expect(saved).to_have_text(
        "Saved: America/Chicago · quiet hours 22:00 to 06:30 the next morning · email on · Slack mentions off"
    )
    await screenshot(page, "preferences")
    assert await ok(await gw.get(PREFERENCES, headers=viewer.headers)) == {
        "timezone": "America/Chicago",
        "quiet_hours": {"start": "22:00", "end": "06:30"},
        "email": True,
        "chat_mentions": False,
    }

    # What is saved is what another device shows (a phone in another zone), and it fits the screen.
    phone = await console.signed_in(
        viewer, "/settings/notifications", viewport=PHONE, timezone_id="Europe/Berlin"
    )
    await expect(phone.get_by_label("Time zone")).to_have_value("America/Chicago")
    await expect(phone.get_by_label("Hold email and Slack mentions during quiet hours")).to_be_checked()
    await expect(phone.get_by_label("Quiet from")).to_have_value("22:00")
    await expect(phone.get_by_label("Quiet until")).to_have_value("06:30")
    await expect(phone.get_by_label("Email me about escalations")).to_be_checked()
    await expect(phone.get_by_label("Mention me in the team's Slack messages")).not_to_be_checked()
    await expect(
        phone.get_by_role("button", name="Use this browser's time zone (Europe/Berlin)")
    ).to_be_visible()
    assert await phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    # Switching quiet hours off sends null.
    await phone.get_by_label("Hold email and Slack mentions during quiet hours").uncheck()
    await phone.get_by_role("button", name="Save preferences").click()
    await expect(phone.get_by_role("status").filter(has_text="Saved.")).to_be_visible()
    stored = await ok(await gw.get(PREFERENCES, headers=viewer.headers))
    assert (stored["quiet_hours"], stored["timezone"]) == (None, "America/Chicago")


async def test_email_switched_off_in_the_console_skips_the_next_escalation_email(
    console: Console, fakes: Fakes, gw: httpx.AsyncClient
):
    team = await make_team(gw, fakes, slack=False, psa=False)
    sam, alex = team.seniors
    page = await console.signed_in(sam, "/settings/notifications")
    await page.get_by_label("Email me about escalations").uncheck()
    await page.get_by_role("button", name="Save preferences").click()
    await expect(page.get_by_role("status").filter(has_text="Saved.")).to_be_visible()

    session = await create_session(gw, team.junior.token, title=unique("Mailbox migration stuck"))
    sid = str(session["id"])
    await escalate(gw, team.junior.token, sid)

    async def emails() -> dict[str, tuple[str, str | None]] | None:
        response = await gw.get(
            f"{API}/notifications/deliveries", params={"session_id": sid}, headers=team.owner.headers
        )
        if response.status_code != 200:
            return None
        found = {
            d["recipient"]: (d["status"], d.get("skip_reason"))
            for d in response.json()
            if d["channel"] == "email"
        }
        settled = {r: v for r, v in found.items() if v[0] in {"sent", "skipped", "failed"}}
        return settled if {sam.email, alex.email} <= settled.keys() else None

    found = await wait_until(emails, timeout=60, message="the escalation's email deliveries")
    assert found is not None
    assert found[sam.email] == ("skipped", "preference")
    assert found[alex.email][0] == "sent"
    assert not [m for m in fakes.smtp.to(sam.email) if session["title"] in m.subject]
    # The bell still rings for Sam.
    await page.get_by_role("link", name="Notifications").click()
    await expect(page.locator(".notifications li").filter(has_text=session["title"])).to_be_visible()

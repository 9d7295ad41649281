"""The Sessions page from `GET /ai-sessions` in a real browser: any device, mine or the team's, by status."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.async_api import Locator, Page, expect

from tests.e2e.browser import PHONE, Console, region, screenshot, unique
from tests.e2e.conftest import Fakes
from tests.e2e.story import make_team, ok
from tests.harness.people import API, create_session, escalate

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def listed(page: Page) -> Locator:
    """The rows of the session list."""
    return page.locator(".session-list .session-row")


async def test_sessions_come_from_the_api_mine_or_the_teams_by_status(
    console: Console, fakes: Fakes, gw: httpx.AsyncClient
):
    team = await make_team(gw, fakes, slack=False, psa=False)
    sam = team.seniors[0]
    # Made elsewhere (through the API, not this browser): a new device must still list them.
    older = await create_session(gw, team.junior.token, title=unique("Printer offline"))
    newer = await create_session(gw, team.junior.token, title=unique("Wi-Fi drops"), client_name="Fabrikam")
    theirs = await create_session(gw, sam.token, title=unique("Firewall rule audit"))
    await escalate(gw, team.junior.token, str(older["id"]), reason="Driver issue beyond me")

    page = await console.signed_in(team.junior, "/sessions")
    mine = region(page, "Your sessions")
    await expect(page.get_by_label("My sessions")).to_be_checked()
    # Most recently changed first: the escalation moved the older session to the top.
    await expect(listed(page)).to_have_count(2)
    await expect(listed(page).locator("a")).to_have_text([older["title"], newer["title"]])
    await expect(listed(page).first).to_contain_text("Escalated")
    await expect(listed(page).nth(1)).to_contain_text("Active")
    await expect(listed(page).nth(1)).to_contain_text("Fabrikam")
    await expect(mine).not_to_contain_text(theirs["title"])

    # By status: only the escalated one; the filter is in the address, so a reload keeps it.
    await page.get_by_label("Status").select_option(label="Escalated")
    await expect(page).to_have_url(re.compile(r"/sessions\?status=escalated$"))
    await expect(listed(page).locator("a")).to_have_text([older["title"]])
    await page.reload()
    await expect(page.get_by_label("Status")).to_have_value("escalated")
    await expect(listed(page).locator("a")).to_have_text([older["title"]])
    await page.get_by_label("Status").select_option(label="Resolved")
    await expect(page.get_by_text("No sessions match this filter.")).to_be_visible()

    # The whole team's, any status: Sam's session too, each with its owner.
    await page.get_by_label("Status").select_option(label="Any status")
    await expect(page).to_have_url(re.compile(r"/sessions$"))
    # The choice lives in the address, which the router applies in a transition: the radio shows it
    # checked once that lands (Playwright's check() looks at once, and saw it still unchecked).
    whole_team = page.get_by_label("The whole team's")
    await whole_team.click()
    await expect(whole_team).to_be_checked()
    await expect(page).to_have_url(re.compile(r"/sessions\?whose=team$"))
    team_list = region(page, "The team's sessions")
    await expect(listed(page)).to_have_count(3)
    await expect(listed(page).filter(has_text=theirs["title"])).to_contain_text(f"Owner: {sam.name}")
    await expect(listed(page).filter(has_text=newer["title"])).to_contain_text("Owner: you")
    await screenshot(page, "sessions")

    # Live: Sam escalates his session elsewhere; the team list follows without a reload.
    await page.evaluate("window.stillTheSamePage = true")
    await escalate(gw, sam.token, str(theirs["id"]), reason="Need a second pair of eyes")
    await expect(listed(page).first).to_contain_text(theirs["title"])
    await expect(listed(page).first).to_contain_text("Escalated")
    assert await page.evaluate("window.stillTheSamePage") is True

    # A row opens the session's screen.
    await team_list.get_by_role("link", name=newer["title"]).click()
    await expect(page).to_have_url(re.compile(rf"/pilot/{newer['id']}$"))
    await expect(page.get_by_role("heading", name=newer["title"])).to_be_visible()

    # What the API says the page showed: the account's three sessions, nobody else's.
    body = await ok(await gw.get(f"{API}/ai-sessions", headers=team.junior.headers))
    assert {s["id"] for s in body} == {older["id"], newer["id"], theirs["id"]}


async def test_sessions_for_a_viewer_and_at_phone_width(
    console: Console, fakes: Fakes, gw: httpx.AsyncClient
):
    team = await make_team(gw, fakes, slack=False, psa=False)
    session = await create_session(gw, team.junior.token, title=unique("Scanner to email fails"))

    # Viewers own no sessions: they see the team's, with no "mine" choice and no new-session form.
    viewer = await console.signed_in(team.viewer, "/sessions")
    await expect(viewer.get_by_role("heading", name="The team's sessions")).to_be_visible()
    await expect(listed(viewer).filter(has_text=session["title"])).to_contain_text(team.junior.name)
    await expect(viewer.get_by_label("My sessions")).to_have_count(0)
    await expect(viewer.get_by_role("button", name="Start session")).to_have_count(0)

    phone = await console.signed_in(team.junior, "/sessions?whose=team", viewport=PHONE)
    await expect(listed(phone).filter(has_text=session["title"])).to_be_visible()
    await expect(phone.get_by_label("The whole team's")).to_be_checked()
    assert await phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

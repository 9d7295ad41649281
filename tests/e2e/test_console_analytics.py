"""The analytics page in a real browser: totals, pickups per senior, time to pickup per day, a bad range."""

from __future__ import annotations

import re
from datetime import date, timedelta

import httpx
import pytest
from playwright.async_api import expect

from tests.e2e.browser import PHONE, Console, region, screenshot, sign_in, unique
from tests.e2e.conftest import Fakes
from tests.e2e.story import Team, make_team, ok
from tests.harness.people import API, Person, create_session, escalate

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

STATS = f"{API}/analytics/escalations"


async def _escalation(gw: httpx.AsyncClient, team: Team, claimer: Person | None) -> None:
    """One escalation by the junior, claimed by `claimer` (or left waiting)."""
    session = await create_session(gw, team.junior.token, title=unique("Mail flow stuck"), psa_ticket_id=None)
    handoff = await escalate(gw, team.junior.token, session["id"], reason="Transport rules")
    if claimer is not None:
        claim = f"{API}/ai-sessions/{session['id']}/handoffs/{handoff['id']}/claim"
        await ok(await gw.post(claim, headers=claimer.headers))


async def test_analytics_show_pickups_per_day_and_per_senior_loaded_on_demand(
    console: Console, fakes: Fakes, gw: httpx.AsyncClient
):
    team = await make_team(gw, fakes, slack=False, psa=False)
    sam, alex = team.seniors
    for claimer in (sam, sam, alex, None):
        await _escalation(gw, team, claimer)
    api = await ok(await gw.get(STATS, headers=team.owner.headers))
    assert (api["escalations"], api["claimed"], api["unclaimed"]) == (4, 3, 1)

    # Every request from the first load on: the chart's chunk must not be among the first load's.
    page = await console.open()
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    await page.goto("/queue")
    await sign_in(page, team.owner)
    await expect(page.get_by_role("heading", name="Queue")).to_be_visible()
    assert [u for u in requested if re.search(r"/assets/index-[^/]+\.js$", u)], requested
    assert not [u for u in requested if "/assets/AnalyticsPage-" in u], (
        "the analytics chunk is in the first load"
    )

    await page.get_by_role("link", name="Analytics").click()
    await expect(page).to_have_url(re.compile(r"/analytics$"))
    await expect(page.get_by_role("heading", name="Analytics")).to_be_visible()
    assert [u for u in requested if re.search(r"/assets/AnalyticsPage-[^/]+\.js$", u)], "loaded on demand"
    totals = page.get_by_label("Totals")
    for label, value in (
        ("Escalations", 4),
        ("Picked up", 3),
        ("Still unclaimed", 1),
        ("Needed reminders", 0),
    ):
        await expect(totals.locator(".stat", has_text=label).locator("dd")).to_have_text(str(value))
    await expect(totals.locator(".stat", has_text="Median time to pickup").locator("dd")).to_have_text(
        re.compile(r"^\d+(\.\d)? (s|min)")
    )

    seniors = region(page, "Pickups by senior")
    await expect(seniors.locator("tbody tr")).to_have_count(2)
    await expect(seniors.locator("tbody tr").nth(0)).to_contain_text(re.compile(r"Sam Senior\s*2"))
    await expect(seniors.locator("tbody tr").nth(1)).to_contain_text(re.compile(r"Alex Admin\s*1"))

    # Time to pickup per day: the last 30 days, one call each (never more than 31), drawn on a canvas.
    per_day = region(page, "Time to pickup per day")
    await expect(per_day.get_by_role("status")).to_have_count(0)
    canvas = per_day.locator(".chart canvas")
    await expect(canvas).to_be_visible()
    assert (await canvas.bounding_box() or {}).get("width", 0) > 200
    await per_day.get_by_text("The figures").click()
    rows = per_day.locator("details tbody tr")
    await expect(rows).to_have_count(30)
    await expect(rows.last.locator("td").nth(1)).to_have_text("4")  # today: the four escalations
    calls = [u for u in requested if "/api/v1/analytics/escalations" in u]
    assert 30 <= len(calls) <= 32, len(calls)
    figure = per_day.get_by_role("img")
    await expect(figure).to_have_attribute(
        "aria-label", re.compile(r"^Median time to pickup per day\. .+: \d+")
    )
    await screenshot(page, "analytics", full_page=True)

    # A range ending before it starts: the API's 422, in words; the range is kept in the address.
    today = date.fromisoformat(await page.get_by_label("To", exact=True).input_value())
    await page.get_by_label("From", exact=True).fill((today + timedelta(days=1)).isoformat())
    await page.get_by_role("button", name="Show").click()
    await expect(page.get_by_role("alert")).to_have_text("Not a range: “From” must be on or before “To”.")
    await expect(page.get_by_label("From", exact=True)).to_have_attribute("aria-invalid", "true")
    await expect(page).to_have_url(re.compile(r"/analytics\?from=.+&to=.+"))
    await page.get_by_label("From", exact=True).fill(today.isoformat())
    await page.get_by_role("button", name="Show").click()
    await expect(totals.locator(".stat", has_text="Escalations").locator("dd")).to_have_text("4")
    await expect(region(page, "Time to pickup per day").locator("details tbody tr")).to_have_count(1)

    # At phone width nothing runs off the side.
    phone = await console.signed_in(team.owner, "/analytics", viewport=PHONE)
    await expect(phone.get_by_label("Totals")).to_be_visible()
    await expect(region(phone, "Time to pickup per day").locator(".chart canvas")).to_be_visible()
    assert await phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    # Engineers are not offered analytics (the API refuses them too).
    other = await console.signed_in(sam, "/queue")
    await expect(other.get_by_role("link", name="Analytics")).to_have_count(0)
    await other.goto("/analytics")
    await expect(other.get_by_text("Analytics are for owners and admins.")).to_be_visible()

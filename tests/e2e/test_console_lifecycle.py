"""The escalation lifecycle in the console, in a real browser: the policy, Release, the timeline, reminder rounds.

The four services run as processes behind nginx; the browser reaches them only through the gateway.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from playwright.async_api import Page, expect

from tests.e2e.browser import Console, region, screenshot, unique
from tests.e2e.conftest import Fakes
from tests.e2e.story import Team, make_team, ok
from tests.harness.people import API, Person, create_session, escalate
from tests.harness.timers import set_policy

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

STEPS = [("observation", "The tunnel drops every hour on the hour"), ("action", "Rekeyed the IPsec tunnel")]


async def _escalated(gw: httpx.AsyncClient, team: Team, title: str, **kwargs: Any) -> tuple[str, str]:
    """A session of the junior's with steps, escalated; returns (session id, handoff id)."""
    session = await create_session(gw, team.junior.token, title=title, psa_ticket_id=None, steps=STEPS)
    handoff = await escalate(gw, team.junior.token, session["id"], reason="Tunnel flaps", **kwargs)
    return str(session["id"]), str(handoff["id"])


async def _policy(gw: httpx.AsyncClient, person: Person) -> tuple[int, int]:
    body = await ok(await gw.get(f"{API}/escalation-policy", headers=person.headers))
    return body["reescalate_after_seconds"], body["max_rounds"]


async def _handoff(gw: httpx.AsyncClient, team: Team, sid: str, hid: str) -> dict[str, Any]:
    handoffs = await ok(await gw.get(f"{API}/ai-sessions/{sid}/handoffs", headers=team.owner.headers))
    found: dict[str, Any] = next(h for h in handoffs if h["id"] == hid)
    return found


def _row(page: Page, sid: str) -> Any:
    return page.locator(f'.queue-row[data-session-id="{sid}"]')


async def test_policy_in_settings_speaks_hours_and_refuses_in_words(
    console: Console, fakes: Fakes, gw: httpx.AsyncClient
):
    team = await make_team(gw, fakes, slack=False, psa=False)
    page = await console.signed_in(team.owner, "/settings/escalation-policy")
    await expect(page.get_by_role("heading", name="Escalation policy")).to_be_visible()
    now = page.get_by_test_id("policy-now")
    await expect(now).to_contain_text(
        "If nobody picks an escalation up within 10 min, everyone is reminded, up to 3 times; "
        "then the owners and admins are told."
    )
    await expect(page.get_by_label("Remind after")).to_have_value("10")
    await expect(page.get_by_label("Unit")).to_have_value("minutes")

    await page.get_by_label("Remind after").fill("2")
    await page.get_by_label("Unit").select_option("hours")
    await page.get_by_label("Reminder rounds").fill("1")
    await expect(page.get_by_test_id("policy-preview")).to_have_text(
        "After saving: If nobody picks an escalation up within 2 h, everyone is reminded, once; "
        "then the owners and admins are told."
    )
    await page.get_by_role("button", name="Save policy").click()
    await expect(page.get_by_role("status").filter(has_text="Saved.")).to_be_visible()
    await expect(now).to_contain_text("within 2 h, everyone is reminded, once;")
    assert await _policy(gw, team.owner) == (7200, 1)

    # Out of range: the API's 422, in the form's words on the field; nothing saved.
    await page.get_by_label("Remind after").fill("25")
    await page.get_by_role("button", name="Save policy").click()
    await expect(page.get_by_role("alert")).to_have_text(
        "Not saved. Remind after: must be between 5 seconds and 24 hours."
    )
    await expect(page.get_by_label("Remind after")).to_have_attribute("aria-invalid", "true")
    await page.get_by_label("Remind after").fill("30")
    await page.get_by_label("Unit").select_option("seconds")
    await page.get_by_label("Reminder rounds").fill("")
    await page.get_by_role("button", name="Save policy").click()
    await expect(page.get_by_role("alert")).to_have_text(
        "Not saved. Reminder rounds: enter a whole number between 0 and 10."
    )
    assert await _policy(gw, team.owner) == (7200, 1)

    # Seconds for short test policies; 0 rounds tells the owners and admins at once. Kept across a reload.
    await page.get_by_label("Reminder rounds").fill("0")
    await page.get_by_role("button", name="Save policy").click()
    await expect(now).to_contain_text(
        "If nobody picks an escalation up within 30 s, the owners and admins are told."
    )
    assert await _policy(gw, team.owner) == (30, 0)
    await page.reload()
    await expect(page.get_by_label("Remind after")).to_have_value("30")
    await expect(page.get_by_label("Unit")).to_have_value("seconds")

    # Engineers and viewers are not offered the section (the API refuses them too).
    for person in (team.seniors[0], team.viewer):
        other = await console.signed_in(person, "/settings/escalation-policy")
        await expect(other.get_by_role("heading", name="Your account")).to_be_visible()
        await expect(other.get_by_role("link", name="Escalation policy")).to_have_count(0)
        await expect(other.get_by_role("heading", name="Escalation policy")).to_have_count(0)


async def test_release_puts_it_back_in_the_queue_live_and_refusals_are_in_words(
    console: Console, fakes: Fakes, gw: httpx.AsyncClient
):
    team = await make_team(gw, fakes, slack=False, psa=False)
    sam, alex = team.seniors
    title = unique("Tunnel flaps hourly")
    sid, hid = await _escalated(gw, team, title)
    path = f"/pilot/{sid}"

    queue = await console.signed_in(alex, "/queue")  # a second browser, live
    await expect(_row(queue, sid)).to_be_visible()
    page = await console.signed_in(sam, path)
    await page.get_by_role("button", name="Pick up").click()
    await expect(page.locator(".pickup-bar .held")).to_contain_text(re.compile(r"Picked up by\s+you"))
    await expect(_row(queue, sid)).to_have_count(0)
    # Someone who neither holds it nor is an owner/admin is not offered Release; the owner is.
    junior = await console.signed_in(team.junior, path)
    await expect(junior.locator(".pickup-bar .held")).to_contain_text(
        re.compile(r"Picked up by\s+Sam Senior")
    )
    await expect(junior.get_by_role("button", name="Release")).to_have_count(0)
    owner = await console.signed_in(team.owner, path)
    await expect(owner.get_by_role("button", name="Release")).to_be_visible()
    # A tab of Sam's that lost its live connection still shows him holding it.
    stale = await console.signed_in(sam, path, live=False)
    await expect(stale.get_by_role("button", name="Release")).to_be_visible()

    await page.get_by_role("button", name="Release").click()
    confirm = page.get_by_role("group", name=re.compile("Release it back to the queue?"))
    await expect(confirm).to_contain_text("You will no longer hold it")
    await confirm.get_by_role("button", name="Cancel").click()
    await expect(confirm).to_have_count(0)
    assert (await _handoff(gw, team, sid, hid))["claimed_by"] == str(sam.id)
    await page.get_by_role("button", name="Release").click()
    await page.get_by_role("button", name="Yes, release it").click()
    await expect(
        page.get_by_role("status").filter(has_text="Released: it is back in the queue.")
    ).to_be_visible()
    await expect(page.get_by_role("button", name="Pick up again")).to_be_visible()
    await expect(page.locator(".crumbs .badge")).to_have_text(re.compile("Escalated"))
    handoff = await _handoff(gw, team, sid, hid)
    assert (handoff["claimed_by"], handoff["claimed_at"]) == (None, None)
    session = await ok(await gw.get(f"{API}/ai-sessions/{sid}", headers=sam.headers))
    assert (session["status"], session["owner_id"]) == ("escalated", str(team.junior.id))
    await expect(_row(queue, sid)).to_be_visible()  # back in the other browser's queue, live

    # The stale tab: nothing to release any more (409), in words; it then shows what is true.
    await stale.get_by_role("button", name="Release").click()
    await stale.get_by_role("button", name="Yes, release it").click()
    await expect(stale.get_by_role("alert")).to_have_text(
        "Could not release: The escalation is not claimed: there is nothing to release"
    )
    await expect(stale.get_by_role("button", name="Pick up")).to_be_visible()

    # Sam takes it again; a tab of his goes stale; he releases; Alex takes it: the stale tab gets 403.
    await page.get_by_role("button", name="Pick up again").click()
    await expect(page.locator(".pickup-bar .held")).to_contain_text(re.compile(r"Picked up by\s+you"))
    stale = await console.signed_in(sam, path, live=False)
    await expect(stale.get_by_role("button", name="Release")).to_be_visible()
    await page.get_by_role("button", name="Release").click()
    await page.get_by_role("button", name="Yes, release it").click()
    await expect(_row(queue, sid)).to_be_visible()
    await _row(queue, sid).get_by_role("button", name="Pick up").click()
    await expect(queue.locator(".pickup-bar .held")).to_contain_text(re.compile(r"Picked up by\s+you"))
    await stale.get_by_role("button", name="Release").click()
    await stale.get_by_role("button", name="Yes, release it").click()
    await expect(stale.get_by_role("alert")).to_have_text(
        "Could not release: Only the senior who claimed it, or an owner or admin, can release it"
    )
    assert (await _handoff(gw, team, sid, hid))["claimed_by"] == str(alex.id)
    await expect(stale.locator(".pickup-bar .held")).to_contain_text(re.compile(r"Picked up by\s+Alex Admin"))


async def test_timeline_and_reminder_rounds_arrive_live_with_failures_plainly(
    console: Console, fakes: Fakes, gw: httpx.AsyncClient
):
    team = await make_team(gw, fakes, psa=False)
    fakes.slack.unknown_channels.add(team.channel)  # every Slack message of this team fails
    sam, alex = team.seniors
    title = unique("Tunnel flaps at night")
    sid, _ = await _escalated(gw, team, title, urgency="high")

    queue = await console.signed_in(alex, "/queue")
    await expect(_row(queue, sid)).to_be_visible()
    page = await console.signed_in(sam, f"/pilot/{sid}")
    timeline = region(page, "Timeline")
    entries = timeline.locator("li")
    await expect(entries.filter(has_text="Escalated (high urgency)")).to_contain_text("Jo Junior")
    await expect(entries.filter(has_text="Rekeyed the IPsec tunnel")).to_have_count(1)
    await expect(entries.filter(has_text=f"to {sam.email}")).to_contain_text("sent")
    slack = timeline.locator('li[data-kind="delivery"]', has_text="Slack").first
    await expect(slack).to_contain_text("failed")
    await expect(slack).to_contain_text(re.compile(r"Why: .*channel_not_found"))
    await expect(timeline).to_contain_text(re.compile(r"Not delivered: \d+"))
    await page.evaluate("window.stillTheSamePage = true")

    # A 5-second policy with one round: the waiting escalation's reminder and the owners' notice fire now.
    await set_policy(gw, team.owner, reescalate_after_seconds=5, max_rounds=1)
    await expect(entries.filter(has_text="Reminder 1")).to_contain_text("round 1 of 1")
    await expect(entries.filter(has_text="Owners told")).to_be_visible()
    await expect(page.locator(".pilot-head .reminders")).to_contain_text(
        "Reminded once; owners and admins told"
    )
    await expect(_row(queue, sid).locator(".reminders")).to_contain_text(
        "Reminded once; owners and admins told"
    )
    await queue.reload()  # the queue API carries the rounds too: a reload still says so
    await expect(_row(queue, sid).locator(".reminders")).to_contain_text(
        "Reminded once; owners and admins told"
    )
    await screenshot(page, "timeline", full_page=True)

    await page.get_by_role("button", name="Pick up").click()
    await expect(entries.filter(has_text="Picked up by Sam Senior")).to_be_visible()
    await expect(page.locator(".pilot-head .reminders")).to_have_count(0)
    assert await page.evaluate("window.stillTheSamePage") is True  # live, not reloaded
    # The screen lists what the API's timeline has, oldest first.
    items = await ok(await gw.get(f"{API}/ai-sessions/{sid}/timeline", headers=sam.headers))
    assert {"step", "escalation", "round", "delivery", "claim"} <= {i["kind"] for i in items}
    await expect(entries.first).to_contain_text(items[0]["data"]["content"])

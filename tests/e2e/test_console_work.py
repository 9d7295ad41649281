"""The console's queue, the junior's sessions, notifications and errors, in a real browser."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.async_api import Page, expect

from flowpilot_shared.security.tokens import issue_token
from tests.e2e.browser import PHONE, Console, region, screenshot, sign_in, unique
from tests.e2e.conftest import FAST, Fakes
from tests.e2e.story import make_team, ok
from tests.harness.people import API, create_session, escalate

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


def row(page: Page, title: str):  # type: ignore[no-untyped-def]
    """The queue row of one escalation."""
    return page.locator(".queue-row").filter(has=page.get_by_role("link", name=title))


async def test_queue_is_live_with_badges_and_notifications(
    console: Console, fakes: Fakes, gw: httpx.AsyncClient
):
    team = await make_team(gw, fakes, slack=False, psa=False)
    sam, alex = team.seniors
    page = await console.signed_in(sam, "/queue")
    await expect(page.get_by_role("status").filter(has_text="Live")).to_be_visible()
    await expect(page.get_by_text("Nothing is waiting.")).to_be_visible()
    await page.evaluate("window.stillTheSamePage = true")

    titles = [unique("Exchange mailbox full"), unique("Firewall blocks SIP"), unique("Laptop will not boot")]
    urgencies = ["normal", "high", "normal"]
    sessions = []
    for title, urgency in zip(titles, urgencies, strict=True):
        session = await create_session(gw, team.junior.token, title=title)
        await escalate(
            gw, team.junior.token, str(session["id"]), reason=f"Need help with {title}", urgency=urgency
        )
        sessions.append(str(session["id"]))
        await expect(row(page, title)).to_be_visible()
    first = row(page, titles[0])
    await expect(first).to_contain_text(f"Need help with {titles[0]}")
    await expect(first).to_contain_text("Escalated by Jo Junior")
    await expect(first).to_contain_text(re.compile(r"waiting \d+ ?(s|min)"))
    await expect(page.get_by_label("3 awaiting pickup")).to_be_visible()

    # The high-urgency escalation is marked in words and stands out; the others carry no marker.
    urgent = row(page, titles[1])
    await expect(urgent.get_by_text("High urgency", exact=True)).to_be_visible()
    await expect(first.get_by_text("High urgency")).to_have_count(0)
    await expect(row(page, titles[2]).get_by_text("High urgency")).to_have_count(0)
    edge = "el => getComputedStyle(el).borderLeftColor + ' ' + getComputedStyle(el).backgroundColor"
    assert await urgent.evaluate(edge) != await first.evaluate(edge)
    await expect(page.get_by_label("3 unread")).to_be_visible()
    await screenshot(page, "queue")

    # Alex takes one: it leaves Sam's queue and badge without a reload.
    await ok(await gw.post(f"{API}/ai-sessions/{sessions[1]}/pickup", headers=alex.headers))
    await expect(row(page, titles[1])).to_have_count(0)
    await expect(page.get_by_label("2 awaiting pickup")).to_be_visible()
    assert await page.evaluate("window.stillTheSamePage") is True

    # Pick up from the queue: Sam lands on the pickup screen as its holder.
    await row(page, titles[0]).get_by_role("button", name="Pick up").click()
    await expect(page).to_have_url(re.compile(rf"/pilot/{sessions[0]}$"))
    await expect(page.get_by_text(re.compile(r"Picked up by\s+you"))).to_be_visible()

    # The bell: mark one read, then all.
    await page.get_by_role("link", name="Notifications").click()
    items = page.locator(".notifications li")
    await expect(items).to_have_count(3)
    await items.filter(has_text=titles[2]).get_by_role("button", name="Mark read").click()
    await expect(page.get_by_label("2 unread")).to_be_visible()
    await page.get_by_role("button", name="Mark all read").click()
    await expect(page.locator(".count")).to_have_count(1)  # only the queue badge is left
    unread = await ok(await gw.get(f"{API}/notifications/unread-count", headers=sam.headers))
    assert unread == {"count": 0}

    # At phone width the queue still fits and its button is usable.
    phone = await console.signed_in(alex, "/queue", viewport=PHONE)
    await expect(row(phone, titles[2]).get_by_role("button", name="Pick up")).to_be_visible()
    assert await phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]


async def test_junior_creates_parks_resumes_and_escalates_through_the_ui(
    console: Console, fakes: Fakes, gw: httpx.AsyncClient
):
    team = await make_team(gw, fakes, slack=False, psa=False)
    sam = team.seniors[0]
    title = unique("Shared drive mapping lost")
    page = await console.signed_in(team.junior, "/sessions")

    await page.get_by_label("Title").fill(title)
    await page.get_by_label("Problem").fill("The S: drive disappears after every reboot for the finance team")
    await page.get_by_label("Client").fill("Fabrikam")
    await page.get_by_label("PSA ticket").fill("T-4242")
    await page.get_by_role("button", name="Start session").click()
    await expect(page).to_have_url(re.compile(r"/pilot/[0-9a-f-]{36}$"))
    sid = page.url.rsplit("/", 1)[1]
    status = page.locator(".crumbs .badge")
    await expect(status).to_have_text("Active")

    for kind, text in [
        ("Action tried", "Re-ran the logon script"),
        ("Observation", "GPO applies, drive still gone"),
    ]:
        await page.get_by_label("Kind of step").select_option(label=kind)
        await page.get_by_label("What happened").fill(text)
        await page.get_by_role("button", name="Add step").click()
        await expect(region(page, "Steps")).to_contain_text(text)
        await expect(page.get_by_label("What happened")).to_have_value("")

    await page.get_by_label("Park (private, come back later)").check()
    await page.get_by_label("Why park").fill("Waiting for the user to reboot tonight")
    await page.get_by_role("button", name="Park", exact=True).click()
    await expect(status).to_have_text("Parked")
    await page.get_by_role("button", name="Resume").click()
    await expect(status).to_have_text("Active")

    await page.get_by_label("Why escalate").fill("GPO looks right; need someone who knows DFS")
    await page.get_by_label("Escalate to", exact=True).select_option(label=f"{sam.name} (engineer)")
    urgency = page.get_by_role("group", name="Urgency")
    await expect(urgency.get_by_label("Normal")).to_be_checked()  # the default
    await urgency.get_by_label("High").check()
    await page.get_by_role("button", name="Escalate", exact=True).click()
    await expect(status).to_have_text("Escalated")
    await expect(page.get_by_text("Escalated: waiting for a senior to pick it up.")).to_be_visible()
    await expect(page.locator(".pilot-head").get_by_text("High urgency", exact=True)).to_be_visible()

    handoffs = await ok(await gw.get(f"{API}/ai-sessions/{sid}/handoffs", headers=team.junior.headers))
    assert [(h["intent"], h["target_user_id"], h["urgency"]) for h in handoffs] == [
        ("escalate", str(sam.id), "high"),
        ("park", None, "normal"),
    ]
    session = await ok(await gw.get(f"{API}/ai-sessions/{sid}", headers=team.junior.headers))
    assert (session["status"], session["client_name"], session["psa_ticket_id"]) == (
        "escalated",
        "Fabrikam",
        "T-4242",
    )
    assert [s["content"] for s in session["steps"]] == [
        "Re-ran the logon script",
        "GPO applies, drive still gone",
    ]

    await page.get_by_role("link", name="Sessions").click()
    listed = page.locator(".session-row").filter(has_text=title)
    await expect(listed).to_contain_text("Escalated")


async def test_api_errors_are_shown_in_words(console: Console, fakes: Fakes, gw: httpx.AsyncClient):
    team = await make_team(gw, fakes, slack=False, psa=False)
    page = await console.open()

    # 401 from the login.
    await page.goto("/login")
    await page.get_by_label("Email").fill(team.junior.email)
    await page.get_by_label("Password").fill("not the password")
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_role("alert")).to_have_text("Invalid email or password")

    # 422 naming the field, from the sign-up.
    await page.goto("/signup")
    await page.get_by_label("Company name").fill("Northwind")
    await page.get_by_label("Your name").fill("Nora North")
    await page.get_by_label("Email").fill("nora@localhost")
    await page.get_by_label("Password").fill("long enough password")
    await page.get_by_role("button", name="Create account").click()
    await expect(page.get_by_role("alert")).to_contain_text("Email: value is not a valid email address")
    await expect(page.get_by_label("Email")).to_have_attribute("aria-invalid", "true")

    # 422 from a form inside the app: a title of spaces passes the browser, not the API.
    await page.goto("/sessions")
    await sign_in(page, team.junior)
    await page.get_by_label("Title").fill("   ")
    await page.get_by_label("Problem").fill("Something")
    await page.get_by_role("button", name="Start session").click()
    await expect(page.get_by_role("alert")).to_contain_text("Title: String should have at least 1 character")


async def test_a_click_is_never_held_back_by_the_browsers_offline_guess(
    console: Console, fakes: Fakes, gw: httpx.AsyncClient
):
    team = await make_team(gw, fakes, slack=False, psa=False)
    session = await create_session(gw, team.junior.token, title=unique("Printer offline"))
    await escalate(gw, team.junior.token, str(session["id"]))
    page = await console.signed_in(team.seniors[0], f"/pilot/{session['id']}?pickup=true")
    pick_up = page.get_by_role("button", name="Pick up")
    # The screen has read the session before the network goes: offline first, it would show no button.
    await expect(pick_up).to_be_enabled()

    # Really offline: the click is answered in words at once, and can be made again.
    await page.context.set_offline(True)
    await pick_up.click()
    await expect(page.get_by_role("alert")).to_contain_text("FlowPilot could not be reached")
    await expect(pick_up).to_be_enabled()
    await page.context.set_offline(False)

    # The browser only says it is offline (a spurious "offline" event): the click still goes through.
    await page.evaluate("window.dispatchEvent(new Event('offline'))")
    await pick_up.click()
    await expect(page.get_by_text(re.compile(r"Picked up by\s+you"))).to_be_visible()


async def test_expired_token_goes_to_sign_in_and_back(console: Console, fakes: Fakes, gw: httpx.AsyncClient):
    team = await make_team(gw, fakes, slack=False, psa=False)
    sam = team.seniors[0]
    session = await create_session(gw, team.junior.token, title=unique("Teams calls drop"))
    sid = str(session["id"])
    await escalate(gw, team.junior.token, sid)
    expired = issue_token(
        user_id=sam.id,
        account_id=team.tenant.account_id,
        secret=FAST["FLOWPILOT_JWT_SECRET"],
        ttl_seconds=-60,
    )
    page = await console.open()
    await page.goto("/login")
    await page.evaluate("token => localStorage.setItem('flowpilot.token', token)", expired)

    await page.goto(f"/pilot/{sid}?pickup=true")
    await expect(page).to_have_url(re.compile(r"/login\?next=%2Fpilot%2F.*expired=1"))
    await expect(page.get_by_text("Your session has ended. Sign in again to continue.")).to_be_visible()
    await sign_in(page, sam)
    await expect(page).to_have_url(re.compile(rf"/pilot/{sid}\?pickup=true$"))
    await expect(page.get_by_role("button", name="Pick up")).to_be_visible()

"""The pickup screen in a real browser: the email's link, the claim race, the package arriving live, viewers."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from playwright.async_api import expect

from tests.e2e.browser import PHONE, Console, region, screenshot, sign_in, unique
from tests.e2e.conftest import PUBLIC_URL, Fakes
from tests.e2e.story import Team, make_team, ok
from tests.harness.people import API, create_session, escalate
from tests.harness.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

STEPS = [
    ("observation", "Every user at Contoso gets a password prompt loop in Outlook since the MFA rollout"),
    ("action", "Cleared the Credential Manager entries for Office"),
    ("observation", "OWA works; only the desktop client loops"),
]
LINK = re.compile(re.escape(PUBLIC_URL) + r"(/pilot/[0-9a-f-]{36}\?pickup=true)")


async def _escalated(gw: httpx.AsyncClient, team: Team, title: str, **kwargs: object) -> tuple[str, str]:
    """A session of the junior's with steps, escalated; returns (session id, handoff id)."""
    ticket = str(70000 + uuid.uuid4().int % 10000)
    session = await create_session(gw, team.junior.token, title=title, psa_ticket_id=ticket, steps=STEPS)
    handoff = await escalate(gw, team.junior.token, str(session["id"]), reason="MFA loop beyond me", **kwargs)  # type: ignore[arg-type]
    return str(session["id"]), str(handoff["id"])


async def _claimed_by(gw: httpx.AsyncClient, team: Team, sid: str, hid: str) -> str | None:
    handoffs = await ok(await gw.get(f"{API}/ai-sessions/{sid}/handoffs", headers=team.owner.headers))
    return next(h["claimed_by"] for h in handoffs if h["id"] == hid)


async def test_email_link_signed_out_signs_in_lands_on_pickup_and_claims(
    console: Console, fakes: Fakes, gw: httpx.AsyncClient
):
    team = await make_team(gw, fakes)
    sam = team.seniors[0]
    title = unique("Outlook password loop")
    sid, hid = await _escalated(gw, team, title, urgency="high")

    async def link() -> str | None:
        for mail in fakes.smtp.to(sam.email):
            found = LINK.search(mail.text)
            if title in mail.subject and found:
                return found.group(1)
        return None

    path = await wait_until(link, timeout=60, message="the escalation email with its pickup link")
    assert path == f"/pilot/{sid}?pickup=true"

    page = await console.open()
    await page.goto(path)
    await expect(page).to_have_url(re.compile(r"/login\?next=%2Fpilot%2F"))
    await expect(page.get_by_text("Sign in to open the page you were sent.")).to_be_visible()
    await sign_in(page, sam)
    await expect(page).to_have_url(re.compile(re.escape(path) + "$"))

    # Everything a senior needs at a glance.
    await expect(page.get_by_role("heading", name=title)).to_be_visible()
    head = page.locator(".pilot-head")
    await expect(head.get_by_text("High urgency", exact=True)).to_be_visible()
    await expect(head).to_contain_text("Client: Contoso")
    await expect(head).to_contain_text("Escalated by Jo Junior")
    await expect(region(page, "Why it was escalated")).to_contain_text("MFA loop beyond me")
    await expect(region(page, "Problem")).to_contain_text("Password prompt loop in Outlook")
    await expect(region(page, "Steps")).to_contain_text("Cleared the Credential Manager entries for Office")
    await expect(
        region(page, "Escalation package").get_by_role("heading", name="Suggested next steps")
    ).to_be_visible()
    await expect(region(page, "Documentation").locator("pre")).to_contain_text(title)
    await expect(region(page, "PSA ticket")).to_contain_text("Note added to the ticket")
    pick_up = page.get_by_role("button", name="Pick up")
    await expect(pick_up).to_be_focused()
    timeline = region(page, "Timeline")
    await expect(timeline.locator("li", has_text="Escalated (high urgency)")).to_be_visible()
    await expect(timeline.locator('li[data-kind="delivery"]', has_text=sam.email)).to_contain_text("sent")
    await screenshot(page, "pickup", full_page=True)

    await pick_up.click()
    await expect(page.get_by_text(re.compile(r"Picked up by\s+you"))).to_be_visible()
    await expect(pick_up).to_have_count(0)
    assert await _claimed_by(gw, team, sid, hid) == str(sam.id)
    session = await ok(await gw.get(f"{API}/ai-sessions/{sid}", headers=sam.headers))
    assert (session["status"], session["owner_id"]) == ("picked_up", str(sam.id))

    # A reload keeps Sam signed in; as the new owner he works the session and resolves it.
    await page.reload()
    await expect(page.get_by_role("heading", name=title)).to_be_visible()
    await page.get_by_label("What happened").fill("Reset the Entra ID token binding for the mailbox")
    await page.get_by_role("button", name="Add step").click()
    await expect(region(page, "Steps")).to_contain_text("Reset the Entra ID token binding for the mailbox")
    # The click's own request first: a failure then says whether the resolve was sent and answered.
    async with page.expect_response(
        lambda r: r.request.method == "POST" and r.url.endswith("/resolve")
    ) as sent:
        await page.get_by_role("button", name="Resolve").click()
    answer = await sent.value
    assert answer.status == 200, await answer.text()
    await expect(page.locator(".crumbs .badge")).to_have_text("Resolved")
    session = await ok(await gw.get(f"{API}/ai-sessions/{sid}", headers=sam.headers))
    assert session["status"] == "resolved" and session["steps"][-1]["author_id"] == str(sam.id)


async def test_second_browser_loses_the_race_and_is_told_who_won(
    console: Console, fakes: Fakes, gw: httpx.AsyncClient
):
    team = await make_team(gw, fakes, slack=False, psa=False)
    sam, alex = team.seniors
    title = unique("VPN drops every 10 minutes")
    sid, hid = await _escalated(gw, team, title)
    path = f"/pilot/{sid}?pickup=true"

    winner = await console.signed_in(sam, path)
    # Alex's tab lost its live connection: it still offers Pick up after Sam has taken it.
    loser = await console.signed_in(alex, path, live=False)
    await expect(winner.get_by_role("button", name="Pick up")).to_be_visible()
    await expect(loser.get_by_role("button", name="Pick up")).to_be_visible()

    await winner.get_by_role("button", name="Pick up").click()
    await expect(winner.get_by_text(re.compile(r"Picked up by\s+you"))).to_be_visible()
    await loser.get_by_role("button", name="Pick up").click()
    await expect(loser.get_by_role("alert")).to_have_text(
        f"Could not pick up: Already picked up by {sam.name}"
    )
    await expect(loser.locator(".pickup-bar .held")).to_contain_text(
        re.compile(rf"Picked up by\s+{sam.name}")
    )
    await expect(loser.get_by_role("button", name="Pick up")).to_have_count(0)
    assert await _claimed_by(gw, team, sid, hid) == str(sam.id)


async def test_escalation_package_appears_live(console: Console, fakes: Fakes, gw: httpx.AsyncClient):
    team = await make_team(gw, fakes, slack=False)
    title = unique("Printer queue stuck")
    fakes.anthropic.hold(title)  # the AI call stays in flight until the page is open
    try:
        sid, _ = await _escalated(gw, team, title)
        page = await console.signed_in(team.seniors[0], f"/pilot/{sid}?pickup=true")
        await expect(page.get_by_role("status").filter(has_text="Being prepared")).to_be_visible()
        await expect(page.get_by_text("Being written…")).to_be_visible()
        await page.evaluate("window.stillTheSamePage = true")
    finally:
        fakes.anthropic.release(title)
    package = region(page, "Escalation package")
    await expect(package.get_by_role("heading", name="Suggested next steps")).to_be_visible()
    await expect(package.get_by_role("heading", name="Likely causes")).to_be_visible()
    await expect(region(page, "Documentation").locator("pre")).to_contain_text(title)
    await expect(region(page, "PSA ticket")).to_contain_text("Note added to the ticket")
    assert await page.evaluate("window.stillTheSamePage") is True  # live, not reloaded


async def test_viewer_reads_but_is_offered_no_pick_up(console: Console, fakes: Fakes, gw: httpx.AsyncClient):
    team = await make_team(gw, fakes, slack=False, psa=False)
    title = unique("Backup job failing")
    sid, hid = await _escalated(gw, team, title)

    page = await console.signed_in(team.viewer, f"/pilot/{sid}?pickup=true")
    await expect(page.get_by_role("heading", name=title)).to_be_visible()
    await expect(region(page, "Why it was escalated")).to_contain_text("MFA loop beyond me")
    await expect(page.get_by_text("You have read-only access.")).to_be_visible()
    await expect(page.get_by_role("button", name="Pick up")).to_have_count(0)
    await expect(page.get_by_role("button", name="Add step")).to_have_count(0)
    await expect(page.get_by_role("button", name="Resolve")).to_have_count(0)

    # The same screen at phone width: nothing runs off the side.
    phone = await console.signed_in(team.viewer, f"/pilot/{sid}", viewport=PHONE)
    await expect(phone.get_by_role("heading", name=title)).to_be_visible()
    assert await phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    await page.get_by_role("link", name="Queue").click()
    await expect(page.get_by_text("The queue is for engineers and admins.")).to_be_visible()
    await page.get_by_role("link", name="Sessions").click()
    await expect(page.get_by_text("Viewers can read sessions but not start them.")).to_be_visible()
    await expect(page.get_by_role("button", name="Start session")).to_have_count(0)
    assert await _claimed_by(gw, team, sid, hid) is None

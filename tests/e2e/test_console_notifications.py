"""The bell in a real browser with notification types this console does not know yet (re-escalation
rounds, releases and whatever comes next): each shows its title, body and link as the notifier gave them."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from playwright.async_api import expect

from flowpilot_shared.db import Database
from flowpilot_shared.models import Notification
from flowpilot_shared.unit_of_work import OrmUnitOfWork
from tests.e2e.browser import Console, unique
from tests.e2e.conftest import Fakes
from tests.e2e.story import make_team
from tests.harness.people import create_session

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]


async def test_notifications_of_new_and_unknown_types_render_as_given(
    console: Console, fakes: Fakes, gw: httpx.AsyncClient, db: Database
):
    team = await make_team(gw, fakes, slack=False, psa=False)
    sam = team.seniors[0]
    session = await create_session(gw, team.junior.token, title=unique("Still unclaimed"))
    sid = uuid.UUID(str(session["id"]))
    rows = [
        # As the escalation-lifecycle branch writes a round's bell row.
        (
            "handoff_reescalated",
            "High urgency: Still unclaimed after 10 min: VPN",
            "Reminder 1 of 3: Jo Junior escalated VPN",
            f"/pilot/{sid}?pickup=true",
            sid,
        ),
        # A type nobody has invented yet, with a line break and no link.
        (
            "account_policy_changed",
            "Escalation policy changed",
            "Re-escalation every 5 min\nat most 3 rounds",
            None,
            None,
        ),
        # A link the console must not follow.
        (
            "future_thing",
            "A link that is a script",
            "Shown as text, never a link",
            "javascript:alert(1)",
            None,
        ),
    ]
    # Bell rows are the notifier's; no event on this branch makes these types, so they are written as it would.
    async with OrmUnitOfWork(db.sessions) as uow:
        for kind, title, body, link, session_id in rows:
            uow.session.add(
                Notification(
                    account_id=team.tenant.account_id,
                    user_id=sam.id,
                    event_id=uuid.uuid4(),
                    type=kind,
                    title=title,
                    body=body,
                    link=link,
                    session_id=session_id,
                )
            )
        await uow.commit()

    page = await console.signed_in(sam, "/notifications")
    await expect(page.get_by_label("3 unread")).to_be_visible()
    items = page.locator(".notifications li")
    await expect(items).to_have_count(3)

    reminder = items.filter(has_text="Still unclaimed after 10 min")
    await expect(reminder.locator(".badge")).to_have_text("Reminder")
    await expect(reminder).to_contain_text("Reminder 1 of 3: Jo Junior escalated VPN")

    unknown = items.filter(has_text="Escalation policy changed")
    await expect(unknown.locator(".badge")).to_have_count(0)
    await expect(unknown.get_by_role("link")).to_have_count(0)
    assert await unknown.locator("p.prewrap").inner_text() == "Re-escalation every 5 min\nat most 3 rounds"

    script = items.filter(has_text="A link that is a script")
    await expect(script.get_by_role("link")).to_have_count(0)
    await expect(script).to_contain_text("Shown as text, never a link")

    # Mark read works for any type; the round's link opens the pickup screen.
    await unknown.get_by_role("button", name="Mark read").click()
    await expect(page.get_by_label("2 unread")).to_be_visible()
    await reminder.get_by_role("link", name=re.compile("Still unclaimed after 10 min")).click()
    await expect(page).to_have_url(re.compile(rf"/pilot/{sid}\?pickup=true$"))
    await expect(page.get_by_role("heading", name=session["title"])).to_be_visible()

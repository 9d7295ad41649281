"""Headless Chromium (Debian's package, driven by Playwright) on the console the gateway serves."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from playwright.async_api import Browser, BrowserContext, Locator, Page, expect

if TYPE_CHECKING:
    from tests.e2e.conftest import System
from tests.harness.people import PASSWORD, Person

# Debian's package, wherever PATH finds it (scripts/install.sh looks for it the same way).
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Without the background-networking switches chromium keeps calling home on a closed network.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Generous: the box has two cores shared with other suites.
TIMEOUT_MS = 45_000
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
STREAM_GLOB = "**/api/v1/ai-sessions/escalations/stream"
# The docs' pictures are taken by the tests; `make screenshots` keeps them (FLOWPILOT_SCREENSHOTS=docs),
# other runs write them under the temporary directory so a test run leaves the checkout as it was.
DOCS_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
SCREENSHOTS = (
    DOCS_SCREENSHOTS
    if os.environ.get("FLOWPILOT_SCREENSHOTS") == "docs"
    else Path(tempfile.gettempdir()) / "flowpilot-screenshots"
)

expect.set_options(timeout=TIMEOUT_MS)


@dataclass
class Console:
    """One browser; each `open()` is a separate person (own context: own storage, own stream)."""

    browser: Browser
    system: System
    contexts: list[BrowserContext] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    async def close(self) -> None:
        """Close every tab and the browser; print what the browser complained about."""
        if self.problems:
            print("\n".join(["----- browser -----", *self.problems[-40:]]))
        for context in self.contexts:
            with contextlib.suppress(Exception):
                await context.close()
        await self.browser.close()
        # The console must live within the gateway's CSP and never crash: either fails the test.
        broken = [p for p in self.problems if p.startswith("page error") or "Content Security Policy" in p]
        assert not broken, f"the console broke in the browser: {broken}"

    async def open(self, *, viewport: dict[str, int] = DESKTOP, timezone_id: str | None = None) -> Page:
        """A fresh, signed-out tab on the gateway (`timezone_id`: the zone the browser says it is in)."""
        context = await self.browser.new_context(
            base_url=self.system.url,
            viewport=viewport,  # type: ignore[arg-type]
            timezone_id=timezone_id,
        )
        self.contexts.append(context)
        page = await context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.on("pageerror", lambda exc: self.problems.append(f"page error: {exc}"))
        page.on(
            "response",
            lambda r: (
                self.problems.append(f"{r.status} {r.request.method} {r.url}") if r.status >= 400 else None
            ),
        )
        page.on(
            "console",
            lambda msg: (
                self.problems.append(f"console {msg.type}: {msg.text}") if msg.type == "error" else None
            ),
        )
        return page

    async def signed_in(
        self,
        person: Person,
        path: str = "/queue",
        *,
        viewport: dict[str, int] = DESKTOP,
        live: bool = True,
        timezone_id: str | None = None,
    ) -> Page:
        """A tab where `person` signed in through the form and landed on `path`.

        `live=False`: the tab's live stream cannot connect (a stale tab whose connection dropped).
        """
        page = await self.open(viewport=viewport, timezone_id=timezone_id)
        if not live:
            await page.route(STREAM_GLOB, lambda route: route.abort())
        await page.goto(path)
        await sign_in(page, person)
        await expect(page).to_have_url(re.compile(re.escape(path) + r"$"))
        return page


async def sign_in(page: Page, person: Person) -> None:
    """Fill and send the sign-in form the page shows."""
    await expect(page.get_by_role("heading", name="Sign in to FlowPilot")).to_be_visible()
    await page.get_by_label("Email").fill(person.email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()


def region(page: Page, name: str) -> Locator:
    """A titled section of the screen (a <section> labelled by its heading), by the heading's start."""
    return page.get_by_role("region", name=re.compile("^" + re.escape(name)))


def unique(text: str) -> str:
    """`text` with a short unique tag (titles told apart across tests on one system)."""
    return f"{text} {uuid.uuid4().hex[:6]}"


async def screenshot(page: Page, name: str, *, full_page: bool = False) -> None:
    """Keep a picture of the screen (or the whole page): `<name>.png` under SCREENSHOTS."""
    os.makedirs(SCREENSHOTS, exist_ok=True)
    await page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)

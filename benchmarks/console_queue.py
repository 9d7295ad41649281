"""The open queue page's latency: from an escalation's 201 to its row painted in a real browser.

    uv run --frozen python -m benchmarks.console_queue        # BENCH_CONSOLE_N=50 escalations by default

Its own database and vhost, the four services as processes, the real nginx gateway serving web/dist,
Debian's chromium on /queue signed in as a senior. The escalations are sent one by one from the page
itself (fetch with the junior's token), so the 201 and the row share the page's clock: a
MutationObserver stamps each row when React inserts it and the next animation frame stamps it painted.
Also reports the first load's JavaScript: gzip -9 size and what the gateway actually sent.
A benchmark, not a test: it prints what it measured and never asserts a timing.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import re
import statistics
import subprocess
import time
from typing import Any

import httpx
from playwright.async_api import Page, async_playwright
from tests.e2e.browser import CHROMIUM, CHROMIUM_ARGS
from tests.harness.processes import REPO, Gateway

from benchmarks.load import percentile
from benchmarks.stack import Stack

COUNT = int(os.environ.get("BENCH_CONSOLE_N", "50"))
API = "/api/v1"
PASSWORD = "bench-console-password"

# Stamps rows as they are inserted and once the frame that shows them is painted.
OBSERVER = """
() => {
  window.__rows = {};
  new MutationObserver((mutations) => {
    const inserted = performance.now();
    for (const m of mutations) for (const node of m.addedNodes) {
      if (!(node instanceof Element)) continue;
      const rows = node.matches('.queue-row') ? [node] : node.querySelectorAll('.queue-row');
      for (const row of rows) {
        const id = row.getAttribute('data-session-id');
        if (!id || window.__rows[id]) continue;
        const stamp = { inserted };
        window.__rows[id] = stamp;
        requestAnimationFrame(() => { stamp.painted = performance.now(); });
      }
    }
  }).observe(document.body, { childList: true, subtree: true });
}
"""

ESCALATE = """
async ({ sid, token, timeoutMs }) => {
  const sent = performance.now();
  const response = await fetch(`/api/v1/ai-sessions/${sid}/handoff`, {
    method: 'POST',
    headers: { 'Authorization': `Bearer ${token}`, 'Content-Type': 'application/json' },
    body: JSON.stringify({ intent: 'escalate', reason: 'console latency benchmark' }),
  });
  const created = performance.now();
  if (response.status !== 201) throw new Error(`handoff answered ${response.status}`);
  const deadline = created + timeoutMs;
  while (!(window.__rows[sid] && window.__rows[sid].painted)) {
    if (performance.now() > deadline) throw new Error(`row of ${sid} not shown within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  const row = window.__rows[sid];
  return { sent, created, inserted: row.inserted, painted: row.painted };
}
"""


def spread(values: list[float]) -> dict[str, float]:
    """Median and p99, in ms to one decimal."""
    return {"median": round(statistics.median(values), 1), "p99": round(percentile(values, 99), 1)}


async def _post(client: httpx.AsyncClient, path: str, body: dict[str, Any], token: str | None = None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await client.post(f"{API}{path}", json=body, headers=headers)
    response.raise_for_status()
    return response.json()


async def _team(client: httpx.AsyncClient) -> tuple[str, str, list[str]]:
    """An account with a senior and a junior; the junior's sessions to escalate. Returns tokens and ids."""
    owner = await _post(
        client,
        "/accounts",
        {
            "account_name": "Bench MSP",
            "owner_email": "owner@bench.example.com",
            "owner_name": "Olive Owner",
            "owner_password": PASSWORD,
        },
    )
    token = owner["access_token"]
    for email, name in (
        ("senior@bench.example.com", "Sam Senior"),
        ("junior@bench.example.com", "Jo Junior"),
    ):
        await _post(
            client, "/users", {"email": email, "name": name, "role": "engineer", "password": PASSWORD}, token
        )
    senior = (
        await _post(client, "/auth/login", {"email": "senior@bench.example.com", "password": PASSWORD})
    )["access_token"]
    junior = (
        await _post(client, "/auth/login", {"email": "junior@bench.example.com", "password": PASSWORD})
    )["access_token"]
    sessions = []
    for n in range(COUNT):
        body = {
            "title": f"Bench escalation {n + 1}",
            "problem": "Measured from the console",
            "client_name": "Bench",
        }
        sessions.append((await _post(client, "/ai-sessions", body, junior))["id"])
    return senior, junior, sessions


async def _first_load_js(client: httpx.AsyncClient) -> dict[str, int]:
    """The scripts index.html loads: raw, gzip -9, and the bytes the gateway sent compressed."""
    index = (await client.get("/")).text
    paths = sorted(set(re.findall(r'(?:src|href)="(/assets/[^"]+\.js)"', index)))
    raw = gz = sent = 0
    for path in paths:
        async with client.stream("GET", path, headers={"Accept-Encoding": "gzip"}) as response:
            async for _ in response.aiter_raw():
                pass
            sent += response.num_bytes_downloaded
        body = (await client.get(path)).content
        raw += len(body)
        gz += len(gzip.compress(body, compresslevel=9))
    return {"files": len(paths), "raw_bytes": raw, "gzip9_bytes": gz, "gateway_sent_bytes": sent}


async def _measure(page: Page, junior: str, sessions: list[str]) -> list[dict[str, float]]:
    samples = []
    for sid in sessions:
        samples.append(await page.evaluate(ESCALATE, {"sid": sid, "token": junior, "timeoutMs": 60_000}))
    return samples


async def main() -> dict[str, Any]:
    """Run the measurement on a fresh stack and return the results."""
    subprocess.run(["bash", str(REPO / "scripts" / "build-web.sh")], check=True)
    stack = Stack()
    gateway: Gateway | None = None
    try:
        await stack.provision()
        stack.start_fakes()
        stack.start("handoff-api", "notifier", "docgen", "psa-sync")
        gateway = Gateway(
            api=[f"127.0.0.1:{stack.services['handoff-api'].port}"],
            notifier=[f"127.0.0.1:{stack.services['notifier'].port}"],
            docgen=[f"127.0.0.1:{stack.services['docgen'].port}"],
            workdir=stack.workdir / "gateway",
        ).start()
        async with httpx.AsyncClient(base_url=gateway.url, timeout=60) as client:
            senior, junior, sessions = await _team(client)
            bundle = await _first_load_js(client)
        async with async_playwright() as playwright:
            browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            page = await (await browser.new_context(base_url=gateway.url)).new_page()
            await page.goto("/login")
            await page.evaluate("token => localStorage.setItem('flowpilot.token', token)", senior)
            await page.goto("/queue")
            await page.get_by_role("status").filter(has_text="Live").wait_for(timeout=60_000)
            await page.get_by_text("Nothing is waiting.").wait_for(timeout=60_000)
            await page.evaluate(OBSERVER)
            started = time.monotonic()
            samples = await _measure(page, junior, sessions)
            elapsed = time.monotonic() - started
            await browser.close()
    finally:
        if gateway is not None:
            gateway.stop()
        await stack.teardown()
    from_201 = [s["painted"] - s["created"] for s in samples]
    from_sent = [s["painted"] - s["sent"] for s in samples]
    api = [s["created"] - s["sent"] for s in samples]
    summary = {
        "escalations": len(samples),
        "seconds": round(elapsed, 1),
        "row_painted_after_201_ms": spread(from_201),
        "row_painted_after_request_ms": spread(from_sent),
        "handoff_201_ms": spread(api),
        "first_load_js": bundle,
    }
    return summary


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main()), indent=2))

"""The demo's watchers: a timeline printer and pollers for every fan-out (see scripts/demo.py)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

API = "/api/v1"
TITLE = "Outlook password prompt loop after M365 MFA rollout"


@dataclass
class Member:
    """A demo teammate and their token."""

    name: str
    email: str
    role: str
    id: str = ""
    token: str = ""

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Timeline:
    """Prints each fan-out with the milliseconds since the commit (the API's answer), first sighting only.

    Between `hold()` and `start()` (a request is in flight) sightings are kept and printed once the
    answer is in: an event can land before the HTTP answer reaches us (a negative time).
    """

    t0: float | None = None
    seen: set[str] = field(default_factory=set)
    held: list[tuple[float, str, str]] = field(default_factory=list)

    def hold(self) -> None:
        """A request is in flight: keep sightings until `start`."""
        self.t0 = None

    def start(self) -> None:
        """The API answered: times are measured from now; print what was held."""
        self.t0 = time.monotonic()
        for at, channel, text in self.held:
            self._print(at, channel, text)
        self.held.clear()

    def mark(self, key: str, channel: str, text: str) -> None:
        """Print one line the first time `key` lands."""
        if key in self.seen:
            return
        self.seen.add(key)
        if self.t0 is None:
            self.held.append((time.monotonic(), channel, text))
        else:
            self._print(time.monotonic(), channel, text)

    def _print(self, at: float, channel: str, text: str) -> None:
        assert self.t0 is not None
        print(f"  {(at - self.t0) * 1000:+7.0f} ms  {channel:<7} {text}", flush=True)


async def poll(probe: Callable[[], Awaitable[Any]], deadline: float, interval: float = 0.02) -> Any:
    """Call `probe` until it returns something truthy or the deadline passes (then None)."""
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError, ValueError, KeyError):
            result = await probe()
            if result:
                return result
        await asyncio.sleep(interval)
    return None


async def watch_stream(
    notifier: httpx.AsyncClient, senior: Member, tl: Timeline, ready: asyncio.Event
) -> None:
    """Read the senior's SSE stream and put each event on the timeline."""
    request = notifier.build_request(
        "GET",
        f"{API}/ai-sessions/escalations/stream",
        headers=senior.headers,
        timeout=httpx.Timeout(10.0, read=None),
    )
    response = await notifier.send(request, stream=True)
    with contextlib.suppress(httpx.HTTPError):
        await _read_stream(response, senior, tl, ready)


async def _read_stream(response: httpx.Response, senior: Member, tl: Timeline, ready: asyncio.Event) -> None:
    try:
        if response.status_code != 200:
            await response.aread()
            raise SystemExit(f"stream answered {response.status_code}: {response.text}")
        event = ""
        async for line in response.aiter_lines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:") and event == "ready":
                ready.set()
            elif line.startswith("data:") and event:
                data = json.loads(line[5:])
                what = {
                    "handoff_created": f"handoff_created on {senior.name}'s live queue",
                    "notification": f"notification (bell) pushed to {senior.name}'s screen",
                    "documentation_ready": f"documentation_ready ({data.get('generated_by')})",
                    "handoff_claimed": f"handoff_claimed by {(data.get('claimer') or {}).get('name')}",
                }.get(event, event)
                tl.mark(f"sse:{event}:{data.get('event_id')}", "stream", what)
            elif line == "":
                event = ""
    finally:
        await response.aclose()


async def fan_out(
    api: httpx.AsyncClient,
    notifier: httpx.AsyncClient,
    mail: httpx.AsyncClient | None,
    mail_url: str,
    sid: str,
    owner: Member,
    junior: Member,
    seniors: list[Member],
    tl: Timeline,
    deadline: float,
) -> list[str]:
    """Watch bell rows, emails, chat deliveries, documentation and the PSA push; returns what never landed."""
    recipients = [owner, *seniors]

    async def bell(m: Member) -> None:
        async def probe() -> Any:
            body = (await notifier.get(f"{API}/notifications", headers=m.headers)).json()
            return [i for i in body.get("items", []) if i["session_id"] == sid]

        if await poll(probe, deadline):
            tl.mark(f"bell:{m.email}", "bell", f"bell row for {m.name} ({m.role})")

    async def email(m: Member) -> None:
        assert mail is not None

        async def probe() -> Any:
            return [
                x for x in (await mail.get(mail_url)).json() if m.email in x["to"] and TITLE in x["subject"]
            ]

        if await poll(probe, deadline, 0.05):
            tl.mark(f"email:{m.email}", "email", f"email to {m.email} in the mail sink")

    async def chat() -> None:
        async def probe() -> Any:
            rows = (
                await notifier.get(
                    f"{API}/notifications/deliveries", headers=owner.headers, params={"session_id": sid}
                )
            ).json()
            return [
                r
                for r in rows
                if r["channel"] in ("slack", "teams")
                and r["event_type"] == "handoff.escalated"
                and r["status"] in ("sent", "skipped", "failed")
            ]

        for r in await poll(probe, deadline, 0.05) or []:
            why = f" ({r['last_error']})" if r["status"] != "sent" and r["last_error"] else ""
            tl.mark(f"chat:{r['id']}", "chat", f"{r['channel']} {r['status']}{why}")

    async def documentation() -> None:
        async def probe() -> Any:
            res = await api.get(f"{API}/ai-sessions/{sid}/documentation", headers=junior.headers)
            return res.json() if res.status_code == 200 else None

        doc = await poll(probe, deadline, 0.05)
        if doc:
            model = f", model {doc['model']}" if doc.get("model") else ""
            tl.mark("docs", "docs", f"documentation ready: generated_by {doc['generated_by']}{model}")

    async def psa() -> None:
        async def probe() -> Any:
            res = (await api.get(f"{API}/ai-sessions/{sid}/psa-pushes", headers=junior.headers)).json()
            return [p for p in res if p["status"] != "pending"]

        for p in await poll(probe, deadline, 0.05) or []:
            where = f" {p['provider']} ticket {p['ticket_id']}" if p.get("provider") else ""
            tl.mark(f"psa:{p['status']}", "psa", f"PSA push: {p['status']}{where}")

    watchers = [*(bell(m) for m in recipients), chat(), documentation(), psa()]
    expected = [f"bell:{m.email}" for m in recipients] + ["docs"]
    if mail is not None:
        watchers += [email(m) for m in recipients]
        expected += [f"email:{m.email}" for m in recipients]
    await asyncio.gather(*watchers)
    return [k for k in expected if k not in tl.seen]


async def pickup(
    api: httpx.AsyncClient,
    notifier: httpx.AsyncClient,
    sid: str,
    hid: str,
    junior: Member,
    seniors: list[Member],
    tl: Timeline,
    deadline: float,
) -> list[str]:
    """Both seniors click "Pick up" at once; one wins, the other hears who. Then the escalator's bell."""
    claim = f"{API}/ai-sessions/{sid}/handoffs/{hid}/claim"
    tl.hold()
    first, second = await asyncio.gather(*(api.post(claim, headers=s.headers) for s in seniors))
    for senior, res in zip(seniors, (first, second), strict=True):
        detail = "" if res.status_code == 200 else f": {res.json().get('detail')}"
        print(f"  {senior.name} clicks Pick up -> {res.status_code}{detail}")
    tl.start()
    winner = next((s for s, r in zip(seniors, (first, second), strict=True) if r.status_code == 200), None)
    if winner is None:
        return ["claim"]

    async def probe() -> Any:
        body = (await notifier.get(f"{API}/notifications", headers=junior.headers)).json()
        return [
            i for i in body["items"] if i["session_id"] == sid and winner.name in f"{i['title']} {i['body']}"
        ]

    rows = await poll(probe, deadline)
    if rows:
        tl.mark("bell:claim", "bell", f'{junior.name}\'s bell: "{rows[0]["title"]}"')
    await poll(
        lambda: asyncio.sleep(0, result=[k for k in tl.seen if k.startswith("sse:handoff_claimed")]), deadline
    )
    return [] if rows else ["escalator's bell"]

"""`make demo`: a scripted escalation against a running system, printing each fan-out as it lands.

    make run                      # in another terminal
    make demo                     # or: uv run python -m scripts.demo

Creates a demo MSP with a team (new emails every run), a realistic troubleshooting session, opens a
senior's live stream, escalates, and prints every fan-out with the milliseconds since the commit
(the moment the API answered): stream events, bell rows, emails in the local mail sink, chat
deliveries, documentation, the PSA push. Then a senior picks it up and the escalator hears who.

Environment: FLOWPILOT_DEMO_URL (default http://localhost:8080, the gateway; falls back to the API on
:8000 and the notifier on :8001), FLOWPILOT_DEMO_MAIL_URL (default http://localhost:8025/api/messages),
FLOWPILOT_DEMO_TIMEOUT (seconds per phase, default 30). Nothing external is configured unless asked:
FLOWPILOT_DEMO_SLACK_TOKEN + FLOWPILOT_DEMO_SLACK_CHANNEL, FLOWPILOT_DEMO_PSA_PROVIDER +
FLOWPILOT_DEMO_PSA_BASE_URL + FLOWPILOT_DEMO_PSA_CREDENTIALS (JSON) and FLOWPILOT_DEMO_PSA_TICKET.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import time
import uuid
from typing import Any

import httpx

from scripts.demo_watch import API, TITLE, Member, Timeline, fan_out, pickup, watch_stream

PASSWORD = "demo-password-123"
PROBLEM = (
    "Since Monday's Microsoft 365 MFA rollout, 14 users at Fabrikam Dental get an endless password "
    "prompt in Outlook desktop. OWA and Teams work. Started right after Conditional Access went live."
)
STEPS = [
    ("observation", "Affects Outlook 2016 and Microsoft 365 Apps alike; webmail is fine"),
    ("action", "Cleared Office credentials from Windows Credential Manager on two PCs"),
    ("action", "Created a fresh Outlook profile on the office manager's laptop"),
    ("observation", "New profile prompts again within a minute of connecting"),
    ("action", "Checked EnableADAL / AlwaysUseMSOAuthForAutoDiscover registry keys: not set"),
    ("note", "Tenant was migrated from GoDaddy last year; legacy auth policies unclear"),
]


class Unreachable(Exception):
    """The system does not answer."""


async def _answers(client: httpx.AsyncClient, url: str) -> bool:
    with contextlib.suppress(httpx.HTTPError):
        return (await client.get(url, timeout=3)).status_code < 500
    return False


async def locate(client: httpx.AsyncClient) -> tuple[str, str]:
    """(API base, notifier base): the gateway, or the services' own ports when it does not answer."""
    base = os.environ.get("FLOWPILOT_DEMO_URL", "http://localhost:8080").rstrip("/")
    if await _answers(client, f"{base}{API}/auth/me"):
        return base, base
    api = f"http://localhost:{os.environ.get('FLOWPILOT_API_PORT', '8000')}"
    notifier = f"http://localhost:{os.environ.get('FLOWPILOT_NOTIFIER_PORT', '8001')}"
    if await _answers(client, f"{api}/readyz") and await _answers(client, f"{notifier}/readyz"):
        print(f"(gateway {base} does not answer: using {api} and {notifier} directly)")
        return api, notifier
    raise Unreachable(f"nothing answers at {base} nor {api}: start the system with `make run` first")


async def ok(response: httpx.Response, status: int = 200) -> Any:
    """The JSON body, or exit with what the API said."""
    if response.status_code != status:
        raise SystemExit(
            f"{response.request.method} {response.request.url} -> {response.status_code}: {response.text}"
        )
    return response.json() if response.content else None


async def set_up_team(api: httpx.AsyncClient) -> tuple[Member, Member, list[Member]]:
    """A demo MSP: owner, a junior, two seniors and a viewer (fresh emails every run)."""
    tag = uuid.uuid4().hex[:6]
    owner = Member("Dana Whitfield", f"dana+{tag}@northwind-demo.example", "owner")
    body = await ok(
        await api.post(
            f"{API}/accounts",
            json={
                "account_name": f"Northwind IT (demo {tag})",
                "owner_email": owner.email,
                "owner_name": owner.name,
                "owner_password": PASSWORD,
            },
        ),
        201,
    )
    owner.id, owner.token = body["user"]["id"], body["access_token"]
    team = [
        Member("Jamie Rivera", f"jamie+{tag}@northwind-demo.example", "engineer"),
        Member("Priya Shah", f"priya+{tag}@northwind-demo.example", "admin"),
        Member("Marcus Lee", f"marcus+{tag}@northwind-demo.example", "engineer"),
        Member("Val Ortiz", f"val+{tag}@northwind-demo.example", "viewer"),
    ]
    for m in team:
        user = await ok(
            await api.post(
                f"{API}/users",
                headers=owner.headers,
                json={"email": m.email, "name": m.name, "role": m.role, "password": PASSWORD},
            ),
            201,
        )
        m.id = user["id"]
        login = await ok(await api.post(f"{API}/auth/login", json={"email": m.email, "password": PASSWORD}))
        m.token = login["access_token"]
    print(
        f"demo MSP {body['account']['name']}: owner {owner.name}, junior {team[0].name}, "
        f"seniors {team[1].name} and {team[2].name}, viewer {team[3].name}"
    )
    return owner, team[0], team[1:3]


async def configure_integrations(api: httpx.AsyncClient, owner: Member) -> str | None:
    """Slack and a PSA only when the environment asks for them; returns the PSA ticket id to use."""
    token, channel = (
        os.environ.get("FLOWPILOT_DEMO_SLACK_TOKEN"),
        os.environ.get("FLOWPILOT_DEMO_SLACK_CHANNEL"),
    )
    if token and channel:
        await ok(
            await api.put(
                f"{API}/integrations/slack",
                headers=owner.headers,
                json={"bot_token": token, "channel_id": channel},
            )
        )
        print(f"Slack configured: channel {channel}")
    provider = os.environ.get("FLOWPILOT_DEMO_PSA_PROVIDER")
    if provider:
        credentials = json.loads(os.environ.get("FLOWPILOT_DEMO_PSA_CREDENTIALS", "{}"))
        await ok(
            await api.put(
                f"{API}/integrations/psa",
                headers=owner.headers,
                json={
                    "provider": provider,
                    "base_url": os.environ["FLOWPILOT_DEMO_PSA_BASE_URL"],
                    "credentials": credentials,
                },
            )
        )
        print(f"PSA configured: {provider}")
    return os.environ.get("FLOWPILOT_DEMO_PSA_TICKET", "48213")


async def create_session(api: httpx.AsyncClient, junior: Member, ticket: str | None) -> dict[str, Any]:
    """The junior's troubleshooting session, with its steps."""
    session = await ok(
        await api.post(
            f"{API}/ai-sessions",
            headers=junior.headers,
            json={
                "title": TITLE,
                "problem": PROBLEM,
                "client_name": "Fabrikam Dental",
                "psa_ticket_id": ticket,
            },
        ),
        201,
    )
    for kind, content in STEPS:
        await ok(
            await api.post(
                f"{API}/ai-sessions/{session['id']}/steps",
                headers=junior.headers,
                json={"kind": kind, "content": content},
            ),
            201,
        )
    print(f'session "{TITLE}" ({len(STEPS)} steps, ticket {ticket}) by {junior.name}')
    return dict(session)


async def run() -> int:
    """The whole demo; the exit status."""
    timeout = float(os.environ.get("FLOWPILOT_DEMO_TIMEOUT", "30"))
    mail_url = os.environ.get("FLOWPILOT_DEMO_MAIL_URL", "http://localhost:8025/api/messages")
    async with httpx.AsyncClient(timeout=15) as probe_client:
        try:
            api_url, notifier_url = await locate(probe_client)
        except Unreachable as exc:
            print(f"demo: {exc}", file=sys.stderr)
            return 2
        has_mail = await _answers(probe_client, mail_url)
    async with (
        httpx.AsyncClient(base_url=api_url, timeout=15) as api,
        httpx.AsyncClient(base_url=notifier_url, timeout=15) as notifier,
        httpx.AsyncClient(timeout=5) as mail,
    ):
        print(f"FlowPilot demo against {api_url}" + ("" if has_mail else f" (no mail sink at {mail_url})"))
        owner, junior, seniors = await set_up_team(api)
        ticket = await configure_integrations(api, owner)
        session = await create_session(api, junior, ticket)
        sid = str(session["id"])
        tl = Timeline()
        ready = asyncio.Event()
        stream = asyncio.create_task(watch_stream(notifier, seniors[0], tl, ready))
        await asyncio.wait_for(ready.wait(), timeout)
        print(f"{seniors[0].name}'s live stream is open; {junior.name} escalates...\n")
        started = time.monotonic()
        handoff = await ok(
            await api.post(
                f"{API}/ai-sessions/{sid}/handoff",
                headers=junior.headers,
                json={"intent": "escalate", "reason": "Beyond my M365 auth knowledge; users cannot work"},
            ),
            201,
        )
        print(
            f"  escalation committed: POST /handoff answered 201 in {(time.monotonic() - started) * 1000:.0f} ms"
            " (times below are since that answer)"
        )
        tl.start()
        missing = await fan_out(
            api,
            notifier,
            mail if has_mail else None,
            mail_url,
            sid,
            owner,
            junior,
            seniors,
            tl,
            time.monotonic() + timeout,
        )
        if not any(k.startswith("psa:") for k in tl.seen):
            missing.append("psa push status")
        print("\npick-up race:")
        missing += await pickup(
            api, notifier, sid, handoff["id"], junior, seniors, tl, time.monotonic() + timeout
        )
        stream.cancel()
        with contextlib.suppress(asyncio.CancelledError, httpx.HTTPError):
            await stream
    if missing:
        print(f"\nNOT SEEN within {timeout:.0f}s: {', '.join(missing)}", file=sys.stderr)
        return 1
    print(f"\nDone. Pickup screen: /pilot/{sid}?pickup=true")
    return 0


def main() -> None:
    """Entry point of `python -m scripts.demo`."""
    try:
        sys.exit(asyncio.run(run()))
    except KeyboardInterrupt:
        sys.exit(130)
    except (httpx.HTTPError, TimeoutError) as exc:
        print(f"demo: the system stopped answering: {exc!r}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()

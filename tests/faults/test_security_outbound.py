"""Scenario 8 (outbound): integration URLs refused when sent, redirects never followed, secrets in no log."""

from __future__ import annotations

import uuid

import pytest
from aiohttp import web
from sqlalchemy import select

from flowpilot_shared.models import Delivery, IntegrationKind, PsaPush
from tests.fakes._server import ThreadedApp
from tests.faults.direct import set_connectwise, staged_escalations
from tests.harness.factories import commit_events, make_team, set_integration
from tests.harness.waiting import wait_until


class Recorder:
    """A local HTTP server that records every request; `/redirect*` answers 302 to the metadata address."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._any)
        self.server = ThreadedApp(app)

    async def _any(self, request: web.Request) -> web.Response:
        self.paths.append(request.path)
        if request.path.startswith("/redirect"):
            raise web.HTTPFound("http://169.254.169.254/latest/meta-data/iam/security-credentials/")
        return web.json_response({"id": 1}, status=201)


async def _rows(db, model, session_ids):  # type: ignore[no-untyped-def]
    async with db.sessions() as s:
        return (await s.execute(select(model).where(model.session_id.in_(session_ids)))).scalars().all()


async def _teams_webhook(db, core_settings, team, url: str) -> None:  # type: ignore[no-untyped-def]
    """Save a Teams integration straight to the database (no URL check on the way in)."""
    await set_integration(
        db, core_settings, team, IntegrationKind.teams, config={}, secrets={"webhook_url": url}
    )


@pytest.mark.faults
@pytest.mark.timeout(180)
async def test_outbound_urls_checked_when_sent(system, db, core_settings):
    recorder = Recorder()
    recorder.server.start()
    try:
        secret_key = f"pk-{uuid.uuid4().hex}"
        secret_webhook_sig = uuid.uuid4().hex
        creds = {"company_id": "c", "public_key": "p", "private_key": secret_key, "client_id": "i"}

        # Loopback integrations OFF: rows saved straight to the database (as if DNS changed after saving).
        system.env["FLOWPILOT_ALLOW_LOOPBACK_INTEGRATIONS"] = "false"
        system.start(["handoff-api", "notifier", "docgen", "psa-sync"])
        locked = await make_team(db, engineers=1)
        await _teams_webhook(
            db, core_settings, locked, f"{recorder.server.url}/webhook?sig={secret_webhook_sig}"
        )
        await set_connectwise(
            db, core_settings, locked, base_url=f"{recorder.server.url}/apis/3.0", credentials=creds
        )
        escalations, events = await staged_escalations(db, locked, 2)
        await commit_events(db, *events)
        sessions = [uuid.UUID(e.session_id) for e in escalations]

        async def refused() -> bool:
            teams = [d for d in await _rows(db, Delivery, sessions) if d.channel == "teams"]
            pushes = await _rows(db, PsaPush, sessions)
            return (
                len(teams) == 2
                and all(d.status == "failed" for d in teams)
                and len(pushes) == 2
                and all(p.status == "failed" for p in pushes)
            )

        await wait_until(
            refused, timeout=60, interval=0.3, message="Teams and PSA sends refused and recorded"
        )
        assert recorder.paths == [], "a refused URL was called"
        for row in [*await _rows(db, Delivery, sessions), *await _rows(db, PsaPush, sessions)]:
            if getattr(row, "channel", "teams") == "teams":
                assert row.last_error, row

        # Loopback ON (dev): a PSA that answers 302 to the metadata address. Not followed, recorded failed.
        for proc in list(system.procs.values()):
            proc.stop()
        system.procs.clear()
        system.env["FLOWPILOT_ALLOW_LOOPBACK_INTEGRATIONS"] = "true"
        system.start(["handoff-api", "notifier", "docgen", "psa-sync"])
        redirecting = await make_team(db, engineers=1)
        await set_connectwise(
            db,
            core_settings,
            redirecting,
            base_url=f"{recorder.server.url}/redirect/apis/3.0",
            credentials=creds,
        )
        # And a Teams webhook that answers: its signed URL is called, and logged nowhere.
        sent_webhook_sig = uuid.uuid4().hex
        await _teams_webhook(
            db, core_settings, redirecting, f"{recorder.server.url}/webhook?sig={sent_webhook_sig}"
        )
        escalations, events = await staged_escalations(db, redirecting, 1)
        await commit_events(db, *events)
        session = [uuid.UUID(escalations[0].session_id)]

        async def push_failed_and_card_sent() -> PsaPush | None:
            pushes = await _rows(db, PsaPush, session)
            sent = [
                d for d in await _rows(db, Delivery, session) if d.channel == "teams" and d.status == "sent"
            ]
            return pushes[0] if pushes and pushes[0].status == "failed" and sent else None

        push = await wait_until(
            push_failed_and_card_sent,
            timeout=60,
            interval=0.3,
            message="redirected push recorded failed, Teams card sent",
        )
        assert push.last_error and "302" in push.last_error, push.last_error
        assert "/webhook" in recorder.paths, recorder.paths
        assert all(p.startswith(("/redirect", "/webhook")) for p in recorder.paths), recorder.paths

        logs = system.logs()
        for secret in (secret_key, secret_webhook_sig, sent_webhook_sig):
            assert secret not in logs, "a secret reached a log line"
    finally:
        recorder.server.stop()

"""A local server speaking the ConnectWise Manage, Autotask and HaloPSA note APIs (one port, three roots).

In-process: `async with FakePsa() as psa: psa.base_url("halopsa"), psa.credentials("halopsa")`.
Standalone: `python -m tests.fakes.psa --port N`; `/_fake/*` then reads state and scripts failures.
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import asdict
from typing import Any

from aiohttp import web

from tests.fakes.psa_edits import PsaEdits
from tests.fakes.psa_wire import CREDENTIALS, ROOTS, Failure, Recorded

__all__ = ["CREDENTIALS", "ROOTS", "Failure", "FakePsa", "Recorded"]


class FakePsa(PsaEdits):
    """The three PSA APIs with real auth checks, notes per ticket (created and updated) and scriptable
    failures."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, token_ttl: int = 3600) -> None:
        super().__init__(token_ttl)
        self.host, self.port = host, port
        self._runner: web.AppRunner | None = None

    # -- test-side API -------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """Root URL of the server."""
        return f"http://{self.host}:{self.port}"

    def base_url(self, provider: str) -> str:
        """What an integration's `base_url` is for `provider`."""
        return self.url + ROOTS[provider]

    def credentials(self, provider: str) -> dict[str, str]:
        """Credentials the fake accepts for `provider`."""
        return dict(CREDENTIALS[provider])

    def integration(self, provider: str = "connectwise") -> dict[str, object]:
        """The `PUT /integrations/psa` body that points an account at this fake."""
        return {
            "provider": provider,
            "base_url": self.base_url(provider),
            "credentials": self.credentials(provider),
        }

    def fail(
        self,
        provider: str,
        status: int,
        *,
        times: int = 1,
        operation: str = "create_note",
        retry_after: str | float | None = None,
        body: Any = None,
    ) -> None:
        """Answer the next `times` `operation` calls of `provider` with `status`."""
        ra = None if retry_after is None else str(retry_after)
        self._failures.setdefault((provider, operation), []).append(Failure(status, times, ra, body))

    def revoke_tokens(self) -> None:
        """Forget every issued HaloPSA token (the next API call with one gets 401)."""
        self.tokens.clear()

    def calls(self, provider: str, operation: str | None = None) -> list[Recorded]:
        """Requests of one provider (and operation)."""
        return [r for r in self.requests if r.provider == provider and operation in (None, r.operation)]

    def reset(self) -> None:
        """Forget notes, requests, tokens and scripted failures."""
        self.notes = {p: {} for p in ROOTS}
        self.requests.clear()
        self.tokens.clear()
        self._failures.clear()

    async def start(self) -> FakePsa:
        """Listen (port 0 = an ephemeral loopback port)."""
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        # Port 0 picks a free port; read back which one.
        sockets = getattr(site._server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakePsa:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- wire ----------------------------------------------------------------------------------
    def app(self) -> web.Application:
        """The aiohttp application."""
        app = web.Application()
        cw, at, halo = ROOTS["connectwise"], ROOTS["autotask"], ROOTS["halopsa"]
        app.router.add_post(cw + "/service/tickets/{ticket}/notes", self._cw_create)
        app.router.add_get(cw + "/service/tickets/{ticket}/notes", self._cw_list)
        app.router.add_patch(cw + "/service/tickets/{ticket}/notes/{note}", self._cw_update)
        app.router.add_post(at + "/v1.0/Tickets/{ticket}/Notes", self._at_create)
        app.router.add_patch(at + "/v1.0/Tickets/{ticket}/Notes", self._at_update)
        app.router.add_get(at + "/v1.0/TicketNotes/query", self._at_query)
        app.router.add_post(halo + "/auth/token", self._halo_token)
        app.router.add_post(halo + "/api/Actions", self._halo_create)
        app.router.add_get(halo + "/api/Actions", self._halo_list)
        app.router.add_get("/_fake/state", self._state)
        app.router.add_post("/_fake/fail", self._script)
        app.router.add_post("/_fake/reset", self._reset)
        app.router.add_post("/_fake/revoke-tokens", self._revoke)
        return app

    # control ---------------------------------------------------------------------------------------
    async def _state(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "base_urls": {p: self.base_url(p) for p in ROOTS},
                "credentials": CREDENTIALS,
                "notes": self.notes,
                "requests": [asdict(r) for r in self.requests],
            }
        )

    async def _script(self, request: web.Request) -> web.Response:
        b = await request.json()
        self.fail(
            b["provider"],
            int(b["status"]),
            times=int(b.get("times", 1)),
            operation=b.get("operation", "create_note"),
            retry_after=b.get("retry_after"),
        )
        return web.json_response({"ok": True})

    async def _reset(self, request: web.Request) -> web.Response:
        self.reset()
        return web.json_response({"ok": True})

    async def _revoke(self, request: web.Request) -> web.Response:
        self.revoke_tokens()
        return web.json_response({"ok": True})


async def _serve(host: str, port: int) -> None:
    psa = await FakePsa(host, port).start()
    for provider in ROOTS:
        print(f"{provider}: {psa.base_url(provider)}", flush=True)
    await asyncio.Event().wait()


def main() -> None:
    """`python -m tests.fakes.psa --port N`."""
    parser = argparse.ArgumentParser(description="Fake ConnectWise / Autotask / HaloPSA APIs")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8093)
    args = parser.parse_args()
    asyncio.run(_serve(args.host, args.port))


if __name__ == "__main__":
    main()

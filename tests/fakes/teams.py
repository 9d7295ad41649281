"""A local Teams Workflows webhook: records posted Adaptive Card messages, scriptable failures.

In-process: `teams = FakeTeams().start()`; the webhook URL is `teams.webhook_url`.
Standalone: `python -m tests.fakes.teams --port N` (any POST path under /webhook/ is a webhook).
"""

from __future__ import annotations

import argparse
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.fakes._server import ThreadedApp

CARD_TYPE = "application/vnd.microsoft.card.adaptive"


@dataclass
class TeamsPost:
    """One webhook call: the path it hit and the JSON body."""

    path: str
    body: dict[str, Any]
    received_at: float

    @property
    def card(self) -> dict[str, Any]:
        """The Adaptive Card inside the message envelope."""
        return dict(self.body["attachments"][0]["content"])


class FakeTeams:
    """Workflows webhooks: validate the envelope, answer 202, or what the test scripted."""

    def __init__(self, port: int | None = None) -> None:
        self.posts: list[TeamsPost] = []
        self.rejected: list[TeamsPost] = []
        self._script: deque[tuple[int, dict[str, str]]] = deque()
        self._lock = threading.Lock()
        app = web.Application()
        app.router.add_post("/webhook/{name:.*}", self._receive)
        self.server = ThreadedApp(app, port)

    @property
    def webhook_url(self) -> str:
        """A webhook URL on this server (what `PUT /integrations/teams` is given)."""
        return f"{self.server.url}/webhook/flowpilot?sig=test-signature"

    def start(self) -> FakeTeams:
        """Listen on the loopback port."""
        self.server.start()
        return self

    def stop(self) -> None:
        """Stop listening."""
        self.server.stop()

    def fail(self, status: int, *, times: int = 1, retry_after: int | None = None) -> None:
        """Answer the next `times` posts with `status` (e.g. 429 with Retry-After, 500, 404)."""
        headers = {"Retry-After": str(retry_after)} if retry_after is not None else {}
        with self._lock:
            self._script.extend([(status, headers)] * times)

    def cards(self) -> list[dict[str, Any]]:
        """Cards received so far, in order."""
        with self._lock:
            return [p.card for p in self.posts]

    async def _receive(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            return web.json_response({"error": {"code": "InvalidRequestContent"}}, status=400)
        post = TeamsPost(path=request.path, body=body, received_at=time.time())
        with self._lock:
            if self._script:
                status, headers = self._script.popleft()
                self.rejected.append(post)
                return web.json_response({"error": {"code": f"Http{status}"}}, status=status, headers=headers)
        attachments = body.get("attachments") if isinstance(body, dict) else None
        if (
            body.get("type") != "message"
            or not isinstance(attachments, list)
            or not attachments
            or attachments[0].get("contentType") != CARD_TYPE
            or attachments[0].get("content", {}).get("type") != "AdaptiveCard"
        ):
            return web.json_response({"error": {"code": "InvalidRequestContent"}}, status=400)
        with self._lock:
            self.posts.append(post)
        return web.Response(status=202)


def main() -> None:
    """`python -m tests.fakes.teams --port N`."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    FakeTeams(args.port or None).server.serve_forever()


if __name__ == "__main__":
    main()

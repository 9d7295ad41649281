"""A local Slack for slack-sdk to talk to, and Slack's side of interactivity.

Web API: `chat.postMessage` (with message metadata), `chat.update`, `conversations.history`,
`auth.test`, `users.info`, `users.lookupByEmail`.
Interactivity: `click(...)` builds the signed `block_actions` request Slack posts to an app's
request URL when someone presses a button, and the `response_url` it names is served here
(`replies(...)` are the messages posted to it, e.g. ephemeral answers).

In-process: `slack = FakeSlack(); slack.start()`; give slack-sdk `slack.api_url` (`http://127.0.0.1:PORT/api/`).
Standalone: `python -m tests.fakes.slack --port N`.
"""

from __future__ import annotations

import argparse
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

from tests.fakes._server import ThreadedApp, slow_down
from tests.fakes.slack_interactive import TOKEN_PREFIX, Click, SlackCall, SlackInteractivity, sign

__all__ = ["TOKEN_PREFIX", "Click", "FakeSlack", "SlackCall", "SlackMessage", "sign"]


@dataclass
class SlackMessage:
    """A message as it stands in a channel (updates replace text and blocks)."""

    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    updates: list[dict[str, Any]] = field(default_factory=list)
    # Set on a thread reply: the ts of the message it answers (`reply_broadcast` also shows it in the channel).
    thread_ts: str | None = None
    reply_broadcast: bool = False
    metadata: dict[str, Any] | None = None


@dataclass
class Scripted:
    """A canned answer for the next matching call."""

    status: int
    body: dict[str, Any] | str
    headers: dict[str, str]
    method: str | None


def _decode(value: Any) -> Any:
    # Form-encoded bodies carry `blocks` as a JSON string, like Slack accepts them.
    if isinstance(value, str) and value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


class FakeSlack(SlackInteractivity):
    """Slack's Web API for chat messages: bearer token check, channels, ts, scriptable failures;
    members, signed clicks and response URLs (SlackInteractivity)."""

    def __init__(self, port: int | None = None, *, invalid_tokens: set[str] | None = None) -> None:
        self.calls: list[SlackCall] = []
        self.messages: dict[tuple[str, str], SlackMessage] = {}
        self.invalid_tokens = set(invalid_tokens or ())
        # Tokens of apps installed without `channels:history`.
        self.no_history_tokens: set[str] = set()
        self.unknown_channels: set[str] = set()
        # Seconds chat.postMessage takes to answer; setting it back to 0 releases waiting calls.
        self.delay_seconds = 0.0
        # Seconds chat.postMessage answers after posting: the message stands, the client may not know.
        self.answer_delay_seconds = 0.0
        self._script: deque[Scripted] = deque()
        self._lock = threading.Lock()
        self._seq = 0
        app = web.Application()
        app.router.add_post("/api/chat.postMessage", self._post_message)
        app.router.add_post("/api/chat.update", self._update)
        app.router.add_post("/api/auth.test", self._auth_test)
        app.router.add_route("*", "/api/conversations.history", self._history)
        self._add_interactivity(app)
        app.router.add_get("/_fake/messages", self._dump)
        self.server = ThreadedApp(app, port)

    # -- test-side API ----------------------------------------------------------------------------
    @property
    def api_url(self) -> str:
        """What FLOWPILOT_SLACK_API_URL is set to."""
        return f"{self.server.url}/api/"

    def start(self) -> FakeSlack:
        """Listen on the loopback port."""
        self.server.start()
        return self

    def stop(self) -> None:
        """Stop listening."""
        self.server.stop()

    def script(
        self,
        status: int,
        body: dict[str, Any] | str | None = None,
        *,
        headers: dict[str, str] | None = None,
        method: str | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next `times` calls (of `method`, or any) with this status and body."""
        answer = Scripted(status, body if body is not None else {"ok": False}, headers or {}, method)
        with self._lock:
            self._script.extend([answer] * times)

    def rate_limit(self, retry_after: int = 1, *, times: int = 1, method: str | None = None) -> None:
        """Answer 429 `ratelimited` with Retry-After, like Slack's tier limits."""
        self.script(
            429,
            {"ok": False, "error": "ratelimited"},
            headers={"Retry-After": str(retry_after)},
            method=method,
            times=times,
        )

    def posts(self, channel: str | None = None) -> list[SlackCall]:
        """Successful-or-not `chat.postMessage` calls (optionally to one channel)."""
        return [c for c in self.of("chat.postMessage") if channel is None or c.body.get("channel") == channel]

    def of(self, method: str) -> list[SlackCall]:
        """Calls of one API method."""
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def in_channel(self, channel: str) -> list[SlackMessage]:
        """Messages standing in a channel."""
        with self._lock:
            return [m for (ch, _), m in self.messages.items() if ch == channel]

    # -- Slack side -----------------------------------------------------------------------------
    async def _read(self, request: web.Request, method: str) -> tuple[SlackCall, web.Response | None]:
        auth = request.headers.get("Authorization", "")
        token = auth[7:] if auth.lower().startswith("bearer ") else None
        if request.content_type == "application/json":
            body = await request.json()
        else:
            body = {k: _decode(v) for k, v in parse_qsl(await request.text())}
            token = token or body.pop("token", None)
        call = SlackCall(method=method, token=token, body=body, received_at=time.time())
        with self._lock:
            self.calls.append(call)
            scripted = None
            for i, answer in enumerate(self._script):
                if answer.method in (None, method):
                    scripted = answer
                    del self._script[i]
                    break
        if scripted is not None:
            if isinstance(scripted.body, str):
                return call, web.Response(
                    status=scripted.status, text=scripted.body, headers=scripted.headers
                )
            return call, web.json_response(scripted.body, status=scripted.status, headers=scripted.headers)
        if not token:
            return call, web.json_response({"ok": False, "error": "not_authed"})
        if not token.startswith(TOKEN_PREFIX) or token in self.invalid_tokens:
            return call, web.json_response({"ok": False, "error": "invalid_auth"})
        channel = str(body.get("channel") or "")
        if not channel or channel in self.unknown_channels:
            return call, web.json_response({"ok": False, "error": "channel_not_found"})
        return call, None

    def _next_ts(self) -> str:
        with self._lock:
            self._seq += 1
            return f"{int(time.time())}.{self._seq:06d}"

    async def _post_message(self, request: web.Request) -> web.Response:
        await slow_down(self)
        call, refusal = await self._read(request, "chat.postMessage")
        if refusal is not None:
            return refusal
        if not call.body.get("text") and not call.body.get("blocks"):
            return web.json_response({"ok": False, "error": "no_text"})
        channel, ts = str(call.body["channel"]), self._next_ts()
        thread_ts = str(call.body["thread_ts"]) if call.body.get("thread_ts") else None
        if thread_ts is not None and (channel, thread_ts) not in self.messages:
            return web.json_response({"ok": False, "error": "thread_not_found"})
        message = SlackMessage(
            channel,
            ts,
            str(call.body.get("text", "")),
            list(call.body.get("blocks") or []),
            thread_ts=thread_ts,
            reply_broadcast=str(call.body.get("reply_broadcast", "")).lower() in ("1", "true"),
            metadata=call.body.get("metadata"),
        )
        with self._lock:
            self.messages[(channel, ts)] = message
        await slow_down(self, "answer_delay_seconds")
        return web.json_response(
            {"ok": True, "channel": channel, "ts": ts, "message": {"text": message.text}}
        )

    async def _update(self, request: web.Request) -> web.Response:
        call, refusal = await self._read(request, "chat.update")
        if refusal is not None:
            return refusal
        channel, ts = str(call.body["channel"]), str(call.body.get("ts") or "")
        with self._lock:
            message = self.messages.get((channel, ts))
            if message is None:
                return web.json_response({"ok": False, "error": "message_not_found"})
            message.text = str(call.body.get("text", message.text))
            message.blocks = list(call.body.get("blocks") or message.blocks)
            message.updates.append(call.body)
        return web.json_response({"ok": True, "channel": channel, "ts": ts, "text": message.text})

    async def _history(self, request: web.Request) -> web.Response:
        """The channel's messages (and replies sent to it too), newest first, after `oldest`."""
        with self._lock:
            self.calls.append(
                SlackCall("conversations.history", None, dict(request.query), received_at=time.time())
            )
        auth = request.headers.get("Authorization", "")
        if not auth[7:].startswith(TOKEN_PREFIX) or auth[7:] in self.invalid_tokens:
            return web.json_response({"ok": False, "error": "invalid_auth"})
        if auth[7:] in self.no_history_tokens:
            return web.json_response({"ok": False, "error": "missing_scope", "needed": "channels:history"})
        channel, oldest = request.query.get("channel", ""), float(request.query.get("oldest") or 0)
        metadata = request.query.get("include_all_metadata") in ("1", "true")
        shown = [
            {"type": "message", "ts": m.ts, "text": m.text, **({"metadata": m.metadata} if metadata else {})}
            for m in self.in_channel(channel)
            if float(m.ts) > oldest and (m.thread_ts is None or m.reply_broadcast)
        ]
        shown.sort(key=lambda m: float(m["ts"]), reverse=True)
        return web.json_response({"ok": True, "messages": shown, "has_more": False})

    async def _auth_test(self, request: web.Request) -> web.Response:
        auth = request.headers.get("Authorization", "")
        token = auth[7:] if auth.lower().startswith("bearer ") else ""
        if not token.startswith(TOKEN_PREFIX) or token in self.invalid_tokens:
            return web.json_response({"ok": False, "error": "invalid_auth"})
        return web.json_response({"ok": True, "team": "FlowPilot", "user": "flowpilot-bot"})

    async def _dump(self, request: web.Request) -> web.Response:
        with self._lock:
            messages = [m.__dict__ for m in self.messages.values()]
        return web.json_response({"messages": messages, "calls": len(self.calls)})


def main() -> None:
    """`python -m tests.fakes.slack --port N`."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    FakeSlack(args.port or None).server.serve_forever()


if __name__ == "__main__":
    main()

"""Slack's side of interactivity, mixed into FakeSlack: workspace members (`users.info`,
`users.lookupByEmail`), button clicks as Slack posts them to an app's request URL (signed with the
app's signing secret), and the `response_url` that receives the app's replies.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import parse_qsl, urlencode

from aiohttp import web

from tests.fakes._server import ThreadedApp

TOKEN_PREFIX = "xoxb-"


@dataclass
class SlackCall:
    """One API request as the fake received it."""

    method: str
    token: str | None
    body: dict[str, Any]
    received_at: float


class PostedMessage(Protocol):
    """A message standing in a channel (FakeSlack's SlackMessage)."""

    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]


@dataclass
class Click:
    """A button press as Slack posts it to the app: the form body, its signed headers, the reply URL."""

    body: bytes
    headers: dict[str, str]
    response_url: str
    payload: dict[str, Any]


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """Slack's request signature: `v0=` + hex HMAC-SHA256 of `v0:{timestamp}:{body}`."""
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def build_click(
    *,
    slack_url: str,
    signing_secret: str,
    user_id: str,
    username: str,
    message: PostedMessage,
    action_id: str = "pickup",
    timestamp: int | None = None,
) -> Click:
    """Slack's `block_actions` request for a press of `action_id` in `message`, signed; its
    response_url is served by the fake at `slack_url`."""
    button = next(
        (
            element
            for block in message.blocks
            if block.get("type") == "actions"
            for element in block.get("elements", [])
            if element.get("action_id") == action_id
        ),
        None,
    )
    assert button is not None, f"the message has no {action_id!r} button to press"
    response_url = f"{slack_url}/actions/{uuid.uuid4().hex}"
    now = time.time()
    payload = {
        "type": "block_actions",
        "user": {"id": user_id, "username": username, "team_id": "T0FLOWPILOT"},
        "api_app_id": "A0FLOWPILOT",
        "token": "deprecated-verification-token",
        "container": {
            "type": "message",
            "message_ts": message.ts,
            "channel_id": message.channel,
            "is_ephemeral": False,
        },
        "trigger_id": f"{int(now)}.{uuid.uuid4().int % 10**12}.{uuid.uuid4().hex}",
        "team": {"id": "T0FLOWPILOT", "domain": "flowpilot"},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": message.channel, "name": "escalations"},
        "message": {"type": "message", "ts": message.ts, "text": message.text, "blocks": message.blocks},
        "state": {"values": {}},
        "response_url": response_url,
        "actions": [
            {
                "action_id": button["action_id"],
                "block_id": "pickup",
                "text": button["text"],
                "value": button.get("value"),
                "style": button.get("style"),
                "type": "button",
                "action_ts": f"{now:.6f}",
            }
        ],
    }
    body = urlencode({"payload": json.dumps(payload, separators=(",", ":"))}).encode()
    stamp = str(int(now) if timestamp is None else timestamp)
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": sign(signing_secret, stamp, body),
    }
    return Click(body=body, headers=headers, response_url=response_url, payload=payload)


class SlackInteractivity:
    """Members, clicks and response URLs; shares FakeSlack's lock, call log, script and server."""

    _lock: threading.Lock
    _script: deque[Any]
    calls: list[SlackCall]
    invalid_tokens: set[str]
    server: ThreadedApp

    def _add_interactivity(self, app: web.Application) -> None:
        # Workspace members by Slack user id, as users.info returns them.
        self.users: dict[str, dict[str, Any]] = {}
        # What was posted to each response_url (by its key), in order.
        self.responses: dict[str, list[dict[str, Any]]] = {}
        # users.info answers after this many seconds; setting it back to 0 releases waiting calls.
        self.users_delay_seconds = 0.0
        for method in ("users.info", "users.lookupByEmail"):
            app.router.add_route("*", f"/api/{method}", self._users)
        app.router.add_post("/actions/{key}", self._response_url)
        # For a fake in another process (benchmarks): add members, read when replies arrived.
        self.reply_times: dict[str, float] = {}
        app.router.add_post("/_fake/users", self._add_user_over_http)
        app.router.add_get("/_fake/replies", self._reply_times)

    def add_user(self, email: str, *, name: str | None = None, is_bot: bool = False) -> str:
        """A workspace member (users.info finds them by id, users.lookupByEmail by email); their id."""
        user_id = "U" + uuid.uuid4().hex[:10].upper()
        profile: dict[str, Any] = {"real_name": name or email.split("@")[0], "display_name": name or ""}
        if email:
            profile["email"] = email
        with self._lock:
            self.users[user_id] = {
                "id": user_id,
                "team_id": "T0FLOWPILOT",
                "name": email.split("@")[0] if email else user_id.lower(),
                "deleted": False,
                "is_bot": is_bot,
                "profile": profile,
            }
        return user_id

    def click(
        self,
        *,
        signing_secret: str,
        user_id: str,
        message: PostedMessage,
        action_id: str = "pickup",
        timestamp: int | None = None,
    ) -> Click:
        """The request Slack sends when `user_id` presses the button `action_id` of `message`."""
        with self._lock:
            username = str(self.users.get(user_id, {}).get("name", user_id))
        return build_click(
            slack_url=self.server.url,
            signing_secret=signing_secret,
            user_id=user_id,
            username=username,
            message=message,
            action_id=action_id,
            timestamp=timestamp,
        )

    def replies(self, click: Click) -> list[dict[str, Any]]:
        """What the app posted to the click's response_url."""
        key = click.response_url.rsplit("/", 1)[-1]
        with self._lock:
            return list(self.responses.get(key, []))

    async def _users(self, request: web.Request) -> web.Response:
        waited = 0.0
        while waited < self.users_delay_seconds:
            await asyncio.sleep(0.05)
            waited += 0.05
        method = request.path.rsplit("/", 1)[-1]
        auth = request.headers.get("Authorization", "")
        token = auth[7:] if auth.lower().startswith("bearer ") else None
        params = dict(request.query)
        if request.method == "POST":
            params.update(parse_qsl(await request.text()))
        token = token or params.pop("token", None)
        with self._lock:
            self.calls.append(SlackCall(method=method, token=token, body=params, received_at=time.time()))
            scripted = next((a for a in self._script if a.method == method), None)
            if scripted is not None:
                self._script.remove(scripted)
        if scripted is not None:
            return web.json_response(scripted.body, status=scripted.status, headers=scripted.headers)
        if not token:
            return web.json_response({"ok": False, "error": "not_authed"})
        if not token.startswith(TOKEN_PREFIX) or token in self.invalid_tokens:
            return web.json_response({"ok": False, "error": "invalid_auth"})
        with self._lock:
            if method == "users.info":
                user = self.users.get(params.get("user", ""))
            else:
                wanted = params.get("email", "").lower()
                user = next(
                    (u for u in self.users.values() if u["profile"].get("email", "").lower() == wanted), None
                )
        if user is None:
            return web.json_response(
                {"ok": False, "error": "user_not_found" if method == "users.info" else "users_not_found"}
            )
        return web.json_response({"ok": True, "user": user})

    async def _response_url(self, request: web.Request) -> web.Response:
        body = await request.json()
        with self._lock:
            self.responses.setdefault(request.match_info["key"], []).append(body)
            self.reply_times.setdefault(request.match_info["key"], time.time())
        return web.Response(text="ok")

    async def _add_user_over_http(self, request: web.Request) -> web.Response:
        body = await request.json()
        return web.json_response({"id": self.add_user(str(body["email"]), name=body.get("name"))})

    async def _reply_times(self, request: web.Request) -> web.Response:
        with self._lock:
            return web.json_response({"first_reply_at": dict(self.reply_times)})

"""A local server speaking the Anthropic Messages API wire format, for the real `anthropic` SDK.

In-process: `fake = FakeAnthropic(); base_url = await fake.start()` then point `ANTHROPIC_BASE_URL`
(or DocgenSettings.anthropic_base_url) at `base_url`. As a process:
`python -m tests.fakes.anthropic --port 8090 [--api-key KEY]`.

Scripting: `fake.fail(n, status=500)`, `fake.delay(n, seconds)`, `fake.invalid(n)`, `fake.cut(n)` queue
behaviours for the next requests (then back to normal answers); `fake.tool_input = {...}` fixes the
answer; `fake.hold(text)` keeps every request mentioning `text` waiting until `fake.release(text)`.
Over HTTP (for end-to-end runs): `POST /_fake/script` `[{"kind": "fail"|"delay"|"invalid"|"cut", ...}]`,
`GET /_fake/requests`, `POST /_fake/reset`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import re
import threading
import uuid
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

DEFAULT_API_KEY = "sk-ant-test-fake-key"
USAGE = {
    "input_tokens": 812,
    "output_tokens": 344,
    "cache_creation_input_tokens": 0,
    "cache_read_input_tokens": 0,
}


@dataclass
class Behaviour:
    """What to do with one request: answer normally, fail with `status`, wait `seconds`, answer garbage."""

    kind: str = "ok"
    status: int = 500
    seconds: float = 0.0


@dataclass
class Recorded:
    """One request the fake received."""

    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class FakeAnthropic:
    """The fake server; `requests` holds every (authorised) request body in arrival order."""

    api_key: str = DEFAULT_API_KEY
    tool_input: dict[str, Any] | None = None
    retry_after_ms: int | None = 10  # keeps the SDK's retries fast in tests; None to omit the header
    requests: list[Recorded] = field(default_factory=list)
    script: deque[Behaviour] = field(default_factory=deque)
    _cached_prefixes: set[str] = field(default_factory=set)
    _runner: web.AppRunner | None = None
    _stopping: asyncio.Event = field(default_factory=asyncio.Event)
    _holds: dict[str, threading.Event] = field(default_factory=dict)
    base_url: str = ""

    # -- scripting ----------------------------------------------------------------------------
    def fail(self, times: int = 1, *, status: int = 500) -> None:
        """The next `times` requests answer `status` with an Anthropic error body."""
        self.script.extend(Behaviour("fail", status=status) for _ in range(times))

    def delay(self, times: int = 1, *, seconds: float = 5.0) -> None:
        """The next `times` requests wait `seconds` before answering (client timeouts)."""
        self.script.extend(Behaviour("delay", seconds=seconds) for _ in range(times))

    def invalid(self, times: int = 1) -> None:
        """The next `times` requests answer a tool call whose input breaks the schema."""
        self.script.extend(Behaviour("invalid") for _ in range(times))

    def hold(self, text: str) -> None:
        """Requests whose body mentions `text` wait (an AI call in flight) until `release(text)`."""
        self._holds[text] = threading.Event()

    def release(self, text: str) -> None:
        """Let the requests held for `text` (and later ones) be answered; callable from any thread."""
        gate = self._holds.pop(text, None)
        if gate is not None:
            gate.set()

    def cut(self, times: int = 1) -> None:
        """The next `times` answers stop at max_tokens: the tool input ends early (still well-formed)."""
        self.script.extend(Behaviour("cut") for _ in range(times))

    def reset(self) -> None:
        """Forget requests and pending behaviours."""
        self.requests.clear()
        self.script.clear()
        self.tool_input = None

    @property
    def bodies(self) -> list[dict[str, Any]]:
        """The JSON bodies received."""
        return [r.body for r in self.requests]

    # -- server -------------------------------------------------------------------------------
    def app(self) -> web.Application:
        """The aiohttp application."""
        app = web.Application()
        app.router.add_post("/v1/messages", self._messages)
        app.router.add_post("/_fake/script", self._set_script)
        app.router.add_get("/_fake/requests", self._get_requests)
        app.router.add_post("/_fake/reset", self._reset)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Listen on `host:port` (0: an ephemeral port); returns the base URL."""
        self._stopping = asyncio.Event()
        self._runner = web.AppRunner(self.app(), handler_cancellation=True, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound_port = self._runner.addresses[0][1]
        self.base_url = f"http://{host}:{bound_port}"
        return self.base_url

    async def stop(self) -> None:
        """Stop listening; delayed and held requests are released at once."""
        self._stopping.set()
        for text in list(self._holds):
            self.release(text)
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _messages(self, request: web.Request) -> web.Response:
        # Older SDKs send `x-api-key`; the installed 2.x sends the key as `Authorization: Bearer`.
        bearer = request.headers.get("authorization", "")
        presented = request.headers.get("x-api-key") or (
            bearer[7:] if bearer.lower().startswith("bearer ") else ""
        )
        if presented != self.api_key:
            return _error(401, "authentication_error", "invalid x-api-key")
        if not request.headers.get("anthropic-version"):
            return _error(400, "invalid_request_error", "anthropic-version header is required")
        try:
            body = await request.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return _error(400, "invalid_request_error", "body is not JSON")
        if not isinstance(body, dict) or "model" not in body or "messages" not in body:
            return _error(400, "invalid_request_error", "model and messages are required")
        self.requests.append(Recorded(headers=dict(request.headers), body=body))
        text = json.dumps(body)
        for held, gate in list(self._holds.items()):
            if held in text:
                await asyncio.to_thread(gate.wait, 300)
        behaviour = self.script.popleft() if self.script else Behaviour()
        if behaviour.kind == "fail":
            headers = {"retry-after-ms": str(self.retry_after_ms)} if self.retry_after_ms is not None else {}
            return _error(behaviour.status, "api_error", "Internal server error (scripted)", headers)
        if behaviour.kind == "delay":
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=behaviour.seconds)
        tool_input = self._answer_input(body) if behaviour.kind != "invalid" else {"summary": 42}
        stop_reason = "tool_use"
        if behaviour.kind == "cut":
            # The real API hands back what the model wrote before max_tokens: here, the first step only.
            tool_input = {**tool_input, "steps_tried": tool_input["steps_tried"][:1]}
            stop_reason = "max_tokens"
        return web.json_response(_message(body, tool_input, self._usage(body), stop_reason))

    def _usage(self, body: dict[str, Any]) -> dict[str, int]:
        """Usage like the real API's: a cache_control'd prefix is written once, then read."""
        usage = dict(USAGE)
        system = body.get("system")
        if isinstance(system, list) and any(b.get("cache_control") for b in system):
            prefix = json.dumps([body.get("tools"), system], sort_keys=True)
            size = len(prefix) // 4
            key = (
                "cache_read_input_tokens"
                if prefix in self._cached_prefixes
                else "cache_creation_input_tokens"
            )
            usage[key] = size
            self._cached_prefixes.add(prefix)
        return usage

    def _answer_input(self, body: dict[str, Any]) -> dict[str, Any]:
        if self.tool_input is not None:
            return self.tool_input
        session = _session_from(body)
        steps = [s for s in session.get("steps", []) if s.get("kind") == "action"]
        return {
            "summary": f"Fake summary of {session.get('title', 'the session')}.",
            "steps_tried": [{"step": s["content"], "outcome": "Did not resolve the issue"} for s in steps],
            "hypotheses": ["Modern authentication is disabled for the tenant"],
            "suggested_next_steps": ["Check the Autodiscover record", "Test with a new Windows profile"],
            "risk": "medium",
            "urgency": "high",
            "open_questions": ["Does it happen on webmail?"],
            "current_state": "Users still see the password prompt loop.",
        }

    async def _set_script(self, request: web.Request) -> web.Response:
        for item in await request.json():
            self.script.append(
                Behaviour(item["kind"], status=item.get("status", 500), seconds=item.get("seconds", 0.0))
            )
        return web.json_response({"pending": len(self.script)})

    async def _get_requests(self, request: web.Request) -> web.Response:
        return web.json_response(self.bodies)

    async def _reset(self, request: web.Request) -> web.Response:
        self.reset()
        return web.json_response({"ok": True})


def _session_from(body: dict[str, Any]) -> dict[str, Any]:
    """The <session> JSON docgen puts in the user turn (empty if absent)."""
    for message in body.get("messages", []):
        content = message.get("content")
        texts = [content] if isinstance(content, str) else [b.get("text", "") for b in content or []]
        for text in texts:
            found = re.search(r"<session>\s*(\{.*\})\s*</session>", text, re.DOTALL)
            if found:
                with contextlib.suppress(json.JSONDecodeError):
                    return dict(json.loads(found.group(1)))
    return {}


def _message(
    body: dict[str, Any], tool_input: dict[str, Any], usage: dict[str, int], stop_reason: str = "tool_use"
) -> dict[str, Any]:
    choice = body.get("tool_choice") or {}
    tools = body.get("tools") or [{}]
    name = choice.get("name") or tools[0].get("name") or "tool"
    return {
        "id": f"msg_{uuid.uuid4().hex[:24]}",
        "type": "message",
        "role": "assistant",
        "model": body["model"],
        "content": [
            {"type": "tool_use", "id": f"toolu_{uuid.uuid4().hex[:24]}", "name": name, "input": tool_input}
        ],
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": usage,
    }


def _error(status: int, kind: str, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(
        {"type": "error", "error": {"type": kind, "message": message}}, status=status, headers=headers
    )


def main() -> None:
    """Run the fake until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--api-key", default=DEFAULT_API_KEY)
    args = parser.parse_args()
    fake = FakeAnthropic(api_key=args.api_key)
    web.run_app(fake.app(), host=args.host, port=args.port, handler_cancellation=True)


if __name__ == "__main__":
    main()

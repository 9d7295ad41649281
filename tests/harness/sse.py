"""SSE client helpers for tests: parse a streaming httpx response into events and comments."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class SseEvent:
    """One dispatched SSE event, or a comment line (`event == ""` and `comment` set)."""

    event: str = "message"
    data: str = ""
    id: str | None = None
    comment: str | None = None

    @property
    def is_comment(self) -> bool:
        """A `: ...` line (heartbeats)."""
        return self.comment is not None

    def json(self) -> Any:
        """The data decoded as JSON."""
        return json.loads(self.data)


def _comment(line: str) -> SseEvent:
    return SseEvent(event="", comment=line[1:].lstrip())


def _event_of(fields: list[str]) -> SseEvent | None:
    """The event a block's field lines describe (comments apart); None when they name no event."""
    event, data, event_id = "", [], None
    for line in fields:
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            event = value
        elif name == "data":
            data.append(value)
        elif name == "id":
            event_id = value
    if data or event:
        return SseEvent(event=event or "message", data="\n".join(data), id=event_id)
    return None


async def iter_sse(response: httpx.Response) -> AsyncIterator[SseEvent]:
    """Yield events (and comments, as they arrive) from a streaming `text/event-stream` response."""
    fields: list[str] = []
    async for line in response.aiter_lines():
        if line == "":
            if (event := _event_of(fields)) is not None:
                yield event
            fields = []
        elif line.startswith(":"):
            yield _comment(line)
        else:
            fields.append(line)


@dataclass
class SseClient:
    """An open stream read by a background task; tests wait on what it has collected."""

    response: httpx.Response
    items: list[SseEvent] = field(default_factory=list)
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    reading: asyncio.Event = field(default_factory=asyncio.Event)
    _changed: asyncio.Event = field(default_factory=asyncio.Event)
    _task: asyncio.Task[None] | None = None
    _pending: bytes = b""

    @property
    def events(self) -> list[SseEvent]:
        """Events received so far (no comments)."""
        return [i for i in self.items if not i.is_comment]

    @property
    def comments(self) -> list[SseEvent]:
        """Comment lines received so far."""
        return [i for i in self.items if i.is_comment]

    def named(self, name: str) -> list[SseEvent]:
        """Events of one name."""
        return [e for e in self.events if e.event == name]

    def start(self) -> None:
        """Start reading in the background."""
        self.reading.set()
        self._task = asyncio.create_task(self._read())

    def pause(self) -> None:
        """Stop pulling bytes from the socket (a client that stopped reading)."""
        self.reading.clear()

    def resume(self) -> None:
        """Read again."""
        self.reading.set()

    async def _read(self) -> None:
        try:
            async for raw in self.response.aiter_raw():
                await self.reading.wait()
                self._feed(raw)
        except (httpx.HTTPError, asyncio.CancelledError):
            pass
        finally:
            self.closed.set()
            self._changed.set()

    def _feed(self, raw: bytes) -> None:
        self._pending = (self._pending + raw).replace(b"\r\n", b"\n")
        while b"\n\n" in self._pending:
            block, _, self._pending = self._pending.partition(b"\n\n")
            self._parse_block(block.decode())
        self._changed.set()

    def _parse_block(self, block: str) -> None:
        fields: list[str] = []
        for line in block.split("\n"):
            if line.startswith(":"):
                self.items.append(_comment(line))
            else:
                fields.append(line)
        if (event := _event_of(fields)) is not None:
            self.items.append(event)

    async def wait_for(
        self, predicate: Callable[[SseClient], Any], *, timeout: float = 10.0, message: str = ""
    ) -> Any:
        """Wait until `predicate(self)` is truthy; fail after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            result = predicate(self)
            if result:
                return result
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                names = [(i.event, i.id) for i in self.events]
                raise AssertionError(f"SSE condition not met within {timeout}s: {message} (got {names})")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout=min(remaining, 0.5))

    async def wait_event(
        self, name: str, *, where: Callable[[Any], bool] | None = None, timeout: float = 10.0
    ) -> SseEvent:
        """The first event named `name` (whose JSON data satisfies `where`)."""

        def found(client: SseClient) -> SseEvent | None:
            for e in client.named(name):
                if where is None or where(e.json()):
                    return e
            return None

        result: SseEvent = await self.wait_for(found, timeout=timeout, message=f"event {name}")
        return result

    async def close(self) -> None:
        """Stop reading and close the response."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        await self.response.aclose()


@contextlib.asynccontextmanager
async def open_stream(
    client: httpx.AsyncClient, url: str, *, headers: dict[str, str] | None = None
) -> AsyncIterator[SseClient]:
    """Open an SSE stream (asserting 200) and read it in the background until the block ends."""
    request = client.build_request("GET", url, headers=headers, timeout=httpx.Timeout(10.0, read=None))
    response = await client.send(request, stream=True)
    stream = SseClient(response=response)
    try:
        if response.status_code != 200:
            await response.aread()
            raise AssertionError(f"stream answered {response.status_code}: {response.text}")
        stream.start()
        yield stream
    finally:
        await stream.close()

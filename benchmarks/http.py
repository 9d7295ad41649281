"""A lean HTTP/1.1 keep-alive client and SSE reader on raw asyncio streams (the load generator's side).

httpx costs several hundred microseconds of Python per request; on a 2-core box shared with the
services that is load the system under test never sees, so the generator speaks the protocol itself.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Response:
    """Status and body of one answer."""

    status: int
    body: bytes

    def json(self) -> Any:
        """The body decoded as JSON."""
        return json.loads(self.body)


class _Conn:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.last_used = time.monotonic()


# uvicorn closes a keep-alive connection after 5 s idle; never reuse one that may be closing.
MAX_IDLE_SECONDS = 3.0


class HttpPool:
    """Up to `size` keep-alive connections to one host; requests wait for a free one."""

    def __init__(self, host: str, port: int, *, size: int = 64) -> None:
        self.host, self.port, self.size = host, port, size
        self._idle: asyncio.Queue[_Conn] = asyncio.Queue()
        self._open = 0

    async def _acquire(self) -> _Conn:
        while not self._idle.empty():
            conn = self._idle.get_nowait()
            if time.monotonic() - conn.last_used < MAX_IDLE_SECONDS:
                return conn
            self._open -= 1
            conn.writer.close()
        if self._open < self.size:
            self._open += 1
            try:
                reader, writer = await asyncio.open_connection(self.host, self.port)
            except BaseException:
                self._open -= 1
                raise
            return _Conn(reader, writer)
        return await self._idle.get()

    async def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        headers: dict[str, str] | None = None,
        content: bytes | None = None,
    ) -> Response:
        """Send one request and read its answer (Content-Length framed); `content`: raw bytes instead
        of a JSON `body` (its Content-Type in `headers`)."""
        payload = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
        if content is not None:
            payload = content
        head = [
            f"{method} {path} HTTP/1.1",
            f"Host: {self.host}:{self.port}",
            f"Content-Length: {len(payload)}",
        ]
        if body is not None:
            head.append("Content-Type: application/json")
        head.extend(f"{k}: {v}" for k, v in (headers or {}).items())
        raw = ("\r\n".join(head) + "\r\n\r\n").encode() + payload
        conn = await self._acquire()
        try:
            conn.writer.write(raw)
            header = await conn.reader.readuntil(b"\r\n\r\n")
            lines = header.decode("latin-1").split("\r\n")
            status = int(lines[0].split(" ", 2)[1])
            length, close = 0, False
            for line in lines[1:]:
                name, _, value = line.partition(":")
                lname = name.strip().lower()
                if lname == "content-length":
                    length = int(value)
                elif lname == "connection" and value.strip().lower() == "close":
                    close = True
            data = await conn.reader.readexactly(length) if length else b""
        except BaseException:
            self._open -= 1
            conn.writer.close()
            raise
        if close:
            self._open -= 1
            conn.writer.close()
        else:
            conn.last_used = time.monotonic()
            self._idle.put_nowait(conn)
        return Response(status, data)

    async def close(self) -> None:
        """Close every idle connection."""
        while not self._idle.empty():
            self._idle.get_nowait().writer.close()
        self._open = 0


@dataclass
class SseStream:
    """One open `text/event-stream` response; `on_event(name, data, received_at)` per event."""

    host: str
    port: int
    path: str
    token: str
    on_event: Callable[[str, str, float], None]
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None
    error: str | None = None
    _writer: asyncio.StreamWriter | None = None

    async def open(self, timeout: float = 60.0) -> None:
        """Connect, send the request, wait for the `ready` event; then read in the background."""
        reader, writer = await asyncio.open_connection(self.host, self.port, limit=1 << 20)
        self._writer = writer
        writer.write(
            (
                f"GET {self.path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
                f"Authorization: Bearer {self.token}\r\nAccept: text/event-stream\r\n\r\n"
            ).encode()
        )
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout)
        status = int(head.split(b" ", 2)[1])
        if status != 200:
            writer.close()
            raise RuntimeError(f"stream answered {status}")
        self.task = asyncio.create_task(self._read(reader))
        await asyncio.wait_for(self.ready.wait(), timeout)

    async def _read(self, reader: asyncio.StreamReader) -> None:
        # Chunked transfer: read chunk by chunk, split events on blank lines.
        buffer = b""
        try:
            while True:
                size_line = await reader.readuntil(b"\r\n")
                size = int(size_line.strip() or b"0", 16)
                if size == 0:
                    return
                chunk = await reader.readexactly(size + 2)
                buffer += chunk[:-2]
                while b"\r\n\r\n" in buffer or b"\n\n" in buffer:
                    cut, sep = _split(buffer)
                    block, buffer = buffer[:cut], buffer[cut + sep :]
                    self._dispatch(block, time.time())
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError, ValueError) as exc:
            if not isinstance(exc, asyncio.CancelledError):
                self.error = type(exc).__name__

    def _dispatch(self, block: bytes, received: float) -> None:
        name, data = "message", []
        for line in block.decode().splitlines():
            if line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].lstrip())
        if not data:
            return
        if name == "ready":
            self.ready.set()
            return
        self.on_event(name, "\n".join(data), received)

    async def close(self) -> None:
        """Stop reading and close the connection."""
        if self.task is not None:
            self.task.cancel()
        if self._writer is not None:
            self._writer.close()


def _split(buffer: bytes) -> tuple[int, int]:
    a, b = buffer.find(b"\r\n\r\n"), buffer.find(b"\n\n")
    if a >= 0 and (b < 0 or a <= b):
        return a, 4
    return b, 2

"""Connected SMTP clients reused across emails: connect, STARTTLS and AUTH once, not per message."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import AsyncIterator

import aiosmtplib

from notifier.settings import NotifierSettings

# A connection idle longer than this is checked with NOOP before reuse (servers drop idle clients).
CHECK_AFTER_IDLE_SECONDS = 5.0
# ... and one idle longer than this is closed instead (well inside the usual 5-minute server timeout).
MAX_IDLE_SECONDS = 60.0


class SmtpPool:
    """At most `size` SMTP sessions at once; finished ones wait (briefly) for the next email."""

    def __init__(self, settings: NotifierSettings, *, size: int) -> None:
        self._settings = settings
        self._slots = asyncio.Semaphore(size)
        self._idle: list[tuple[aiosmtplib.SMTP, float]] = []
        # Computed once: aiosmtplib would otherwise resolve it in a thread for every connection.
        self._local_hostname = socket.getfqdn()

    @contextlib.asynccontextmanager
    async def client(self) -> AsyncIterator[aiosmtplib.SMTP]:
        """A connected client for one message; it goes back to the pool only if the send succeeded."""
        async with self._slots:
            client = await self._reusable() or await self._connect()
            try:
                yield client
            except BaseException:
                # The session's state is unknown after a failure: never reuse it.
                await _close(client)
                raise
            self._idle.append((client, time.monotonic()))

    async def close(self) -> None:
        """Quit every idle session."""
        idle, self._idle = self._idle, []
        for client, _ in idle:
            await _close(client)

    async def _reusable(self) -> aiosmtplib.SMTP | None:
        while self._idle:
            client, since = self._idle.pop()
            idle_for = time.monotonic() - since
            if not client.is_connected or idle_for > MAX_IDLE_SECONDS:
                await _close(client)
                continue
            if idle_for > CHECK_AFTER_IDLE_SECONDS:
                try:
                    await client.noop()
                except (aiosmtplib.SMTPException, OSError):
                    await _close(client)
                    continue
            return client
        return None

    async def _connect(self) -> aiosmtplib.SMTP:
        s = self._settings
        client = aiosmtplib.SMTP(
            hostname=s.smtp_host,
            port=s.smtp_port,
            local_hostname=self._local_hostname,
            start_tls=s.smtp_starttls,
            timeout=s.smtp_timeout_seconds,
        )
        await client.connect()
        try:
            if s.smtp_username:
                await client.login(s.smtp_username, s.smtp_password or "")
        except BaseException:
            await _close(client)
            raise
        return client


async def _close(client: aiosmtplib.SMTP) -> None:
    if client.is_connected:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(client.quit(), timeout=2.0)
    client.close()

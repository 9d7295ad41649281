"""Run an aiohttp app on a loopback port in a background thread (usable from sync and async tests)."""

from __future__ import annotations

import asyncio
import socket
import threading

from aiohttp import web


def free_port() -> int:
    """An unused loopback TCP port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ThreadedApp:
    """An aiohttp app served on 127.0.0.1:`port` by its own event loop thread; start/stop repeatable."""

    def __init__(self, app: web.Application, port: int | None = None) -> None:
        self.app = app
        self.port = port or free_port()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        """Base URL of the server."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Listen (blocks until the port accepts connections)."""
        if self._thread is not None:
            return
        ready = threading.Event()
        failure: list[BaseException] = []
        loop = asyncio.new_event_loop()

        async def serve() -> None:
            runner = web.AppRunner(self.app, handle_signals=False, access_log=None)
            await runner.setup()
            await web.TCPSite(runner, "127.0.0.1", self.port, reuse_address=True).start()
            self._runner = runner

        def run() -> None:
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(serve())
            except BaseException as exc:
                failure.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()

        self._loop = loop
        self._thread = threading.Thread(target=run, name=f"fake-{self.port}", daemon=True)
        self._thread.start()
        ready.wait(10)
        if failure:
            self._thread = None
            raise failure[0]

    def stop(self) -> None:
        """Close the listener and the loop thread (the port refuses connections afterwards)."""
        if self._thread is None or self._loop is None:
            return
        loop = self._loop

        async def shutdown() -> None:
            if self._runner is not None:
                await self._runner.cleanup()
                self._runner = None

        asyncio.run_coroutine_threadsafe(shutdown(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        self._thread.join(10)
        loop.close()
        self._thread = None
        self._loop = None

    def serve_forever(self) -> None:
        """Run in the foreground until interrupted (the `python -m tests.fakes.<x>` entry point)."""
        self.start()
        print(f"listening on {self.url}", flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()


async def slow_down(holder: object, attribute: str = "delay_seconds") -> None:
    """Wait `holder.delay_seconds` (or another `attribute`; 0: at once), ending early when it is set
    back to 0."""
    waited = 0.0
    while waited < getattr(holder, attribute, 0.0):
        await asyncio.sleep(0.05)
        waited += 0.05

"""The gateway, not the service, closes an idle keep-alive connection between them.

Were the service first (uvicorn's default: after 5 s), a request the gateway sends into a connection
the service is just closing would fail, and nginx does not retry a POST: a 502 for a handoff.
"""

from __future__ import annotations

import asyncio
import http.client
import re
import socket
import sys
from pathlib import Path

from flowpilot_shared.service import HTTP_KEEP_ALIVE_SECONDS
from tests.fakes._server import free_port
from tests.harness.waiting import wait_until

GATEWAY_CONF = Path(__file__).resolve().parents[2] / "deploy" / "gateway" / "gateway.conf.template"
# Longer than uvicorn's default keep-alive (5 s): a service on the default has closed by then.
IDLE_SECONDS = 7.0

_SERVE = """
import sys
from fastapi import FastAPI
from flowpilot_shared.service import serve
from flowpilot_shared.settings import CoreSettings

app = FastAPI()
app.get("/ping")(lambda: {"ok": True})
serve(app, port=int(sys.argv[1]), settings=CoreSettings())
"""


def _upstream_keepalive_timeouts() -> list[int]:
    """Seconds of each `upstream { keepalive_timeout Ns; }` of the gateway."""
    blocks = re.findall(r"^upstream \w+ \{(.*?)^\}", GATEWAY_CONF.read_text(), flags=re.S | re.M)
    return [int(m) for block in blocks for m in re.findall(r"keepalive_timeout (\d+)s;", block)]


def test_services_keep_idle_connections_longer_than_the_gateway() -> None:
    timeouts = _upstream_keepalive_timeouts()
    assert len(timeouts) >= 3  # the API, the notifier and docgen
    assert all(t < HTTP_KEEP_ALIVE_SECONDS for t in timeouts), (HTTP_KEEP_ALIVE_SECONDS, timeouts)


def _ping(conn: http.client.HTTPConnection) -> int:
    conn.request("GET", "/ping")
    response = conn.getresponse()
    response.read()
    return response.status


def _idle_then_request(port: int) -> None:
    """A request, `IDLE_SECONDS` of silence the service must not end, then another request."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        assert _ping(conn) == 200
        assert conn.sock is not None
        conn.sock.settimeout(IDLE_SECONDS)
        try:
            closed = conn.sock.recv(1, socket.MSG_PEEK) == b""
        except TimeoutError:
            closed = False
        assert not closed, f"the service closed an idle connection within {IDLE_SECONDS:g}s"
        conn.sock.settimeout(5)
        assert _ping(conn) == 200  # the same connection, still usable
    finally:
        conn.close()


def _answering(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


async def test_a_served_app_keeps_an_idle_connection_open() -> None:
    port = free_port()
    server = await asyncio.create_subprocess_exec(sys.executable, "-c", _SERVE, str(port))
    try:
        await wait_until(lambda: _answering(port), timeout=30, message="the served app listening")
        await asyncio.to_thread(_idle_then_request, port)
    finally:
        server.terminate()
        await asyncio.wait_for(server.wait(), timeout=10)

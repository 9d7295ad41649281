"""Local SMTP sink for `make run`: catches every email and shows it on a web page.

    uv run python scripts/mailsink.py [--host 127.0.0.1] [--smtp-port 1025] [--http-port 8025]

SMTP (aiosmtpd) keeps the last 500 messages in memory. The web view (aiohttp):
  GET /               caught mail as HTML, newest first
  GET /api/messages   the same as JSON: [{id, received_at, from, to, subject, body}]
  DELETE /api/messages  forget everything
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import email
import email.policy
import html
import itertools
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from aiosmtpd.smtp import SMTP, Envelope, Session

MAX_MESSAGES = 500


class Sink:
    """aiosmtpd handler that keeps parsed messages in memory."""

    def __init__(self) -> None:
        self.messages: collections.deque[dict[str, Any]] = collections.deque(maxlen=MAX_MESSAGES)
        self._ids = itertools.count(1)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode()
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        part = msg.get_body(preferencelist=("plain", "html"))
        body = part.get_content().replace("\r\n", "\n") if part is not None else ""
        recipients = [str(r) for r in envelope.rcpt_tos]
        item: dict[str, Any] = {
            "id": next(self._ids),
            "received_at": datetime.now(UTC).isoformat(),
            "from": envelope.mail_from,
            "to": recipients,
            "subject": str(msg.get("Subject", "")),
            "body": body,
        }
        self.messages.appendleft(item)
        print(f"mail #{item['id']} to {', '.join(recipients)}: {item['subject']}", flush=True)
        return "250 Message accepted for delivery"


def web_app(sink: Sink) -> web.Application:
    async def index(_: web.Request) -> web.Response:
        rows = "".join(
            f"<tr><td>{m['id']}</td><td>{html.escape(m['received_at'])}</td>"
            f"<td>{html.escape(', '.join(m['to']))}</td><td>{html.escape(m['subject'])}</td>"
            f"<td><pre>{html.escape(m['body'])}</pre></td></tr>"
            for m in sink.messages
        )
        page = (
            "<!doctype html><meta charset=utf-8><meta http-equiv=refresh content=5>"
            "<title>FlowPilot mail sink</title><style>body{font-family:sans-serif}"
            "td{border-top:1px solid #ccc;vertical-align:top;padding:4px}pre{white-space:pre-wrap;margin:0}"
            "</style><h1>Caught mail</h1><p>" + str(len(sink.messages)) + " message(s); JSON at "
            "<a href=/api/messages>/api/messages</a></p><table><tr><th>#</th><th>received</th><th>to</th>"
            "<th>subject</th><th>body</th></tr>" + rows + "</table>"
        )
        return web.Response(text=page, content_type="text/html")

    async def messages(_: web.Request) -> web.Response:
        return web.json_response(list(sink.messages))

    async def clear(_: web.Request) -> web.Response:
        sink.messages.clear()
        return web.Response(status=204)

    app = web.Application()
    app.add_routes(
        [web.get("/", index), web.get("/api/messages", messages), web.delete("/api/messages", clear)]
    )
    return app


async def serve(host: str, smtp_port: int, http_port: int) -> None:
    sink = Sink()
    loop = asyncio.get_running_loop()
    smtp = await loop.create_server(lambda: SMTP(sink, hostname="mailsink"), host, smtp_port)
    runner = web.AppRunner(web_app(sink), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, http_port).start()
    print(f"mail sink: SMTP {host}:{smtp_port}, web view http://{host}:{http_port}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        smtp.close()
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--smtp-port", type=int, default=1025)
    parser.add_argument("--http-port", type=int, default=8025)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args.host, args.smtp_port, args.http_port))


if __name__ == "__main__":
    main()

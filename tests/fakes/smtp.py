"""A local SMTP sink (aiosmtpd) that parses what it receives; scriptable 4xx/5xx; stop and start on one port.

In-process: `smtp = FakeSmtp().start()`; point FLOWPILOT_SMTP_HOST/PORT at `smtp.host`/`smtp.port`.
Standalone: `python -m tests.fakes.smtp --port N`.
"""

from __future__ import annotations

import argparse
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.fakes._server import free_port, slow_down


@dataclass
class CaughtMail:
    """One accepted message, parsed."""

    mail_from: str
    rcpt_tos: list[str]
    subject: str
    to: str
    text: str
    html: str
    headers: dict[str, str]
    received_at: float = field(default_factory=time.time)
    peer: str = ""  # the client's address: one per SMTP connection


def parse(mail_from: str, rcpt_tos: list[str], raw: bytes) -> CaughtMail:
    """Parse a raw message into its subject and text/HTML parts."""
    message = message_from_bytes(raw, policy=policy.default)
    assert isinstance(message, EmailMessage)
    text_part = message.get_body(preferencelist=("plain",))
    html_part = message.get_body(preferencelist=("html",))
    return CaughtMail(
        mail_from=mail_from,
        rcpt_tos=list(rcpt_tos),
        subject=str(message.get("Subject", "")),
        to=str(message.get("To", "")),
        text=text_part.get_content() if text_part is not None else "",
        html=html_part.get_content() if html_part is not None else "",
        headers={k: str(v) for k, v in message.items()},
    )


class _Handler:
    def __init__(self, sink: FakeSmtp) -> None:
        self.sink = sink

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        reply = self.sink.refusal(address)
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        await slow_down(self.sink)
        with self.sink.lock:
            self.sink.attempts += 1
            if self.sink.fail_remaining > 0:
                self.sink.fail_remaining -= 1
                return self.sink.fail_reply
        if not self.sink.keep:
            with self.sink.lock:
                self.sink.accepted += 1
            return "250 Message accepted for delivery"
        raw = envelope.original_content or envelope.content or b""
        mail = parse(
            str(envelope.mail_from), list(envelope.rcpt_tos), raw if isinstance(raw, bytes) else raw.encode()
        )
        mail.peer = str(session.peer)
        with self.sink.lock:
            self.sink.messages.append(mail)
        await slow_down(self.sink, "answer_delay_seconds")
        return "250 Message accepted for delivery"


class FakeSmtp:
    """An SMTP server on 127.0.0.1:`port` (fixed across stop/start, to simulate "down, then back")."""

    def __init__(self, port: int | None = None, *, keep: bool = True) -> None:
        self.host = "127.0.0.1"
        # False: accept and count only (a benchmark's sink must not spend the box's CPU parsing).
        self.keep = keep
        self.accepted = 0
        self.port = port or free_port()
        self.messages: list[CaughtMail] = []
        self.rejected_recipients: dict[str, str] = {}
        self._refusals_left: dict[str, int] = {}
        self.attempts = 0
        self.fail_remaining = 0
        self.fail_reply = "451 4.3.0 Try again later"
        # Seconds DATA takes to answer (a slow server); setting it back to 0 releases waiting sessions.
        self.delay_seconds = 0.0
        # Seconds the answer to DATA takes once the message is kept: taken, but the client may not know.
        self.answer_delay_seconds = 0.0
        self.lock = threading.Lock()
        self._controller: Controller | None = None

    @property
    def running(self) -> bool:
        """Whether the server is accepting connections."""
        return self._controller is not None

    def start(self) -> FakeSmtp:
        """Listen (blocks until the server answers)."""
        if self._controller is None:
            controller = Controller(_Handler(self), hostname=self.host, port=self.port, ready_timeout=10)
            controller.start()
            self._controller = controller
        return self

    def stop(self) -> None:
        """Stop listening: connections are refused until `start()`."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def fail_next(self, count: int, reply: str = "451 4.3.0 Try again later") -> None:
        """Answer DATA of the next `count` messages with `reply` (a 4xx is transient, a 5xx is not)."""
        with self.lock:
            self.fail_remaining = count
            self.fail_reply = reply

    def reject_recipient(
        self, address: str, reply: str = "550 5.1.1 No such user", *, times: int | None = None
    ) -> None:
        """Refuse RCPT TO for one address (the next `times` times only, if given)."""
        with self.lock:
            self.rejected_recipients[address.lower()] = reply
            if times is not None:
                self._refusals_left[address.lower()] = times

    def refusal(self, address: str) -> str | None:
        """The reply refusing `address` now, if it is refused (counting down a limited refusal)."""
        key = address.lower()
        with self.lock:
            reply = self.rejected_recipients.get(key)
            if key in self._refusals_left:
                self._refusals_left[key] -= 1
                if self._refusals_left[key] <= 0:
                    del self._refusals_left[key], self.rejected_recipients[key]
            return reply

    def received(self) -> list[str]:
        """Every recipient's copy, as the recipient's address, sorted: what the mailboxes got (a
        message to three recipients counts three times)."""
        with self.lock:
            return sorted(r.lower() for m in self.messages for r in m.rcpt_tos)

    def to(self, address: str) -> list[CaughtMail]:
        """Messages received for one address."""
        with self.lock:
            return [m for m in self.messages if address.lower() in (r.lower() for r in m.rcpt_tos)]

    def snapshot(self) -> list[dict[str, Any]]:
        """Messages as plain dicts."""
        with self.lock:
            return [m.__dict__.copy() for m in self.messages]


def main() -> None:
    """`python -m tests.fakes.smtp --port N`: print each caught message's recipients and subject."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--count-only", action="store_true", help="accept and count, keep nothing")
    args = parser.parse_args()
    sink = FakeSmtp(args.port or None, keep=not args.count_only).start()
    print(f"SMTP sink listening on {sink.host}:{sink.port}", flush=True)
    seen = 0
    try:
        while True:
            time.sleep(0.5)
            with sink.lock:
                new, seen = sink.messages[seen:], len(sink.messages)
            for mail in new:
                print(f"{','.join(mail.rcpt_tos)}: {mail.subject}", flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        sink.stop()


if __name__ == "__main__":
    main()

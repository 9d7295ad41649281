"""Email with aiosmtplib: one multipart (text + HTML) message to the recipients of an escalation.

Its recipients share the message (one SMTP transaction, each named in `To`): a message each cost
twice the round trips and as many heads. A retry goes to its one recipient alone, as the same message
(one Message-ID per event), and a reminder threads under the escalation it is about."""

from __future__ import annotations

import uuid
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.charset import QP, Charset
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.policy import compat32
from email.utils import formataddr, formatdate, parseaddr

import aiosmtplib

from flowpilot_shared.broker.topology import QueueSpec
from flowpilot_shared.errors import PermanentError, TransientError
from flowpilot_shared.events import AnyEvent, HandoffEscalated, HandoffReescalated
from flowpilot_shared.models.notifications import DeliveryChannel
from flowpilot_shared.telemetry import external_call
from flowpilot_shared.unit_of_work import DriverUnitOfWork
from notifier.channels.base import Channel, Sent, Target
from notifier.channels.reads import recipients_still_eligible
from notifier.channels.render import render_email
from notifier.channels.smtp_pool import SmtpPool
from notifier.preferences.rules import email_skip_reason, is_urgent
from notifier.settings import NotifierSettings

# Readable bodies on the wire (quoted-printable rather than base64), any script allowed.
UTF8_QP = Charset("utf-8")
UTF8_QP.body_encoding = QP
# Rendered bodies of the last events (every recipient of an escalation gets the same text).
RENDERED_EVENTS = 64
CRLF = "\r\n"


def _one_line(value: str) -> str:
    return " ".join(value.split())


def _header_line(name: str, value: str) -> str:
    """`Name: value` and CRLF, folded, non-ASCII text RFC 2047-encoded."""
    charset = "us-ascii" if value.isascii() else "utf-8"
    return f"{name}: {Header(value, charset, header_name=name).encode(linesep=CRLF)}{CRLF}"


@dataclass(frozen=True)
class EncodedEscalation:
    """An escalation's email as every recipient gets it, but for their own headers."""

    subject_line: str
    # MIME-Version, Content-Type and the multipart body (text + HTML), CRLF line ends.
    mime: bytes


def thread_headers(event: HandoffEscalated | HandoffReescalated, domain: str) -> tuple[str, str]:
    """The email's Message-ID, and its header lines (Message-ID; a reminder's In-Reply-To and References).

    One Message-ID per event, not per send: a retry after a timeout the server had in fact accepted
    arrives as the same message, which mail clients show once. A reminder names the escalation's
    email as its parent, so it is threaded under the escalation it is about.
    """
    escalation = f"<escalation.{event.data.handoff_id}@{domain}>"
    if isinstance(event, HandoffEscalated):
        return escalation, f"Message-ID: {escalation}{CRLF}"
    reminder = f"<reminder.{event.id}@{domain}>"
    return (
        reminder,
        f"Message-ID: {reminder}{CRLF}In-Reply-To: {escalation}{CRLF}References: {escalation}{CRLF}",
    )


def encode_escalation(subject: str, text: str, html: str) -> EncodedEscalation:
    """Encode the rendered subject and bodies once: quoted-printable, readable on the wire."""
    body = MIMEMultipart("alternative")
    body.attach(MIMEText(text, "plain", UTF8_QP))  # type: ignore[arg-type]  # a Charset is accepted
    body.attach(MIMEText(html, "html", UTF8_QP))  # type: ignore[arg-type]
    return EncodedEscalation(
        subject_line=_header_line("Subject", _one_line(subject)),
        mime=body.as_bytes(policy=compat32.clone(linesep=CRLF)),
    )


def classify_smtp_error(exc: Exception) -> Exception:
    """SMTP 4xx, refused or dropped connections and timeouts are transient; 5xx replies are not."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        message = "; ".join(f"{r.code} {r.message}" for r in exc.recipients)
        if codes and all(400 <= code < 500 for code in codes):
            return TransientError(f"SMTP recipient refused: {message}")
        return PermanentError(f"SMTP recipient refused: {message}")
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        text = f"SMTP {exc.code} {exc.message}"
        if 400 <= exc.code < 500 or exc.code < 0:
            return TransientError(text)
        return PermanentError(text)
    # SMTPConnectError, SMTPServerDisconnected, SMTPTimeoutError, OSError: the server was not there.
    return TransientError(f"SMTP {type(exc).__name__}: {exc}")


class EmailChannel(Channel):
    """The escalation email to each recipient named by the event."""

    name = DeliveryChannel.email
    sends_together = True

    def __init__(self, settings: NotifierSettings, spec: QueueSpec) -> None:
        super().__init__(settings, spec)
        self._pool = SmtpPool(settings, size=settings.smtp_pool_size)
        self._rendered: OrderedDict[uuid.UUID, EncodedEscalation] = OrderedDict()
        name, self._sender = parseaddr(settings.smtp_from)
        # Message-IDs are in the sender's domain, as RFC 5322 advises (unique: they name the event).
        self._id_domain = self._sender.rpartition("@")[2] or "flowpilot.invalid"
        self._from_line = _header_line("From", formataddr((name, self._sender), charset="utf-8"))

    async def close(self) -> None:
        """Quit the pooled SMTP sessions."""
        await self._pool.close()

    async def targets(self, event: AnyEvent, uow: DriverUnitOfWork) -> list[Target]:
        """One target per recipient; people deactivated (or demoted) since the event are skipped, and so
        is whoever turned email off or is in their quiet hours (unless the handoff is urgent)."""
        if not isinstance(event, HandoffEscalated | HandoffReescalated):
            return []
        # Read now, not carried by the event: a deactivation or a preference changed applies to the
        # very next email.
        seniors = await recipients_still_eligible(
            uow, account_id=event.account_id, user_ids=[r.id for r in event.data.recipients]
        )
        now, urgent = datetime.now(UTC), is_urgent(event)
        targets: list[Target] = []
        seen: set[str] = set()
        for person in event.data.recipients:
            address = person.email.strip().lower()
            if address in seen:
                continue
            seen.add(address)
            if person.id not in seniors:
                targets.append(Target(recipient=address, skip_reason="recipient no longer active"))
            else:
                reason = email_skip_reason(seniors[person.id].preferences, now=now, urgent=urgent)
                targets.append(Target(recipient=address, params={"name": person.name}, skip_reason=reason))
        return targets

    def _encoded(self, event: HandoffEscalated | HandoffReescalated) -> EncodedEscalation:
        encoded = self._rendered.get(event.id)
        if encoded is None:
            encoded = self._rendered[event.id] = encode_escalation(*render_email(event, self.settings))
            if len(self._rendered) > RENDERED_EVENTS:
                self._rendered.popitem(last=False)
        return encoded

    def build_message(
        self,
        event: HandoffEscalated | HandoffReescalated,
        targets: Sequence[Target],
    ) -> tuple[str, bytes]:
        """Message-ID and wire bytes of the message to `targets` (one recipient, or every recipient
        of a fan-out sent together, each named in `To`).

        Only the recipients' headers are written per message: the subject and the MIME body
        (text + HTML) are encoded once per escalation, since flattening a message through the
        `email` package was the largest part of sending one.
        """
        encoded = self._encoded(event)
        message_id, thread = thread_headers(event, self._id_domain)
        to = ", ".join(
            formataddr((_one_line(str(t.params.get("name", ""))), t.recipient), charset="utf-8")
            for t in targets
        )
        head = (
            f"{self._from_line}{encoded.subject_line}{_header_line('To', to)}"
            f"Date: {formatdate(usegmt=True)}{CRLF}{thread}X-FlowPilot-Event-ID: {event.id}{CRLF}"
        )
        return message_id, head.encode("ascii") + encoded.mime

    async def send(
        self, event: AnyEvent, target: Target, *, delivery_id: uuid.UUID, attempt: int = 1
    ) -> Sent:
        """Send over a pooled SMTP session (STARTTLS and auth as configured, once per session)."""
        results = await self.send_together(event, [target], delivery_ids=[delivery_id])
        result = results[target.recipient]
        if isinstance(result, Exception):
            raise result
        return result

    async def send_together(
        self, event: AnyEvent, targets: Sequence[Target], *, delivery_ids: Sequence[uuid.UUID]
    ) -> dict[str, Sent | Exception]:
        """One SMTP transaction for every recipient (one envelope recipient each, all named in `To`):
        half the round trips of a message each. A recipient the server refuses fails alone (4xx
        transient, 5xx final); what fails the transaction fails every recipient."""
        if not isinstance(event, HandoffEscalated | HandoffReescalated):
            raise PermanentError(f"email does not handle {event.type}")
        message_id, message = self.build_message(event, targets)
        recipients = [t.recipient for t in targets]
        try:
            with external_call(
                "smtp sendmail",
                {"server.address": self.settings.smtp_host, "server.port": self.settings.smtp_port},
            ):
                async with self._pool.client() as client:
                    refused, _ = await client.sendmail(self._sender, recipients, message)
        except aiosmtplib.SMTPRecipientsRefused as exc:  # every recipient refused
            refused = {r.recipient: aiosmtplib.SMTPResponse(r.code, r.message) for r in exc.recipients}
        except (aiosmtplib.SMTPException, OSError) as exc:
            error = classify_smtp_error(exc)
            return dict.fromkeys(recipients, error)
        sent = Sent(external_id=message_id)
        return {
            address: sent if address not in refused else _refused(address, refused[address])
            for address in recipients
        }


def _refused(address: str, response: aiosmtplib.SMTPResponse) -> Exception:
    """One recipient the server refused, classified as if it had been the message's only one."""
    return classify_smtp_error(
        aiosmtplib.SMTPRecipientsRefused(
            [aiosmtplib.SMTPRecipientRefused(response.code, response.message, address)]
        )
    )

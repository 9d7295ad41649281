"""Email with aiosmtplib: one multipart (text + HTML) message per recipient of an escalation."""

from __future__ import annotations

import uuid
from collections import OrderedDict
from email.charset import QP, Charset
from email.header import Header
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import formataddr, make_msgid

import aiosmtplib
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from flowpilot_shared.broker.topology import QueueSpec
from flowpilot_shared.events import AnyEvent, HandoffEscalated
from flowpilot_shared.models.accounts import ENGINEER_OR_ADMIN, User
from flowpilot_shared.models.notifications import DeliveryChannel
from notifier.channels.base import Channel, PermanentSendError, Sent, Target, TransientSendError
from notifier.channels.render import render_escalation_email
from notifier.channels.smtp_pool import SmtpPool
from notifier.settings import NotifierSettings

# Readable bodies on the wire (quoted-printable rather than base64), any script allowed.
UTF8_QP = Charset("utf-8")
UTF8_QP.body_encoding = QP
# Rendered bodies of the last events (every recipient of an escalation gets the same text).
RENDERED_EVENTS = 64


def _one_line(value: str) -> str:
    return " ".join(value.split())


def _header(value: str) -> str | Header:
    """A header value; non-ASCII text RFC 2047-encoded (the classic MIME classes do not do it)."""
    return value if value.isascii() else Header(value, "utf-8")


def classify_smtp_error(exc: Exception) -> Exception:
    """SMTP 4xx, refused or dropped connections and timeouts are transient; 5xx replies are not."""
    if isinstance(exc, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in exc.recipients]
        message = "; ".join(f"{r.code} {r.message}" for r in exc.recipients)
        if codes and all(400 <= code < 500 for code in codes):
            return TransientSendError(f"SMTP recipient refused: {message}")
        return PermanentSendError(f"SMTP recipient refused: {message}")
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        text = f"SMTP {exc.code} {exc.message}"
        if 400 <= exc.code < 500 or exc.code < 0:
            return TransientSendError(text)
        return PermanentSendError(text)
    # SMTPConnectError, SMTPServerDisconnected, SMTPTimeoutError, OSError: the server was not there.
    return TransientSendError(f"SMTP {type(exc).__name__}: {exc}")


class EmailChannel(Channel):
    """The escalation email to each recipient named by the event."""

    name = DeliveryChannel.email

    def __init__(self, settings: NotifierSettings, spec: QueueSpec) -> None:
        super().__init__(settings, spec)
        self._pool = SmtpPool(settings, size=settings.smtp_pool_size)
        self._rendered: OrderedDict[uuid.UUID, tuple[str, str, str]] = OrderedDict()

    async def close(self) -> None:
        """Quit the pooled SMTP sessions."""
        await self._pool.close()

    async def targets(self, event: AnyEvent, session: AsyncSession) -> list[Target]:
        """One target per recipient; people deactivated (or demoted) since the escalation are skipped."""
        if not isinstance(event, HandoffEscalated):
            return []
        ids = [r.id for r in event.data.recipients]
        still_eligible = set(
            (
                await session.execute(
                    select(User.id).where(
                        User.id.in_(ids),
                        User.account_id == event.account_id,
                        User.is_active.is_(True),
                        User.deleted_at.is_(None),
                        User.role.in_(list(ENGINEER_OR_ADMIN)),
                    )
                )
            ).scalars()
        )
        targets: list[Target] = []
        seen: set[str] = set()
        for person in event.data.recipients:
            address = person.email.strip().lower()
            if address in seen:
                continue
            seen.add(address)
            if person.id not in still_eligible:
                targets.append(Target(recipient=address, skip_reason="recipient no longer active"))
            else:
                targets.append(Target(recipient=address, params={"name": person.name}))
        return targets

    def _render(self, event: HandoffEscalated) -> tuple[str, str, str]:
        rendered = self._rendered.get(event.id)
        if rendered is None:
            rendered = self._rendered[event.id] = render_escalation_email(event, self.settings)
            if len(self._rendered) > RENDERED_EVENTS:
                self._rendered.popitem(last=False)
        return rendered

    def build_message(self, event: HandoffEscalated, target: Target, delivery_id: uuid.UUID) -> MIMEMultipart:
        """The multipart message; its Message-ID is stable per ledger row (same across retries).

        Built with the classic MIME classes: the `EmailMessage` API parses every header through its
        registry and cost ~2 ms per message here, the largest part of sending one.
        """
        subject, text, html = self._render(event)
        message = MIMEMultipart("alternative")
        message["Subject"] = _header(_one_line(subject))  # type: ignore[assignment]  # Header is accepted
        message["From"] = self.settings.smtp_from
        message["To"] = formataddr(
            (_one_line(str(target.params.get("name", ""))), target.recipient), charset="utf-8"
        )
        message["Message-ID"] = make_msgid(idstring=delivery_id.hex, domain="flowpilot")
        message["X-FlowPilot-Event-ID"] = str(event.id)
        message.attach(MIMEText(text, "plain", UTF8_QP))  # type: ignore[arg-type]
        message.attach(MIMEText(html, "html", UTF8_QP))  # type: ignore[arg-type]
        return message

    async def send(self, event: AnyEvent, target: Target, *, delivery_id: uuid.UUID) -> Sent:
        """Send over a pooled SMTP session (STARTTLS and auth as configured, once per session)."""
        if not isinstance(event, HandoffEscalated):
            raise PermanentSendError(f"email does not handle {event.type}")
        message = self.build_message(event, target, delivery_id)
        try:
            async with self._pool.client() as client:
                await client.send_message(message, recipients=[target.recipient])
        except (aiosmtplib.SMTPException, OSError) as exc:
            raise classify_smtp_error(exc) from exc
        return Sent(external_id=str(message["Message-ID"]))

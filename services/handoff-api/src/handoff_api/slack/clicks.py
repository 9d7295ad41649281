"""Accepting a Slack click: the account from the button's handoff id, then its signing secret.

Slack signs every interaction request with the app's signing secret: `X-Slack-Signature` is
`v0=` + hex HMAC-SHA256 of `v0:{X-Slack-Request-Timestamp}:{raw body}`. Each account has its own
Slack app and secret, so the request is read only as far as the handoff id its button carries to
find whose secret verifies it; nothing in it is acted on before the signature (over the exact raw
bytes, compared in constant time by slack-sdk) and the 5-minute timestamp window hold.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from slack_sdk.signature import SignatureVerifier

from flowpilot_shared.db import Database
from flowpilot_shared.security.crypto import SecretBox

# Slack's replay window for a signed request.
MAX_AGE_SECONDS = 5 * 60
PICKUP_ACTION = "pickup"
# The handoff's account, session and that account's Slack integration, in one statement.
ROUTE = """
SELECT h.account_id, h.session_id, i.secret_ciphertext
FROM handoffs h JOIN integrations i ON i.account_id = h.account_id AND i.kind = 'slack'
WHERE h.id = $1
"""


@dataclass(frozen=True)
class Click:
    """A verified click on one of the escalation message's buttons."""

    account_id: uuid.UUID
    session_id: uuid.UUID
    handoff_id: uuid.UUID
    action_id: str
    slack_user_id: str
    response_url: str | None
    bot_token: str

    def __repr__(self) -> str:
        # The bot token and the response URL (a bearer of its own) stay out of logs.
        return (
            f"Click(handoff_id={self.handoff_id}, action_id={self.action_id!r}, user={self.slack_user_id!r})"
        )


@dataclass(frozen=True)
class _Unverified:
    """What the body claims, not yet to be trusted."""

    handoff_id: uuid.UUID
    action_id: str
    slack_user_id: str
    response_url: str | None


def fresh(timestamp: str | None, *, now: float | None = None) -> bool:
    """Whether Slack's request timestamp is a number within the 5-minute window."""
    if timestamp is None or not timestamp.isascii() or not timestamp.isdigit():
        return False
    return abs((time.time() if now is None else now) - int(timestamp)) <= MAX_AGE_SECONDS


def _first_action(body: bytes) -> _Unverified | None:
    """The first action of a `block_actions` payload whose value is a handoff id, or None."""
    try:
        fields = parse_qs(body.decode("utf-8"), max_num_fields=10)
        payload: Any = json.loads(fields["payload"][0])
        action = payload["actions"][0]
        return _Unverified(
            handoff_id=uuid.UUID(str(action["value"])),
            action_id=str(action["action_id"]),
            slack_user_id=str(payload["user"]["id"]),
            response_url=str(payload["response_url"]) if payload.get("response_url") else None,
        )
    except (UnicodeDecodeError, ValueError, KeyError, IndexError, TypeError, AttributeError):
        return None


def signature_valid(secret: str, body: bytes, timestamp: str, signature: str) -> bool:
    """Slack's v0 signature check (slack-sdk: HMAC-SHA256, constant-time compare, 5-minute window)."""
    try:
        return SignatureVerifier(secret).is_valid(body=body, timestamp=timestamp, signature=signature)
    except (ValueError, UnicodeDecodeError):
        return False


async def accept(
    *, db: Database, box: SecretBox, body: bytes, timestamp: str | None, signature: str | None
) -> Click | None:
    """The verified click, or None: unsigned, stale, forged, or naming no handoff with Slack set up.

    Every refusal looks the same to the caller (401), so it tells nothing about which handoffs exist.
    """
    if signature is None or timestamp is None or not fresh(timestamp):
        return None
    claimed = _first_action(body)
    if claimed is None:
        return None
    async with db.driver() as conn:
        row = await conn.fetchrow(ROUTE, claimed.handoff_id)
    if row is None:
        return None
    try:
        secrets = box.open(row["secret_ciphertext"])
    except Exception:  # sealed with a retired key: nothing can be verified
        return None
    secret = secrets.get("signing_secret")
    if not isinstance(secret, str) or not secret or not signature_valid(secret, body, timestamp, signature):
        return None
    return Click(
        account_id=row["account_id"],
        session_id=row["session_id"],
        handoff_id=claimed.handoff_id,
        action_id=claimed.action_id,
        slack_user_id=claimed.slack_user_id,
        response_url=claimed.response_url,
        bot_token=str(secrets.get("bot_token") or ""),
    )

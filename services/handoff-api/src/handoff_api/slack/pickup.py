"""After a click was answered: who clicked (users.info → email → a FlowPilot person), the claim through
the same code as `POST .../claim`, and an ephemeral reply to whoever did not get it, saying why.

The channel message itself is edited by the notifier when `handoff.claimed` arrives, as for a claim
made in the console.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import structlog
from prometheus_client import Counter
from slack_sdk.errors import SlackApiError
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_exponential

from flowpilot_shared.db import Database, database_unavailable
from flowpilot_shared.security.markup import slack_text
from flowpilot_shared.security.urls import UnsafeUrl
from flowpilot_shared.unit_of_work import OrmUnitOfWork
from flowpilot_shared.web.auth import ENGINEER_OR_ADMIN_REQUIRED, Caller
from handoff_api.errors import ApiError, Conflict, NotFound
from handoff_api.handoffs import claims
from handoff_api.settings import ApiSettings
from handoff_api.slack.calls import SlackCalls
from handoff_api.slack.clicks import Click

log = structlog.get_logger(__name__)

INTERACTIONS = Counter(
    "flowpilot_slack_interactions_total", "Slack Pick up clicks by what came of them", ["outcome"]
)
# The active person of the account with this email (emails are unique, compared lower-cased).
PERSON = """
SELECT id, account_id, email, name, role FROM users
WHERE account_id = $1 AND lower(email) = lower($2) AND is_active AND deleted_at IS NULL
"""


@dataclass(frozen=True)
class Outcome:
    """What came of a click: a metric label and what the clicker is told (None: nothing)."""

    label: str
    reply: str | None


def _link(settings: ApiSettings, session_id: uuid.UUID) -> str:
    return f"{settings.public_url.rstrip('/')}/pilot/{session_id}?pickup=true"


async def _slack_email(calls: SlackCalls, click: Click) -> str | None:
    """The clicker's email per Slack (`users.info`); None for a bot, a deleted or an unknown user."""
    known = calls.known_email(click.bot_token, click.slack_user_id)
    if known is not None:
        return known
    try:
        response = await calls.retried(
            lambda: calls.web(click.bot_token).users_info(user=click.slack_user_id)
        )
    except SlackApiError as exc:
        if exc.response.get("error") == "user_not_found":
            return None
        raise
    user = response.get("user")
    if not isinstance(user, dict) or user.get("deleted") or user.get("is_bot"):
        return None
    email = (user.get("profile") or {}).get("email")
    if not email:
        return None
    calls.remember_email(click.bot_token, click.slack_user_id, str(email))
    return str(email)


async def _person(db: Database, click: Click, email: str) -> Caller | None:
    async with db.driver() as conn:
        row = await conn.fetchrow(PERSON, click.account_id, email)
    if row is None:
        return None
    return Caller(
        id=row["id"], account_id=row["account_id"], email=row["email"], name=row["name"], role=row["role"]
    )


async def _claim(db: Database, settings: ApiSettings, click: Click, caller: Caller) -> Outcome:
    """Claim as `caller` (retried while the database is briefly unreachable)."""
    link = _link(settings, click.session_id)
    async for attempt in AsyncRetrying(
        stop=stop_after_attempt(settings.slack_call_attempts),
        wait=wait_exponential(multiplier=0.2, max=2.0),
        retry=retry_if_exception(database_unavailable),
        reraise=True,
    ):
        with attempt:
            try:
                async with OrmUnitOfWork(db.sessions) as uow:
                    await claims.claim(
                        uow=uow, caller=caller, session_id=click.session_id, handoff_id=click.handoff_id
                    )
            except Conflict as exc:
                holder = exc.extra.get("claimed_by") or {}
                if holder.get("id") == caller.id:
                    # The same click again (a replay or Slack's retry): the winner is not told they lost.
                    return Outcome(
                        "already_yours", f"You already picked this up. Open it in FlowPilot: {link}"
                    )
                return Outcome("lost", f"{slack_text(exc.detail)}.")
            except NotFound:
                return Outcome("gone", "This escalation no longer exists in FlowPilot.")
    return Outcome("claimed", f"You picked this up. Open it in FlowPilot: {link}")


async def decide(*, db: Database, settings: ApiSettings, calls: SlackCalls, click: Click) -> Outcome:
    """Identify the clicker, then claim for them or say why not."""
    link = _link(settings, click.session_id)
    try:
        email = await _slack_email(calls, click)
    except Exception as exc:
        log.warning("slack users.info failed", handoff_id=str(click.handoff_id), error=str(exc))
        return Outcome(
            "lookup_failed",
            f"FlowPilot could not check your Slack account just now, so nothing was picked up. Open {link} to pick it up.",
        )
    if email is None:
        return Outcome(
            "unknown_user",
            "FlowPilot could not tell who you are: your Slack profile shows no email address, so nothing was picked up.",
        )
    caller = await _person(db, click, email)
    if caller is None:
        return Outcome(
            "unknown_user",
            f"No active FlowPilot person of this team has your Slack email ({slack_text(email)}), so nothing "
            f"was picked up. Ask an admin to add you, or sign in at {link}.",
        )
    if not caller.is_engineer_or_admin:
        return Outcome(
            "not_allowed",
            f"{ENGINEER_OR_ADMIN_REQUIRED}: your FlowPilot role is {caller.role}, so you cannot pick up escalations.",
        )
    return await _claim(db, settings, click, caller)


async def complete(*, db: Database, settings: ApiSettings, calls: SlackCalls, click: Click) -> None:
    """The slow part of a click, run after Slack got its answer; every failure ends here, recorded."""
    async with calls.slots:
        await _complete(db=db, settings=settings, calls=calls, click=click)


async def _complete(*, db: Database, settings: ApiSettings, calls: SlackCalls, click: Click) -> None:
    try:
        outcome = await decide(db=db, settings=settings, calls=calls, click=click)
    except ApiError as exc:  # a refusal the claim code raised that has no better wording
        outcome = Outcome("refused", f"{slack_text(exc.detail)}.")
    except Exception:
        log.exception("slack pickup failed", handoff_id=str(click.handoff_id))
        outcome = Outcome(
            "failed",
            f"FlowPilot could not record your pickup just now. Open {_link(settings, click.session_id)} to pick it up.",
        )
    INTERACTIONS.labels(outcome.label).inc()
    log.info("slack pickup", handoff_id=str(click.handoff_id), outcome=outcome.label)
    if outcome.reply is None or not click.response_url:
        return
    try:
        await calls.reply(click.response_url, outcome.reply)
    except UnsafeUrl as exc:
        log.warning("slack response_url refused", handoff_id=str(click.handoff_id), error=str(exc))
        INTERACTIONS.labels("reply_refused").inc()
    except Exception as exc:
        log.warning("slack reply failed", handoff_id=str(click.handoff_id), error=str(exc))
        INTERACTIONS.labels("reply_failed").inc()

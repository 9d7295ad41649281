"""Configure, list (redacted) and remove an account's integrations; secrets are sealed at rest."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from flowpilot_shared.integrations import save_integration
from flowpilot_shared.models import Integration, IntegrationKind
from flowpilot_shared.security.crypto import SecretBox
from flowpilot_shared.security.urls import UnsafeUrl, resolve_and_check
from flowpilot_shared.unit_of_work import OrmUnitOfWork
from flowpilot_shared.web.auth import Caller
from handoff_api.errors import InvalidField, NotFound
from handoff_api.integrations.schemas import (
    OPTIONAL_CREDENTIALS,
    REQUIRED_CREDENTIALS,
    IntegrationOut,
    PsaIntegrationIn,
    SlackIntegrationIn,
    TeamsIntegrationIn,
)


async def _check_url(url: str, *, field: str, allow_loopback: bool) -> None:
    try:
        await resolve_and_check(url, allow_loopback=allow_loopback)
    except UnsafeUrl as exc:
        raise InvalidField(field, f"URL refused: {exc}") from exc
    except ValueError as exc:  # urlsplit on a malformed URL (bad port, brackets)
        raise InvalidField(field, "URL is malformed") from exc


def _check_credentials(body: PsaIntegrationIn) -> dict[str, str]:
    required = REQUIRED_CREDENTIALS[body.provider]
    allowed = required | OPTIONAL_CREDENTIALS.get(body.provider, frozenset())
    missing = sorted(required - body.credentials.keys())
    if missing:
        raise InvalidField("credentials", f"missing for {body.provider}: {', '.join(missing)}")
    unknown = sorted(body.credentials.keys() - allowed)
    if unknown:
        raise InvalidField("credentials", f"not used by {body.provider}: {', '.join(unknown)}")
    return dict(body.credentials)


async def _row(session: AsyncSession, caller: Caller, kind: IntegrationKind) -> Integration:
    row = (
        await session.execute(
            select(Integration).where(Integration.account_id == caller.account_id, Integration.kind == kind)
        )
    ).scalar_one_or_none()
    if row is None:
        raise NotFound("Integration not configured")
    return row


def redacted(row: Integration, box: SecretBox) -> IntegrationOut:
    """The view of an integration: config plus which secret fields are set."""
    kind = IntegrationKind(row.kind)
    try:
        keys = sorted(box.open(row.secret_ciphertext).keys())
    except Exception:  # sealed with a retired key: say nothing is set rather than fail
        keys = []
    return IntegrationOut(
        kind=kind,
        provider=row.provider,
        config=dict(row.config),
        configured={k: True for k in keys},
        updated_at=row.updated_at,
    )


async def _save(
    uow: OrmUnitOfWork,
    caller: Caller,
    box: SecretBox,
    kind: IntegrationKind,
    *,
    provider: str | None,
    config: dict[str, Any],
    secrets: dict[str, Any],
) -> IntegrationOut:
    await save_integration(
        uow.session,
        account_id=caller.account_id,
        kind=kind,
        provider=provider,
        config=config,
        secrets=secrets,
        box=box,
    )
    await uow.commit()
    row = await _row(uow.session, caller, kind)
    await uow.session.refresh(row)
    return redacted(row, box)


async def put_psa(
    *, uow: OrmUnitOfWork, caller: Caller, box: SecretBox, body: PsaIntegrationIn, allow_loopback: bool
) -> IntegrationOut:
    """Configure the account's PSA (provider, API root, credentials)."""
    credentials = _check_credentials(body)
    await _check_url(body.base_url, field="base_url", allow_loopback=allow_loopback)
    return await _save(
        uow,
        caller,
        box,
        IntegrationKind.psa,
        provider=body.provider,
        config={"base_url": body.base_url.rstrip("/")},
        secrets=credentials,
    )


async def put_slack(
    *, uow: OrmUnitOfWork, caller: Caller, box: SecretBox, body: SlackIntegrationIn
) -> IntegrationOut:
    """Configure the account's Slack channel (the bot token and the app's signing secret are secrets)."""
    secrets = {"bot_token": body.bot_token}
    if body.signing_secret is not None:
        secrets["signing_secret"] = body.signing_secret
    return await _save(
        uow,
        caller,
        box,
        IntegrationKind.slack,
        provider="slack",
        config={"channel_id": body.channel_id},
        secrets=secrets,
    )


async def put_teams(
    *, uow: OrmUnitOfWork, caller: Caller, box: SecretBox, body: TeamsIntegrationIn, allow_loopback: bool
) -> IntegrationOut:
    """Configure the account's Teams webhook."""
    await _check_url(body.webhook_url, field="webhook_url", allow_loopback=allow_loopback)
    return await _save(
        uow,
        caller,
        box,
        IntegrationKind.teams,
        provider="teams",
        config={},
        secrets={"webhook_url": body.webhook_url},
    )


async def list_integrations(*, session: AsyncSession, caller: Caller, box: SecretBox) -> list[IntegrationOut]:
    """The account's integrations, redacted."""
    rows = await session.execute(
        select(Integration).where(Integration.account_id == caller.account_id).order_by(Integration.kind)
    )
    return [redacted(r, box) for r in rows.scalars()]


async def remove(*, uow: OrmUnitOfWork, caller: Caller, kind: IntegrationKind) -> None:
    """Remove the account's integration of `kind`; 404 when there is none."""
    result = await uow.session.execute(
        delete(Integration)
        .where(Integration.account_id == caller.account_id, Integration.kind == kind)
        .returning(Integration.id)
    )
    if result.first() is None:
        raise NotFound("Integration not configured")
    await uow.commit()

"""`/integrations` (owner/admin): PUT psa|slack|teams, GET redacted, DELETE."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Response, status

from flowpilot_shared.models import IntegrationKind
from flowpilot_shared.web.auth import OwnerOrAdmin
from handoff_api.deps import Box, Settings, Uow, account_rate_limit
from handoff_api.integrations import service
from handoff_api.integrations.schemas import (
    IntegrationOut,
    PsaIntegrationIn,
    SlackIntegrationIn,
    TeamsIntegrationIn,
)

router = APIRouter(prefix="/integrations", tags=["integrations"], dependencies=[Depends(account_rate_limit)])


@router.put("/psa", response_model=IntegrationOut)
async def put_psa(
    body: PsaIntegrationIn, caller: OwnerOrAdmin, uow: Uow, box: Box, settings: Settings
) -> IntegrationOut:
    """Configure the PSA (ConnectWise, Autotask or HaloPSA)."""
    return await service.put_psa(
        uow=uow, caller=caller, box=box, body=body, allow_loopback=settings.allow_loopback_integrations
    )


@router.put("/slack", response_model=IntegrationOut)
async def put_slack(body: SlackIntegrationIn, caller: OwnerOrAdmin, uow: Uow, box: Box) -> IntegrationOut:
    """Configure Slack (bot token and channel)."""
    return await service.put_slack(uow=uow, caller=caller, box=box, body=body)


@router.put("/teams", response_model=IntegrationOut)
async def put_teams(
    body: TeamsIntegrationIn, caller: OwnerOrAdmin, uow: Uow, box: Box, settings: Settings
) -> IntegrationOut:
    """Configure Teams (Workflows webhook URL)."""
    return await service.put_teams(
        uow=uow, caller=caller, box=box, body=body, allow_loopback=settings.allow_loopback_integrations
    )


@router.get("", response_model=list[IntegrationOut])
async def list_integrations(caller: OwnerOrAdmin, uow: Uow, box: Box) -> list[IntegrationOut]:
    """The account's integrations, secrets redacted."""
    return await service.list_integrations(session=uow.session, caller=caller, box=box)


@router.delete(
    "/{kind}", status_code=status.HTTP_204_NO_CONTENT, response_class=Response, response_model=None
)
async def delete_integration(kind: IntegrationKind, caller: OwnerOrAdmin, uow: Uow) -> Response:
    """Remove an integration."""
    await service.remove(uow=uow, caller=caller, kind=kind)
    return Response(status_code=status.HTTP_204_NO_CONTENT)

"""Pushing documentation onto the session's PSA ticket: claim, call, record, announce."""

from __future__ import annotations

import asyncpg
import httpx
import structlog
from prometheus_client import Counter

from flowpilot_shared.broker.topology import PSA_SYNC_DOCUMENTATION
from flowpilot_shared.consumer import ALREADY_DONE, Consumer, HandlerContext
from flowpilot_shared.errors import PermanentError, TransientError
from flowpilot_shared.events import (
    AnyEvent,
    DocumentationGenerated,
    PsaNotePushed,
    PsaNotePushedData,
    PsaPushFailed,
    PsaPushFailedData,
)
from flowpilot_shared.integrations import LoadedIntegration, loaded_integration
from flowpilot_shared.models import IntegrationKind, PsaPush, PsaPushStatus
from flowpilot_shared.retry import backoff_seconds
from flowpilot_shared.security.crypto import SecretBox
from flowpilot_shared.security.urls import SharedGuardedClient
from flowpilot_shared.service import ServiceRuntime
from psa_sync.providers import PROVIDERS, PsaProvider, TokenCache
from psa_sync.pushes.notes import NOTE_TEXT_LIMIT, compose_note, earlier_from, note_marker, place_note
from psa_sync.pushes.rows import Claim, push_row
from psa_sync.pushes.sql import (
    CLAIM_SQL,
    INTEGRATION_AND_LOCK_SQL,
    PUSH_COLUMNS,
    RECORD_NO_PSA_SQL,
    SETTLE_SQL,
)
from psa_sync.settings import PsaSyncSettings

log = structlog.get_logger(__name__)

PUSHES = Counter("flowpilot_psa_pushes_total", "PSA pushes by provider and outcome", ["provider", "outcome"])
# The note text lives in notes.py; named here too for the callers that compose one.
__all__ = ["NOTE_TEXT_LIMIT", "Claim", "PushService", "compose_note", "note_marker"]


def pushes_consumer(runtime: ServiceRuntime, pushes: PushService) -> Consumer:
    """The `documentation.generated` consumer: `pushes.handle` in a transaction of its own.

    The push row (one per documentation, claimed before the call, settled after) is the tracking
    record: a redelivery finds it settled, so no inbox row is written beside it.
    """
    return Consumer(
        name="psa-sync",
        spec=PSA_SYNC_DOCUMENTATION,
        handler=pushes.handle,
        db=runtime.db,
        settings=pushes.settings,
        inbox=False,
        # The handler decides when a push has failed; the runtime only keeps slack for crashes.
        max_attempts=pushes.settings.psa_max_attempts + 2,
        closes=(pushes,),
    )


class PushService:
    """Handles `documentation.generated`: one note per documentation, whatever the deliveries."""

    def __init__(self, settings: PsaSyncSettings) -> None:
        self.settings = settings
        self._box = SecretBox(settings.secret_key)
        self.tokens = TokenCache(margin_seconds=settings.psa_token_margin_seconds)
        self._http = SharedGuardedClient(
            allow_loopback=settings.allow_loopback_integrations, timeout=settings.psa_timeout_seconds
        )

    def client(self) -> httpx.AsyncClient:
        """The process's guarded HTTP client for PSA calls (created on first use)."""
        return self._http.get()

    async def close(self) -> None:
        """Close the HTTP client."""
        await self._http.aclose()

    async def handle(self, event: AnyEvent, ctx: HandlerContext) -> object:
        """Consumer handler for `documentation.generated`; ALREADY_DONE when its push was settled."""
        if not isinstance(event, DocumentationGenerated) or event.session_id is None:
            raise PermanentError(f"psa-sync cannot handle {event.type} without a session")
        data = event.data
        conn = await ctx.uow.connection()
        row = await conn.fetchrow(
            INTEGRATION_AND_LOCK_SQL,
            event.account_id,
            IntegrationKind.psa.value,
            str(data.handoff_id or data.documentation_id),
        )
        integration = loaded_integration(row, kind=IntegrationKind.psa, box=self._box)
        ticket = (data.psa_ticket_id or "").strip() or None
        provider_name = integration.provider if integration else None
        if integration is None or ticket is None:
            return await self._record_no_psa(ctx, event, provider_name, ticket)
        if not row["locked"]:
            raise TransientError("another worker is pushing this documentation", retry_after=1.0)
        claim = await self._claim(ctx, event, provider_name, ticket)
        if claim is None:
            return ALREADY_DONE
        try:
            provider = self._provider(integration)
            note_id = await place_note(
                provider,
                ticket,
                data.content_markdown,
                marker=claim.marker,
                version=data.version,
                earlier=claim.earlier,
                ambiguous=claim.ambiguous,
            )
        except TransientError as exc:
            if claim.attempt >= self.settings.psa_max_attempts:
                await self._record_failed(ctx, event, claim, f"gave up after {claim.attempt} attempts: {exc}")
                return None
            await self._record_retrying(ctx, claim, str(exc))
            PUSHES.labels(provider_name or "unknown", "retrying").inc()
            raise TransientError(str(exc), retry_after=self._delay(claim.attempt, exc.retry_after)) from None
        except PermanentError as exc:
            await self._record_failed(ctx, event, claim, str(exc))
            return None
        await self._record_pushed(ctx, event, claim, note_id)
        return None

    def _provider(self, integration: LoadedIntegration) -> PsaProvider:
        cls = PROVIDERS.get(integration.provider or "")
        if cls is None:
            raise PermanentError(f"unsupported PSA provider {integration.provider!r}")
        return cls(
            base_url=str(integration.config.get("base_url") or ""),
            credentials=integration.secrets,
            client=self.client(),
            tokens=self.tokens,
        )

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        """Exponential backoff for the next attempt, never shorter than the PSA's Retry-After (capped)."""
        s = self.settings
        return backoff_seconds(
            attempt,
            s.psa_retry_base_seconds,
            s.psa_retry_max_seconds,
            retry_after,
            retry_after_cap=s.psa_retry_after_max_seconds,
        )

    async def _claim(
        self, ctx: HandlerContext, event: DocumentationGenerated, provider: str | None, ticket: str
    ) -> Claim | None:
        """Create or advance the push row, committed before the PSA is called, and read what other
        versions of the documentation left on the ticket (`CLAIM_SQL`).

        One driver-level statement without a transaction block: one round trip, little CPU.
        """
        data = event.data
        values = push_row(event, provider, ticket, PsaPushStatus.pending, attempts=1)
        async with ctx.db.driver() as conn:
            row = await conn.fetchrow(CLAIM_SQL, *(values[column] for column in PUSH_COLUMNS))
        if row is None:
            log.info("psa push already settled", documentation_id=str(data.documentation_id))
            return None
        attempts = int(row["attempts"])
        return Claim(
            push_id=row["id"],
            marker=row["marker"],
            attempt=attempts,
            ambiguous=attempts > 1,
            provider=provider,
            ticket=ticket,
            earlier=earlier_from(row),
        )

    async def _record_retrying(self, ctx: HandlerContext, claim: Claim, error: str) -> None:
        # Its own transaction: the inbox transaction is rolled back for the retry.
        async with ctx.new_uow() as uow:
            row = await uow.session.get(PsaPush, claim.push_id)
            if row is not None and row.status == PsaPushStatus.pending:
                row.last_error = error
                await uow.commit()
        log.warning(
            "psa push will be retried", push_id=str(claim.push_id), attempt=claim.attempt, error=error
        )

    async def _record_no_psa(
        self, ctx: HandlerContext, event: DocumentationGenerated, provider: str | None, ticket: str | None
    ) -> object:
        """The push row saying there was nothing to push; ALREADY_DONE when an earlier delivery made it."""
        data = event.data
        values = push_row(event, provider, ticket, PsaPushStatus.no_psa, attempts=0)
        conn = await ctx.uow.connection()
        if not await conn.fetchval(RECORD_NO_PSA_SQL, *(values[column] for column in PUSH_COLUMNS)):
            return ALREADY_DONE
        PUSHES.labels(provider or "none", "no_psa").inc()
        log.info("no psa push", documentation_id=str(data.documentation_id), has_ticket=ticket is not None)
        return None

    @staticmethod
    async def _settle(
        ctx: HandlerContext,
        claim: Claim,
        status: PsaPushStatus,
        announce: PsaNotePushed | PsaPushFailed,
        *,
        error: str | None,
        note_id: str | None = None,
    ) -> asyncpg.Record:
        """Give the claimed push row its final status, error and note, and write the event announcing
        it, in one statement of the inbox transaction."""
        conn = await ctx.uow.connection()
        row = await conn.fetchrow(
            SETTLE_SQL, claim.push_id, status.value, error, note_id, *ctx.uow.outbox_args(announce)
        )
        assert row is not None, "the push row was claimed before the call"
        return row

    async def _record_pushed(
        self, ctx: HandlerContext, event: DocumentationGenerated, claim: Claim, note_id: str
    ) -> None:
        pushed = PsaNotePushedData(
            **claim.ids(event),
            provider=claim.provider or "",
            ticket_id=claim.ticket,
            external_note_id=note_id,
        )
        announce = PsaNotePushed(account_id=event.account_id, session_id=event.session_id, data=pushed)
        row = await self._settle(ctx, claim, PsaPushStatus.pushed, announce, error=None, note_id=note_id)
        PUSHES.labels(row["provider"] or "unknown", "pushed").inc()
        log.info(
            "psa note pushed", push_id=str(row["id"]), provider=row["provider"], attempts=row["attempts"]
        )

    async def _record_failed(
        self, ctx: HandlerContext, event: DocumentationGenerated, claim: Claim, error: str
    ) -> None:
        failed = PsaPushFailedData(
            **claim.ids(event),
            provider=claim.provider,
            ticket_id=claim.ticket,
            error=error,
            session_title=event.data.session_title,
            escalator=event.data.escalator,
        )
        announce = PsaPushFailed(account_id=event.account_id, session_id=event.session_id, data=failed)
        row = await self._settle(ctx, claim, PsaPushStatus.failed, announce, error=error)
        PUSHES.labels(row["provider"] or "unknown", "failed").inc()
        log.warning("psa push failed", push_id=str(row["id"]), provider=row["provider"], error=error)

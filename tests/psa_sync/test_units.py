"""Pieces of psa-sync that need no infrastructure: Retry-After, backoff, note text, credential hygiene."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from flowpilot_shared.errors import PermanentError
from flowpilot_shared.retry import parse_retry_after
from psa_sync.providers import ConnectWiseProvider, TokenCache
from psa_sync.pushes.service import NOTE_TEXT_LIMIT, PushService, compose_note, note_marker
from psa_sync.settings import PsaSyncSettings


def test_retry_after_seconds_date_and_garbage():
    now = datetime(2030, 1, 1, tzinfo=UTC)
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(format_datetime(now + timedelta(seconds=30), usegmt=True), now=now) == 30.0
    assert parse_retry_after(format_datetime(now - timedelta(seconds=30), usegmt=True), now=now) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_backoff_is_exponential_capped_and_honours_retry_after_up_to_a_limit():
    service = PushService(
        PsaSyncSettings(psa_retry_base_seconds=1, psa_retry_max_seconds=8, psa_retry_after_max_seconds=60)
    )
    assert [service._delay(n, None) for n in (1, 2, 3, 4, 5)] == [1, 2, 4, 8, 8]
    assert service._delay(1, 20) == 20
    assert service._delay(1, 3600) == 60


def test_note_keeps_marker_when_documentation_is_long():
    marker = note_marker(uuid.uuid4())
    text = compose_note("x" * 100_000, marker)
    assert len(text) <= NOTE_TEXT_LIMIT and text.endswith(marker)
    assert compose_note("short", marker) == f"short\n\n{marker}"


async def test_missing_credentials_are_named_never_shown():
    async with httpx.AsyncClient() as client:
        with pytest.raises(PermanentError) as err:
            ConnectWiseProvider(
                base_url="https://na.myconnectwise.net/v4_6_release/apis/3.0",
                credentials={"company_id": "acme", "public_key": "PUBLIC-123", "private_key": ""},
                client=client,
                tokens=TokenCache(),
            )
        assert "private_key" in str(err.value) and "client_id" in str(err.value)
        assert "PUBLIC-123" not in str(err.value)
        provider = ConnectWiseProvider(
            base_url="https://na.myconnectwise.net/v4_6_release/apis/3.0",
            credentials={
                "company_id": "acme",
                "public_key": "PUB",
                "private_key": "TOPSECRET",
                "client_id": "c",
            },
            client=client,
            tokens=TokenCache(),
        )
        assert "TOPSECRET" not in repr(provider)

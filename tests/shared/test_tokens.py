"""Access tokens: a verified token is remembered, and what it was verified for still holds on reuse."""

from __future__ import annotations

import time
import uuid

import pytest

from flowpilot_shared.security import tokens
from flowpilot_shared.security.tokens import InvalidToken, issue_token, read_token

SECRET = "test-secret-" + uuid.uuid4().hex


def _token(ttl_seconds: int = 600) -> tuple[str, uuid.UUID, uuid.UUID]:
    user, account = uuid.uuid4(), uuid.uuid4()
    return (
        issue_token(user_id=user, account_id=account, secret=SECRET, ttl_seconds=ttl_seconds),
        user,
        account,
    )


def test_reused_token_is_verified_once_and_names_its_user() -> None:
    token, user, account = _token()
    hits = tokens._verified.cache_info().hits
    for _ in range(3):
        claims = read_token(token, secret=SECRET)
        assert (claims.user_id, claims.account_id) == (user, account)
    assert tokens._verified.cache_info().hits == hits + 2


def test_remembered_token_is_refused_once_it_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    token, _, _ = _token(ttl_seconds=60)
    read_token(token, secret=SECRET)
    monkeypatch.setattr(tokens.time, "time", lambda: time.time_ns() / 1e9 + 61)
    with pytest.raises(InvalidToken, match="expired"):
        read_token(token, secret=SECRET)


def test_remembered_token_does_not_vouch_for_another_secret_or_a_changed_signature() -> None:
    token, _, _ = _token()
    read_token(token, secret=SECRET)
    with pytest.raises(InvalidToken):
        read_token(token, secret="another-secret-" + uuid.uuid4().hex)
    header, payload, signature = token.split(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    with pytest.raises(InvalidToken):
        read_token(f"{header}.{payload}.{flipped}", secret=SECRET)


def test_failures_are_not_remembered() -> None:
    expired, _, _ = _token(ttl_seconds=-1)
    before = tokens._verified.cache_info()
    for _ in range(2):
        with pytest.raises(InvalidToken):
            read_token(expired, secret=SECRET)
    after = tokens._verified.cache_info()
    assert (after.currsize, after.hits) == (before.currsize, before.hits)

"""JWT access tokens (PyJWT, HS256)."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import jwt

ALGORITHM = "HS256"
ISSUER = "flowpilot"
# Tokens whose signature was verified, per process. A client sends the same token with every
# request and PyJWT's verification is a visible share of the handoff API's CPU; a hit still checks expiry.
VERIFIED_TOKENS_CACHED = 4096


@dataclass(frozen=True)
class TokenClaims:
    """What an access token asserts."""

    user_id: uuid.UUID
    account_id: uuid.UUID


class InvalidToken(Exception):
    """The token is missing, expired, tampered with or signed with another secret."""


def issue_token(*, user_id: uuid.UUID, account_id: uuid.UUID, secret: str, ttl_seconds: int) -> str:
    """A signed access token for a user."""
    now = datetime.now(UTC)
    claims = {
        "sub": str(user_id),
        "acc": str(account_id),
        "iss": ISSUER,
        "iat": now,
        "exp": now + timedelta(seconds=ttl_seconds),
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def read_token(token: str, *, secret: str) -> TokenClaims:
    """Verify signature, expiry and issuer; raise `InvalidToken` otherwise."""
    claims, expires_at = _verified(token, secret)
    if expires_at <= time.time():
        raise InvalidToken("Signature has expired")
    return claims


@lru_cache(maxsize=VERIFIED_TOKENS_CACHED)
def _verified(token: str, secret: str) -> tuple[TokenClaims, float]:
    """The claims and expiry of a token whose signature, issuer and expiry check out now.

    Cached by the exact token and secret (an exception is never cached): any other byte, a forged
    signature or another secret is verified afresh.
    """
    try:
        claims = jwt.decode(
            token, secret, algorithms=[ALGORITHM], issuer=ISSUER, options={"require": ["exp", "sub", "acc"]}
        )
        user = TokenClaims(user_id=uuid.UUID(claims["sub"]), account_id=uuid.UUID(claims["acc"]))
        return user, float(claims["exp"])
    except (jwt.PyJWTError, ValueError, KeyError, TypeError) as exc:
        raise InvalidToken(str(exc)) from exc

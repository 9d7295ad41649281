"""JWT access tokens (PyJWT, HS256)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

ALGORITHM = "HS256"
ISSUER = "flowpilot"


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
    try:
        claims = jwt.decode(
            token, secret, algorithms=[ALGORITHM], issuer=ISSUER, options={"require": ["exp", "sub", "acc"]}
        )
        return TokenClaims(user_id=uuid.UUID(claims["sub"]), account_id=uuid.UUID(claims["acc"]))
    except (jwt.PyJWTError, ValueError, KeyError) as exc:
        raise InvalidToken(str(exc)) from exc

"""Field types shared by the request schemas: bounded, storable strings."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, StringConstraints


def _storable(value: str) -> str:
    # PostgreSQL text cannot hold NUL, and lone surrogates cannot be encoded: refuse them as input.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("must be valid unicode") from exc
    return value


Name = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), AfterValidator(_storable)
]
Title = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300), AfterValidator(_storable)
]
LongText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000), AfterValidator(_storable)
]
Reason = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5_000), AfterValidator(_storable)
]
ShortText = Annotated[str, StringConstraints(max_length=200), AfterValidator(_storable)]
TicketId = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100), AfterValidator(_storable)
]
Secret = Annotated[str, StringConstraints(min_length=1, max_length=2_000), AfterValidator(_storable)]
Url = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2_000), AfterValidator(_storable)
]
Password = Annotated[str, StringConstraints(min_length=8, max_length=256), AfterValidator(_storable)]
LoginPassword = Annotated[str, StringConstraints(min_length=1, max_length=256), AfterValidator(_storable)]


def _email(value: str) -> str:
    if len(value) > 320:
        raise ValueError("must be at most 320 characters")
    return value.lower()


# Emails are compared and stored lower-cased (the unique index is on lower(email)).
Email = Annotated[EmailStr, AfterValidator(_email)]


class Request(BaseModel):
    """Base of request bodies (unknown fields are ignored, as clients of the contract expect)."""

    model_config = ConfigDict(extra="ignore")

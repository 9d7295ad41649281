"""A PSA's error answer cut down to what is kept and shown (a push's `last_error`, the escalator's bell
row): a few hundred characters of its own words, markup stripped, whitespace collapsed, and nothing
of the credentials that were sent, should the PSA echo them back (whole HTML error pages often do)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from html.parser import HTMLParser
from urllib.parse import quote

import httpx

EXCERPT_LIMIT = 300
MASK = "[REDACTED]"
# Request headers whose values are credentials (ConnectWise, Autotask, HaloPSA).
SECRET_HEADERS = ("authorization", "secret", "apiintegrationcode", "clientid", "username")
# JSON fields that hold an API's own error words, most telling first.
MESSAGE_FIELDS = ("message", "error_description", "errors", "error", "title", "detail")
# Shorter values (an id like "1") would mask ordinary words.
MIN_SECRET_LENGTH = 4


class _TextOnly(HTMLParser):
    """The text of an HTML page, without its scripts and styles."""

    SKIPPED = frozenset({"script", "style", "noscript", "template"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIPPED:
            self._skipping += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIPPED and self._skipping:
            self._skipping -= 1

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            self.parts.append(data)


def _strip_markup(text: str) -> str:
    parser = _TextOnly()
    parser.feed(text)
    parser.close()
    return " ".join(parser.parts)


def _own_words(response: httpx.Response) -> str:
    """The API's error message when it answered JSON, else the body as text."""
    try:
        body = response.json()
    except ValueError:
        return response.text
    if isinstance(body, dict):
        for key in MESSAGE_FIELDS:
            value = body.get(key)
            if value:
                return "; ".join(map(str, value)) if isinstance(value, list) else str(value)
    return json.dumps(body, ensure_ascii=False)


def sent_secrets(request: httpx.Request | None, credentials: Iterable[object]) -> set[str]:
    """What must never come back out: the credentials, and the credential headers as sent."""
    values = {str(value).strip() for value in credentials if value is not None}
    if request is not None:
        for name in SECRET_HEADERS:
            header = request.headers.get(name)
            if header:
                values.add(header)
                values.add(header.partition(" ")[2])  # the token of "Basic <...>" / "Bearer <...>"
    values |= {quote(value, safe="") for value in values}
    return {value for value in values if len(value) >= MIN_SECRET_LENGTH}


def _request_of(response: httpx.Response) -> httpx.Request | None:
    try:
        return response.request
    except RuntimeError:  # a response built without a request (tests)
        return None


def error_excerpt(response: httpx.Response, *, credentials: Iterable[object]) -> str:
    """The response's error words: markup stripped, whitespace collapsed, what was sent of the
    `credentials` masked, a few hundred characters at most."""
    secrets = sent_secrets(_request_of(response), credentials)
    text = _own_words(response)
    if "<" in text and ">" in text:
        text = _strip_markup(text)
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, MASK)
    text = " ".join(text.split())
    return text if len(text) <= EXCERPT_LIMIT else text[: EXCERPT_LIMIT - 1].rstrip() + "…"

"""User text inside chat messages (any service that writes to Slack)."""

from __future__ import annotations


def slack_escape(text: str) -> str:
    """Escape text for Slack (`&`, `<`, `>` are control characters there, whatever the formatting)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

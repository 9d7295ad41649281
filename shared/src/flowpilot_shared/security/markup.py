"""User text placed into messages others render (Slack, Teams cards, PSA ticket notes), shown as typed.

A session title, a reason or a step is text, never markup: `[Open ticket](https://evil.example)`
must not become a disguised link, `<img src=x onerror=...>` not a tag in a PSA that renders HTML,
`# Heading` or `1. item` not a block. Apply `markdown_text` to each piece of user text where it
enters the message, not to the message: the message's own markup stays markup.
"""

from __future__ import annotations

import re

# An entity the user typed (`&lt;`) stays those characters instead of turning into one.
_ENTITY = re.compile(r"&(?=#?[A-Za-z0-9]+;)")
# Characters that make inline markup: emphasis, code, links and images, strikethrough. Angle
# brackets become entities rather than backslash escapes: a PSA that renders the note as HTML
# ignores backslashes, and Teams reads `<at>` as a mention.
_INLINE = re.compile(r"[\\`*_\[\]~]")
# What starts a block at the beginning of a line: headings, lists, setext underlines, fences.
_LINE_START = re.compile(r"^([ \t]*)(#|-|\+|=|\d{1,9}(?=[.)]))", re.MULTILINE)


def _block(match: re.Match[str]) -> str:
    indent, marker = match.group(1), match.group(2)
    if marker[0].isdigit():
        return f"{indent}{marker}\\"  # "1." -> "1\." (the escape goes before the dot)
    return f"{indent}\\{marker}"


def markdown_text(text: str) -> str:
    """`text` escaped so a CommonMark (or Adaptive Card, or HTML) renderer shows it literally."""
    text = _ENTITY.sub("&amp;", text)
    text = text.replace("<", "&lt;").replace(">", "&gt;")
    text = _INLINE.sub(lambda m: "\\" + m.group(0), text)
    return _LINE_START.sub(_block, text)


def slack_text(text: str) -> str:
    """`text` escaped for Slack: `&`, `<`, `>` are its control characters (`<!channel>`, `<url|label>`)
    in every text field, mrkdwn or plain, and Slack decodes the three entities back for display."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

"""Masks secrets in free text before it goes to the model or into documentation.

Patterns run most specific first (PEM blocks, URLs with credentials, vendor token shapes), then the
generic `key=value` / `key: value` forms. Values are replaced, labels are kept, so the documentation
still says *that* a password was set, never *what* it was.

Each rule names words without which it cannot match (`hints`) and runs only on text holding one of
them: most text holds none, and fifteen regular expressions over every step and then the whole
document were a sixth of docgen's CPU. Hints are looked for in a lower-cased copy that also folds
what a case-insensitive pattern lets match an ASCII letter (`folded`), so no rule that would have
matched is skipped.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MASK = "[REDACTED]"

_Replacement = str | Callable[[re.Match[str]], str]


@dataclass(frozen=True)
class _Rule:
    name: str
    pattern: re.Pattern[str]
    replacement: _Replacement
    # Lower-case words, one of which every match contains.
    hints: tuple[str, ...]


# What `str.lower()` leaves that a case-insensitive pattern still matches to an ASCII letter: the
# dotless i and the long s. The dotted capital I lowers to "i" and a combining dot, which goes.
_FOLD = str.maketrans({"\u0131": "i", "\u017f": "s", "\u0307": None})


def folded(text: str) -> str:
    """`text` as the hints are looked for in it."""
    return text.lower().translate(_FOLD)


def _keep_group1(match: re.Match[str]) -> str:
    return f"{match.group(1)}{MASK}"


# A value: quoted, or a run up to whitespace / a separator used by connection strings.
_VALUE = r"""(?:"[^"\n]*"|'[^'\n]*'|[^\s;,'"]+)"""
_SECRET_KEYS = (
    r"password|passwd|passphrase|pwd|secret|client[_-]?secret|api[_-]?key|apikey|x-api-key"
    r"|access[_-]?key|secret[_-]?key|access[_-]?token|auth[_-]?token|refresh[_-]?token|token"
    r"|private[_-]?key|shared[_-]?secret|sharedaccesskey|accountkey"
)

# Every key above contains one of these; every GitHub token starts with one of these.
_SECRET_KEY_WORDS = ("pass", "pwd", "secret", "key", "token")
_GITHUB = ("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_")

_RULES: tuple[_Rule, ...] = (
    _Rule(
        "private_key",
        re.compile(
            r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----.*?(?:-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|\Z)",
            re.DOTALL,
        ),
        f"{MASK} private key",
        ("private key",),
    ),
    # scheme://user:password@host: keep the user and host, drop the password.
    _Rule(
        "url_credentials",
        re.compile(r"\b([a-z][a-z0-9+.\-]*://[^\s:/@]+:)[^\s@/]+(?=@)", re.IGNORECASE),
        _keep_group1,
        ("://",),
    ),
    _Rule(
        "jwt", re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}"), MASK, ("eyj",)
    ),
    _Rule(
        "authorization_header",
        re.compile(r"\b((?:Bearer|Basic|Token)\s+)[A-Za-z0-9\-._~+/]{16,}=*", re.IGNORECASE),
        _keep_group1,
        ("bearer", "basic", "token"),
    ),
    _Rule(
        "aws_access_key",
        re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA)[0-9A-Z]{16}\b"),
        MASK,
        ("akia", "asia", "agpa", "aida", "aroa"),
    ),
    _Rule(
        "aws_secret_key",
        re.compile(
            r"(aws[\w\- ]{0,20}?secret[\w\- ]{0,20}?(?:\s*[:=]\s*|\s+(?:is\s+)?)[\"']?)[A-Za-z0-9/+]{40}\b",
            re.IGNORECASE,
        ),
        _keep_group1,
        ("aws",),
    ),
    _Rule(
        "github_token",
        re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,})"),
        MASK,
        _GITHUB,
    ),
    _Rule("slack_token", re.compile(r"\bxox[abprse]-[A-Za-z0-9\-]{10,}"), MASK, ("xox",)),
    _Rule("anthropic_or_openai_key", re.compile(r"\bsk-(?:ant-|proj-)?[A-Za-z0-9_\-]{20,}"), MASK, ("sk-",)),
    _Rule(
        "stripe_key", re.compile(r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}"), MASK, ("_live_", "_test_")
    ),
    _Rule("google_api_key", re.compile(r"\bAIza[0-9A-Za-z_\-]{35,}"), MASK, ("aiza",)),
    _Rule(
        "sas_signature", re.compile(r"\b(sig=)[A-Za-z0-9%+/=]{16,}", re.IGNORECASE), _keep_group1, ("sig=",)
    ),
    # PowerShell: ConvertTo-SecureString "P@ss" -AsPlainText
    _Rule(
        "secure_string",
        re.compile(r"(ConvertTo-SecureString\s+(?:-String\s+)?)(\"[^\"\n]*\"|'[^'\n]*')", re.IGNORECASE),
        _keep_group1,
        ("convertto-securestring",),
    ),
    # key=value, key: value, "key": "value" (ADO `Password=...;`, Azure `AccountKey=...;`, env files, JSON).
    _Rule(
        "assignment",
        re.compile(
            rf"(\b(?:{_SECRET_KEYS})\b[\"']?\s*(?::|=|=>)\s*)(?!{re.escape(MASK)}){_VALUE}",
            re.IGNORECASE,
        ),
        _keep_group1,
        _SECRET_KEY_WORDS,
    ),
    # Prose: "temp password is Welcome2024!" -- only values that look like a secret (a digit or symbol).
    _Rule(
        "password_in_prose",
        re.compile(
            r"(\b(?:password|passwd|passphrase|pwd)\s+(?:is|was|set to|changed to|reset to|to)\s+)"
            r"(?=\S*[\d!@#$%^&*?])(?!\[REDACTED)[^\s,;]+",
            re.IGNORECASE,
        ),
        _keep_group1,
        ("pass", "pwd"),
    ),
    # CLI flags: --password hunter2, -p:Secret1 (mysql -pSecret is too ambiguous to catch).
    _Rule(
        "password_flag",
        re.compile(
            r"(--?(?:password|passwd|pwd|token|api-key|secret)(?:\s+|=|:))(?!\[REDACTED)[^\s\-][^\s]*"
        ),
        _keep_group1,
        ("-pass", "-pwd", "-token", "-api-key", "-secret"),
    ),
)


def redact(text: str | None) -> str:
    """The text with every secret-looking value replaced by `[REDACTED]` (None becomes "")."""
    if not text:
        return ""
    words = folded(text)
    for rule in _RULES:
        if any(hint in words for hint in rule.hints):
            text, replaced = rule.pattern.subn(rule.replacement, text)
            if replaced:  # the mask's own words may wake a later rule, as before
                words = folded(text)
    return text


def redact_optional(text: str | None) -> str | None:
    """Like `redact`, but keeps None as None."""
    return None if text is None else redact(text)


def redact_tree(value: Any) -> Any:
    """Every string inside nested dicts and lists redacted (for structured model output)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [redact_tree(v) for v in value]
    if isinstance(value, dict):
        return {k: redact_tree(v) for k, v in value.items()}
    return value


def findings(text: str) -> list[str]:
    """Names of the rules that match `text` (for tests and diagnostics)."""
    return [rule.name for rule in _RULES if rule.pattern.search(text)]

"""Redaction: real-looking secrets are masked, look-alikes survive untouched."""

from __future__ import annotations

import re
import string

import pytest

from docgen.redaction import _RULES, MASK, findings, folded, redact

# (sample, the secret that must disappear)
SECRETS: list[tuple[str, str]] = [
    ("Tried logging in with password=Hunter2!Summer", "Hunter2!Summer"),
    ("creds are user: jsmith pwd: Winter2024$", "Winter2024$"),
    ("set passwd = 'c0rrect-h0rse'", "c0rrect-h0rse"),
    ('config {"password": "S3cr3t-value"} loaded', "S3cr3t-value"),
    ("Reset it, temp password is Welcome2024! now", "Welcome2024!"),
    ("ran net use with --password Tr0ub4dor&3 on the share", "Tr0ub4dor&3"),
    ("api_key=3b1f9c0e7d2a4b6c8e0f1a2b3c4d5e6f", "3b1f9c0e7d2a4b6c8e0f1a2b3c4d5e6f"),
    ("X-API-Key: 9f8e7d6c5b4a39281706f5e4d3c2b1a0", "9f8e7d6c5b4a39281706f5e4d3c2b1a0"),
    ("curl -H 'Authorization: Bearer abcDEF1234567890ghiJKL.mnoPQR' api", "abcDEF1234567890ghiJKL.mnoPQR"),
    (
        "key:\n-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA7x9Yq\nabcDEF==\n-----END RSA PRIVATE KEY-----\ndone",
        "MIIEpAIBAAKCAQEA7x9Yq",
    ),
    ("-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n", "b3BlbnNzaC1rZXktdjEAAAAA"),
    ("db at postgres://app:Sup3rS3cret@db.contoso.local:5432/crm", "Sup3rS3cret"),
    ("mongodb+srv://admin:p%40ssw0rd@cluster0.mongodb.net/test", "p%40ssw0rd"),
    (
        "Server=sql01;Database=Crm;User Id=sa;Password=Pa55w.rd!;TrustServerCertificate=True",
        "Pa55w.rd!",
    ),
    ("Data Source=sql02;Initial Catalog=Hr;uid=svc;pwd=Lk93#kd;", "Lk93#kd"),
    ("AWS key AKIAIOSFODNN7EXAMPLE in the script", "AKIAIOSFODNN7EXAMPLE"),
    (
        "aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    ),
    (
        "the AWS secret key is wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    ),
    ("token ghp_16C7e42F292c6912E7710c838347Ae178B4a found", "ghp_16C7e42F292c6912E7710c838347Ae178B4a"),
    (
        "github_pat_11ABCDEFG0abcdefghijkl_mnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUV",
        "github_pat_11ABCDEFG0abcdefghijkl",
    ),
    ("slack bot xoxb-2345678901-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx", "xoxb-2345678901"),
    ("old key sk-ant-api03-AbCdEf0123456789_GhIjKlMnOpQr-stuvwx", "sk-ant-api03-AbCdEf0123456789"),
    ("openai sk-proj-AbCdEf0123456789GhIjKlMnOpQrStUv", "sk-proj-AbCdEf0123456789"),
    ("legacy sk-AbCdEf0123456789GhIjKlMnOpQrStUvWxYz01", "sk-AbCdEf0123456789"),
    (
        "DefaultEndpointsProtocol=https;AccountName=stor1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;EndpointSuffix=core.windows.net",
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq",
    ),
    (
        "jwt eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
        "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    ),
    ("maps key AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7", "AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7"),
    (
        "$pw = ConvertTo-SecureString 'Sp1ng!Time' -AsPlainText -Force",
        "Sp1ng!Time",
    ),
    (
        "https://stor1.blob.core.windows.net/c/f?sv=2022-11-02&sig=Ab12Cd34Ef56Gh78Ij90%2Bkl",
        "Ab12Cd34Ef56Gh78Ij90",
    ),
]

# Text that looks a bit like a secret but is not one: must come back unchanged.
LOOK_ALIKES: list[str] = [
    "password reset link sent to the user",
    "reset the user's password in Entra ID",
    "Password expired; the password is expired since Monday",
    "user changed password to something new",
    "GUID 3f2504e0-4f89-11d3-9a0c-0305e82c3301 from the event",
    "Applied KB5034441 and KB890830",
    "sk-12 in prose is not a key",
    "mailed jane.doe@contoso.com about it",
    "see https://learn.microsoft.com/en-us/outlook/troubleshoot?view=o365 for details",
    "Event ID 4625 logged on DC01, also 4740 lockout",
    "The bearer of the news was the client",
    "ran pwd in the shell and checked the token expiry",
    "Ticket T-1001 / SR#44521, build 10.0.19045.3930",
    "AKIA is a prefix, AKIA123 is too short",
    "Tests pass: all 12 of them",
]


@pytest.mark.parametrize(("sample", "secret"), SECRETS)
def test_secrets_are_masked(sample: str, secret: str) -> None:
    out = redact(sample)
    assert secret not in out, out
    assert MASK in out


@pytest.mark.parametrize("sample", LOOK_ALIKES)
def test_look_alikes_survive(sample: str) -> None:
    assert redact(sample) == sample, findings(sample)


def test_labels_are_kept_so_the_note_still_reads() -> None:
    assert redact("password=Hunter2!") == f"password={MASK}"
    assert redact("postgres://app:S3cret@db/crm") == f"postgres://app:{MASK}@db/crm"
    assert redact("Server=s;Password=x1!;Database=d") == f"Server=s;Password={MASK};Database=d"


def test_redaction_is_idempotent_and_handles_empty() -> None:
    once = redact(SECRETS[0][0])
    assert redact(once) == once
    assert redact(None) == "" and redact("") == ""


def test_structured_output_is_masked_too() -> None:
    from docgen.redaction import redact_tree

    tree = {
        "summary": "used password=Hunter2!",
        "steps_tried": [{"step": "AKIAIOSFODNN7EXAMPLE", "outcome": "ok"}],
    }
    out = redact_tree(tree)
    assert out == {"summary": f"used password={MASK}", "steps_tried": [{"step": MASK, "outcome": "ok"}]}


def _every_rule(text: str) -> str:
    """Redaction as it was before the hints: every rule over every text."""
    for rule in _RULES:
        text = rule.pattern.sub(rule.replacement, text)
    return text


# Variants a user could type: the case changed, and the non-ASCII letters a case-insensitive
# pattern matches to an ASCII one (Kelvin sign, long s, dotless i, dotted capital I).
_SPELLINGS = (
    str.upper,
    str.swapcase,
    lambda s: s.replace("k", "\u212a").replace("s", "\u017f").replace("i", "\u0131"),
    lambda s: s.upper().replace("I", "\u0130"),
)


@pytest.mark.parametrize("sample", [s for s, _ in SECRETS] + LOOK_ALIKES)
def test_skipping_rules_by_their_hints_changes_nothing(sample: str) -> None:
    for text in (sample, *(spell(sample) for spell in _SPELLINGS)):
        assert redact(text) == _every_rule(text), text
        for rule in _RULES:
            if rule.pattern.search(text):
                assert any(hint in folded(text) for hint in rule.hints), (rule.name, text)


def test_the_fold_covers_every_character_a_case_insensitive_pattern_takes_for_an_ascii_letter() -> None:
    letter = re.compile("[a-z]", re.IGNORECASE)
    for code in range(0x80, 0x110000):
        char = chr(code)
        if letter.fullmatch(char):
            matched = next(a for a in string.ascii_lowercase if re.fullmatch(a, char, re.IGNORECASE))
            assert matched in folded(char), hex(code)

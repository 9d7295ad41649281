"""Accounts, people, sessions and integrations written before any measurement (only handoffs are timed)."""

from __future__ import annotations

import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime

import asyncpg
from tests.fakes.psa_wire import CREDENTIALS, ROOTS

from benchmarks.http import HttpPool
from flowpilot_shared.security.passwords import hash_password
from flowpilot_shared.security.tokens import issue_token

TOKEN_TTL = 6 * 3600
# The longest re-escalation interval: no reminder round fires during a run, so every phase measures the
# escalation pipeline alone (benchmarks/lifecycle.py measures the timers on their own).
QUIET_POLICY = (86400, 0)


@dataclass
class Team:
    """One account: the owner, seniors, the junior who escalates, and the junior's active sessions."""

    account_id: uuid.UUID
    owner_id: uuid.UUID
    junior_id: uuid.UUID
    senior_ids: list[uuid.UUID]
    owner_token: str = ""
    junior_token: str = ""
    senior_tokens: list[str] = field(default_factory=list)
    sessions: deque[uuid.UUID] = field(default_factory=deque)

    def next_session(self) -> uuid.UUID:
        """An active session never escalated before (each handoff needs a fresh one)."""
        return self.sessions.popleft()


def _token(user_id: uuid.UUID, account_id: uuid.UUID, secret: str) -> str:
    return issue_token(user_id=user_id, account_id=account_id, secret=secret, ttl_seconds=TOKEN_TTL)


async def seed_teams(
    dsn: str, *, secret: str, teams: int, seniors: int, sessions_per_team: int, tag: str
) -> list[Team]:
    """`teams` accounts of an owner, `seniors - 1` engineers and a junior, each with active sessions."""
    password = hash_password("bench-password-not-secret")
    now = datetime.now(UTC)
    accounts, users, sessions, steps = [], [], [], []
    result: list[Team] = []
    for t in range(teams):
        account_id, owner_id, junior_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
        engineers = [uuid.uuid4() for _ in range(seniors - 1)]
        accounts.append((account_id, f"Bench MSP {tag}-{t}", now))
        people = [(owner_id, "owner", "Owner"), (junior_id, "engineer", "Junior")]
        people += [(e, "engineer", f"Senior {i}") for i, e in enumerate(engineers)]
        for i, (user_id, role, name) in enumerate(people):
            email = f"{tag}-{t}-{i}@bench.example.com"
            users.append((user_id, account_id, email, f"{name} {t}", role, password, True, None, now))
        team = Team(account_id, owner_id, junior_id, [owner_id, *engineers])
        team.owner_token = _token(owner_id, account_id, secret)
        team.junior_token = _token(junior_id, account_id, secret)
        team.senior_tokens = [_token(u, account_id, secret) for u in team.senior_ids]
        for s in range(sessions_per_team):
            session_id = uuid.uuid4()
            team.sessions.append(session_id)
            sessions.append(
                (
                    session_id,
                    account_id,
                    junior_id,
                    f"Outlook password loop at client {t}-{s}",
                    "Users get a password prompt loop in Outlook after the tenant moved to modern auth",
                    "Contoso",
                    f"{1000 + s}",
                    "active",
                    now,
                    now,
                )
            )
            steps.append((uuid.uuid4(), session_id, junior_id, "action", "Rebuilt the Outlook profile", now))
            steps.append(
                (uuid.uuid4(), session_id, junior_id, "observation", "Still prompts every minute", now)
            )
        result.append(team)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.copy_records_to_table("accounts", records=accounts, columns=["id", "name", "created_at"])
        await conn.copy_records_to_table(
            "escalation_policies",
            records=[(account_id, *QUIET_POLICY) for account_id, _, _ in accounts],
            columns=["account_id", "reescalate_after_seconds", "max_rounds"],
        )
        await conn.copy_records_to_table(
            "users",
            records=users,
            columns=[
                "id",
                "account_id",
                "email",
                "name",
                "role",
                "password_hash",
                "is_active",
                "deleted_at",
                "created_at",
            ],
        )
        await conn.copy_records_to_table(
            "ai_sessions",
            records=sessions,
            columns=[
                "id",
                "account_id",
                "owner_id",
                "title",
                "problem",
                "client_name",
                "psa_ticket_id",
                "status",
                "created_at",
                "updated_at",
            ],
        )
        await conn.copy_records_to_table(
            "session_steps",
            records=steps,
            columns=["id", "session_id", "author_id", "kind", "content", "created_at"],
        )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return result


async def configure_integrations(api: HttpPool, teams: list[Team], *, psa_port: int) -> None:
    """Slack and ConnectWise for each team, through the real API (secrets sealed as in production)."""
    for team in teams:
        auth = {"Authorization": f"Bearer {team.owner_token}"}
        slack = await api.request(
            "PUT",
            "/api/v1/integrations/slack",
            body={"bot_token": f"xoxb-bench-{team.account_id.hex[:8]}", "channel_id": "C0BENCH"},
            headers=auth,
        )
        psa = await api.request(
            "PUT",
            "/api/v1/integrations/psa",
            body={
                "provider": "connectwise",
                "base_url": f"http://127.0.0.1:{psa_port}{ROOTS['connectwise']}",
                "credentials": CREDENTIALS["connectwise"],
            },
            headers=auth,
        )
        if slack.status >= 300 or psa.status >= 300:
            raise RuntimeError(f"integration setup failed: {slack.status} {psa.status} {psa.body[:300]!r}")

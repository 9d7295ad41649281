"""Scenario 6: SMTP, Slack, the PSA and the AI endpoint each answering after 30 s, one at a time.

The handoff API never calls them, so it answers every escalation; the other channels must not wait:
their effects are all there while the slow one is still being retried; the slow one times out,
retries within its bound and leaves the attempts and the error on record. How fast is the
benchmark's (`make bench`): POST /handoff in its api phase, every effect in its pipeline phase.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from sqlalchemy import select

from flowpilot_shared.models import Delivery, Documentation, PsaPush
from tests.fakes.anthropic import FakeAnthropic
from tests.faults.accounting import account, settled
from tests.faults.system import Escalation, Team, create_sessions, escalate_one, make_team
from tests.harness.waiting import wait_until

SLOW_SECONDS = 30.0
CALL_TIMEOUT = 1.5
# Five attempts of 1.5 s each keep the slow dependency's failures many seconds behind the healthy
# effects, so which came first says whether anything waited behind it.
MAX_ATTEMPTS = 5
PER_PHASE = 6
BASELINE = 30
STALL_DEADLINE = 120.0  # ends a wait for effects that never come; not a speed bound


def p95(samples: list[float]) -> float:
    """The 95th percentile (nearest rank)."""
    ordered = sorted(samples)
    return ordered[max(0, round(0.95 * len(ordered)) - 1)]


async def escalate_timed(api: Any, team: Team, count: int) -> tuple[list[Escalation], list[float]]:
    """Escalate `count` new sessions one after another; the escalations and each POST's latency."""
    sessions = await create_sessions(api, team, count, concurrency=5)
    escalations, latencies = [], []
    for session_id, ticket in sessions:
        started = time.perf_counter()
        response = await escalate_one(api, team, session_id)
        latencies.append(time.perf_counter() - started)
        assert response.status_code == 201, response.text
        escalations.append(Escalation(session_id, response.json()["id"], ticket))
    return escalations, latencies


@pytest.mark.faults
@pytest.mark.timeout(300)
async def test_slow_dependencies_delay_nothing_else(system, db):
    fakes = system.fakes
    ai = FakeAnthropic()
    ai_url = await ai.start()
    system.env.update(
        {
            "ANTHROPIC_API_KEY": ai.api_key,
            "ANTHROPIC_BASE_URL": ai_url,
            "FLOWPILOT_AI_TIMEOUT_SECONDS": str(CALL_TIMEOUT),
            "FLOWPILOT_AI_MAX_RETRIES": "0",
            "FLOWPILOT_AI_TOTAL_TIMEOUT_SECONDS": str(CALL_TIMEOUT * 2),
            "FLOWPILOT_SMTP_TIMEOUT_SECONDS": str(CALL_TIMEOUT),
            "FLOWPILOT_SLACK_TIMEOUT_SECONDS": str(CALL_TIMEOUT),
            "FLOWPILOT_CHANNEL_ATTEMPT_TIMEOUT_SECONDS": str(CALL_TIMEOUT + 0.5),
            "FLOWPILOT_CHANNEL_MAX_ATTEMPTS": str(MAX_ATTEMPTS),
            "FLOWPILOT_PSA_TIMEOUT_SECONDS": str(CALL_TIMEOUT),
            "FLOWPILOT_PSA_MAX_ATTEMPTS": str(MAX_ATTEMPTS),
        }
    )
    try:
        system.start()
        async with system.client() as api:
            team = await make_team(api, fakes)
            calm, baseline = await escalate_timed(api, team, BASELINE)
            before = p95(baseline)
            # Every effect of the baseline lands first: no backlog may meet the slow dependency.
            await settled(db, fakes, calm, team.recipient_emails, timeout=60)
            lines = [f"POST /handoff p95 before: {before * 1000:.0f} ms"]
            for slow in ("smtp", "slack", "psa", "ai"):
                _slow_down(fakes, ai, slow, SLOW_SECONDS)
                try:
                    escalations, latencies = await escalate_timed(api, team, PER_PHASE)
                    healthy = [
                        k
                        for k in ("bell", "email", "slack", "documentation", "psa_note")
                        if not _hit(k, slow)
                    ]

                    async def on_time(
                        healthy: list[str] = healthy, escalations: list[Escalation] = escalations
                    ) -> bool:
                        report = await account(db, fakes, escalations, team.recipient_emails)
                        return all(
                            not report.kinds[k].lost and not report.kinds[k].duplicated for k in healthy
                        )

                    started = time.monotonic()
                    await wait_until(
                        on_time,
                        timeout=STALL_DEADLINE,
                        interval=0.2,
                        message=f"{healthy} while {slow} is slow",
                    )
                    healthy_after = time.monotonic() - started
                    if slow != "ai":
                        # Nothing queued behind the slow dependency: the other effects were all there
                        # while it was still being retried (a channel held up by it would come after).
                        # Not for the AI: the documentation is its own record, the note follows it.
                        assert await _slow_records(db, slow, escalations) is None, (
                            f"{healthy} came only after {slow} had been given up on"
                        )
                    recorded = await _wait_recorded(db, slow, escalations)
                finally:
                    _slow_down(fakes, ai, slow, 0.0)
                while_p95 = p95(latencies)
                lines.append(
                    f"{slow:>5} slow: POST /handoff p95 {while_p95 * 1000:.0f} ms; other channels complete "
                    f"{healthy_after:.1f}s after the last POST; {slow}: {recorded}"
                )
            print("\n" + "\n".join(lines))
    finally:
        await ai.stop()


def _hit(kind: str, slow: str) -> bool:
    """Whether effect `kind` depends on the slow dependency."""
    return {
        "smtp": kind == "email",
        "slack": kind == "slack",
        "psa": kind == "psa_note",
        "ai": False,  # documentation still comes (template fallback), and the note after it
    }[slow]


def _slow_down(fakes: Any, ai: FakeAnthropic, slow: str, seconds: float) -> None:
    if slow == "smtp":
        fakes.smtp.delay_seconds = seconds
    elif slow == "slack":
        fakes.slack.delay_seconds = seconds
    elif slow == "psa":
        fakes.psa.delay_seconds = seconds
    elif seconds:
        ai.delay(1000, seconds=seconds)
    else:
        ai.script.clear()
        ai._stopping.set()  # releases requests still waiting out their delay


async def _slow_records(
    db: Any, slow: str, escalations: list[Escalation], seen: list[tuple[Any, ...]] | None = None
) -> list[Any] | None:
    """The slow dependency's records of these escalations once every one is final (failed, or the
    template documentation), else None; `seen` gets what there is so far."""
    sessions = [uuid.UUID(e.session_id) for e in escalations]
    async with db.sessions() as s:
        if slow in ("smtp", "slack"):
            channel = "email" if slow == "smtp" else "slack"
            found = (
                await s.execute(
                    select(Delivery.status, Delivery.attempts, Delivery.last_error).where(
                        Delivery.session_id.in_(sessions),
                        Delivery.channel == channel,
                        Delivery.event_type == "handoff.escalated",
                    )
                )
            ).all()
            expected = len(sessions) * (3 if channel == "email" else 1)
        elif slow == "psa":
            found = (
                await s.execute(
                    select(PsaPush.status, PsaPush.attempts, PsaPush.last_error).where(
                        PsaPush.session_id.in_(sessions)
                    )
                )
            ).all()
            expected = len(sessions)
        else:
            found = (
                await s.execute(
                    select(
                        Documentation.generated_by, Documentation.version, Documentation.fallback_reason
                    ).where(Documentation.session_id.in_(sessions))
                )
            ).all()
            expected = len(sessions)
    final = [r for r in found if r[0] in ("failed", "template")]
    if seen is not None:
        seen[:] = [tuple(r) for r in found]
    return found if len(found) == expected and len(final) == expected else None


async def _wait_recorded(db: Any, slow: str, escalations: list[Escalation]) -> str:
    """Wait until the slow dependency's failures are on record; a one-line summary."""
    seen: list[tuple[Any, ...]] = []
    try:
        found = await wait_until(
            lambda: _slow_records(db, slow, escalations, seen),
            timeout=STALL_DEADLINE,
            interval=0.5,
            message=f"{slow} failures on record",
        )
    except AssertionError as exc:
        raise AssertionError(f"{exc}: {seen}") from None
    if slow == "ai":
        assert all(r[2] for r in found), found  # each template documentation says why
        return f"{len(found)} documentation by template fallback ({found[0][2][:60]})"
    # Retried within its bound, with the error.
    assert all(r[1] == MAX_ATTEMPTS and r[2] for r in found), found
    return f"{len(found)} rows failed after {MAX_ATTEMPTS} attempts ({found[0][2][:60]})"

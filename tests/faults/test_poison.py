"""Scenario 5: poison messages are dead-lettered with their reason; `flowpilot-admin dlq` lists and replays."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest

from flowpilot_shared.broker.topology import (
    DOCGEN_ESCALATIONS,
    NOTIFIER_BELL,
    NOTIFIER_CHAT,
    NOTIFIER_EMAIL,
    NOTIFIER_TEAMS,
    PSA_SYNC_DOCUMENTATION,
)
from tests.faults.accounting import account, settled
from tests.faults.direct import recipients, set_slack, staged_escalations, wired_team
from tests.faults.system import SLACK_TOKEN, rabbitmqctl
from tests.harness.admin import run_admin
from tests.harness.broker import publish_raw
from tests.harness.factories import commit_events
from tests.harness.waiting import wait_until

BROKEN_TOKEN = "xoxb-revoked-token"
ESCALATION_QUEUES = {NOTIFIER_BELL, NOTIFIER_EMAIL, NOTIFIER_CHAT, NOTIFIER_TEAMS, DOCGEN_ESCALATIONS}


def admin(amqp_url: str, *args: str) -> str:
    """`flowpilot-admin dlq ...` against this worker's vhost."""
    return run_admin("dlq", *args, env={"FLOWPILOT_AMQP_URL": amqp_url})


def listed(amqp_url: str) -> list[dict[str, Any]]:
    """`flowpilot-admin dlq list --json`, parsed."""
    out = admin(amqp_url, "list", "--json")
    return list(json.loads(out)) if out.strip().startswith("[") else []


def poison(event_id: str) -> dict[str, bytes]:
    """Bodies no consumer can handle, by kind."""
    valid_shape = {
        "id": event_id,
        "version": 1,
        "occurred_at": "2026-01-01T00:00:00Z",
        "account_id": str(uuid.uuid4()),
        "session_id": str(uuid.uuid4()),
    }
    return {
        "invalid-json": b'{"id": "not json at all',
        "wrong-schema": json.dumps({**valid_shape, "type": "handoff.escalated", "data": {"x": 1}}).encode(),
        "unknown-type": json.dumps({**valid_shape, "type": "handoff.teleported", "data": {}}).encode(),
        "five-megabytes": json.dumps(
            {**valid_shape, "type": "handoff.escalated", "data": {"padding": "x" * (5 * 1024 * 1024)}}
        ).encode(),
    }


@pytest.mark.faults
@pytest.mark.timeout(240)
async def test_poison_dead_lettered_listed_and_replayed(
    system, db, amqp, core_settings, infra, handoff_relay
):
    max_size = rabbitmqctl(infra, "eval", "application:get_env(rabbit, max_message_size).")
    assert int(max_size.strip().strip("{}").split(",")[1]) >= 5 * 1024 * 1024, max_size  # 128 MB on 3.10

    system.start(["notifier", "docgen", "psa-sync"])
    fakes = system.fakes
    fakes.slack.invalid_tokens.add(BROKEN_TOKEN)
    team = await wired_team(db, core_settings, fakes, slack_token=BROKEN_TOKEN)

    ids: dict[str, tuple[str, str]] = {}  # message id -> (kind, routing key)
    for routing_key in ("handoff.escalated", "documentation.generated"):
        for kind, body in poison(str(uuid.uuid4())).items():
            message_id = str(uuid.uuid4())
            ids[message_id] = (kind, routing_key)
            await publish_raw(amqp, routing_key, body, message_id=message_id)

    # A good escalation behind the poison still flows (its Slack post fails: the token is revoked).
    escalations, events = await staged_escalations(db, team, 1)
    await commit_events(db, *events)
    event_id = str(events[0].id)

    def expected() -> set[tuple[str, str]]:
        out = set()
        for message_id, (_, routing_key) in ids.items():
            queues = ESCALATION_QUEUES if routing_key == "handoff.escalated" else {PSA_SYNC_DOCUMENTATION}
            out |= {(q.name, message_id) for q in queues}
        return out | {(NOTIFIER_CHAT.name, event_id)}

    letters: list[dict[str, Any]] = []

    async def all_dead_lettered() -> bool:
        letters[:] = await asyncio.to_thread(listed, core_settings.amqp_url)
        return expected() <= {(d["queue"], d["message_id"]) for d in letters}

    await wait_until(
        all_dead_lettered, timeout=60, interval=1.0, message="every poison message dead-lettered"
    )
    # Each in its queue's DLQ once, put there by the consumer itself (a reason and an attempt count,
    # not the broker's delivery limit), after as many attempts as could help.
    ours = [letter for letter in letters if letter["message_id"] in ids or letter["message_id"] == event_id]
    assert sorted((d["queue"], d["message_id"]) for d in ours) == sorted(expected()), ours
    for letter in ours:
        assert letter["reason"] and not letter["reason"].startswith(("unknown", "broker:")), letter
        if letter["message_id"] in ids:
            # No retry can fix a body no consumer understands: dead-lettered unhandled, nothing retried.
            assert letter["attempts"] == 0, letter
        else:
            # A revoked token is a permanent failure: one attempt, not the consumer's retry budget.
            assert letter["attempts"] == 1, letter
    sizes = [d["size"] for d in letters if ids.get(d["message_id"], ("",))[0] == "five-megabytes"]
    assert sizes and min(sizes) > 5 * 1024 * 1024
    reasons = {ids[d["message_id"]][0]: d["reason"] for d in letters if d["message_id"] in ids}
    assert "invalid event" in reasons["invalid-json"]
    assert "unexpected event type" in reasons["unknown-type"] or "invalid event" in reasons["unknown-type"]
    text = admin(core_settings.amqp_url, "list", "--queue", NOTIFIER_CHAT.name)
    assert event_id in text and "slack" in text.lower()

    # Everything else of the good escalation happened; its Slack post waits in the DLQ.
    async def rest_done() -> bool:
        report = await account(db, fakes, escalations, recipients(team))
        others = [c for k, c in report.kinds.items() if k != "slack"]
        return all(not c.lost and not c.duplicated for c in others) and report.kinds["slack"].seen == 0

    await wait_until(rest_done, timeout=60, interval=0.5, message="bell, email, docs and PSA note, no Slack")

    # The operator fixes the token, then replays that one message: posted once.
    await set_slack(db, core_settings, team, bot_token=SLACK_TOKEN)
    out = admin(core_settings.amqp_url, "replay", "--queue", NOTIFIER_CHAT.name, "--id", event_id)
    assert "replayed 1 message" in out
    report = await settled(db, fakes, escalations, recipients(team), infra=infra, timeout=60)
    assert report.kinds["slack"].seen == 1
    remaining = {
        (d["queue"], d["message_id"]) for d in await asyncio.to_thread(listed, core_settings.amqp_url)
    }
    assert (NOTIFIER_CHAT.name, event_id) not in remaining
    assert (expected() - {(NOTIFIER_CHAT.name, event_id)}) <= remaining, "the poison stays dead-lettered"

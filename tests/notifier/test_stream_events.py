"""Bell pushes as the stream shows them, including those written one per user before pushes held rows."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime

from notifier.stream.events import to_stream_events


def test_a_push_written_one_per_user_still_replays_as_that_users_notification():
    # The shape of a `notification.created` retained in the log from before `rows`.
    notification_id, user_id, account_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    body = {
        "id": str(uuid.uuid4()),
        "type": "notification.created",
        "version": 1,
        "occurred_at": datetime.now(UTC).isoformat(),
        "account_id": str(account_id),
        "session_id": str(uuid.uuid4()),
        "data": {
            "notification_id": str(notification_id),
            "user_id": str(user_id),
            "type": "handoff_escalated",
            "title": "Escalation: Outlook cannot connect",
            "body": "Jo escalated it",
            "link": "/pilot/x?pickup=true",
            "handoff_id": None,
            "created_at": "2026-12-01T10:00:00+00:00",
        },
    }
    [event] = to_stream_events(json.dumps(body), position="12.3")
    assert (event.event, event.id, event.user_id, event.account_id) == (
        "notification",
        "12.3",
        user_id,
        account_id,
    )
    assert event.data["id"] == event.data["notification_id"] == str(notification_id)
    assert event.data["title"] == "Escalation: Outlook cannot connect"
    assert event.data["created_at"] == "2026-12-01T10:00:00+00:00"


def test_an_unshown_type_is_no_stream_event():
    body = {
        "id": str(uuid.uuid4()),
        "type": "psa.note_pushed",
        "version": 1,
        "occurred_at": datetime.now(UTC).isoformat(),
        "account_id": str(uuid.uuid4()),
        "data": {
            "push_id": str(uuid.uuid4()),
            "documentation_id": str(uuid.uuid4()),
            "handoff_id": str(uuid.uuid4()),
            "provider": "connectwise",
            "ticket_id": "T-1",
            "external_note_id": "7",
        },
    }
    assert to_stream_events(json.dumps(body), position=None) == []

"""`/me/notification-preferences`: each person's own settings, defaults until set, bad input refused whole."""

from __future__ import annotations

from typing import Any

import pytest

from tests.harness.factories import make_team

URL = "me/notification-preferences"
DEFAULTS = {"timezone": "UTC", "quiet_hours": None, "email": True, "chat_mentions": True}
NIGHT_OWL = {
    "timezone": "America/New_York",
    "quiet_hours": {"start": "22:00", "end": "07:00"},
    "email": False,
    "chat_mentions": False,
}


async def test_defaults_until_set_then_replaced_whole_and_only_for_the_caller(notifier, http, db, token_for):
    team = await make_team(db, engineers=1, viewers=1)
    other = await make_team(db, engineers=1)
    me, teammate, viewer = team.users[1], team.owner, team.users[2]

    first = await http.get(notifier.url(URL), headers=token_for(me))
    assert first.status_code == 200 and first.json() == DEFAULTS

    put = await http.put(notifier.url(URL), headers=token_for(me), json=NIGHT_OWL)
    assert put.status_code == 200, put.text
    assert put.json() == NIGHT_OWL
    assert (await http.get(notifier.url(URL), headers=token_for(me))).json() == NIGHT_OWL

    # PUT replaces the document: what is left out takes its default again.
    partial = await http.put(notifier.url(URL), headers=token_for(me), json={"timezone": "Asia/Kolkata"})
    assert partial.status_code == 200, partial.text
    assert partial.json() == {**DEFAULTS, "timezone": "Asia/Kolkata"}

    # Nobody else's preferences moved: a teammate, and a person of another account.
    for person in (teammate, other.owner):
        assert (await http.get(notifier.url(URL), headers=token_for(person))).json() == DEFAULTS
    # A viewer is reached by nothing but may still keep preferences for later.
    assert (await http.put(notifier.url(URL), headers=token_for(viewer), json=NIGHT_OWL)).status_code == 200

    assert (await http.get(notifier.url(URL))).status_code == 401
    assert (await http.put(notifier.url(URL), json=NIGHT_OWL)).status_code == 401


BAD: list[tuple[dict[str, Any] | str, list[str]]] = [
    ({"timezone": "Mars/Olympus_Mons"}, ["body", "timezone"]),
    ({"timezone": "../../etc/passwd"}, ["body", "timezone"]),
    ({"timezone": "utc"}, ["body", "timezone"]),
    ({"timezone": 1}, ["body", "timezone"]),
    ({"quiet_hours": {"start": "25:00", "end": "07:00"}}, ["body", "quiet_hours", "start"]),
    ({"quiet_hours": {"start": "22:00", "end": "7:00"}}, ["body", "quiet_hours", "end"]),
    ({"quiet_hours": {"start": "22:60", "end": "07:00"}}, ["body", "quiet_hours", "start"]),
    ({"quiet_hours": {"start": 2200, "end": "07:00"}}, ["body", "quiet_hours", "start"]),
    ({"quiet_hours": {"start": "22:00"}}, ["body", "quiet_hours", "end"]),
    ({"quiet_hours": {"start": "22:00", "end": "22:00"}}, ["body", "quiet_hours"]),
    ({"quiet_hours": "22:00-07:00"}, ["body", "quiet_hours"]),
    ({"email": "no"}, ["body", "email"]),
    ({"email": 0}, ["body", "email"]),
    ({"chat_mentions": None}, ["body", "chat_mentions"]),
    ("not json", ["body"]),
]


@pytest.mark.parametrize(("body", "field"), BAD)
async def test_bad_input_is_422_naming_the_field_and_changes_nothing(
    notifier, http, db, token_for, body: dict[str, Any] | str, field: list[str]
):
    team = await make_team(db, engineers=1)
    me = token_for(team.users[1])
    assert (await http.put(notifier.url(URL), headers=me, json=NIGHT_OWL)).status_code == 200

    # Everything valid but the one field: nothing of it may be applied.
    if isinstance(body, dict):
        refused = await http.put(notifier.url(URL), headers=me, json={**DEFAULTS, **body})
    else:
        refused = await http.put(
            notifier.url(URL), headers={**me, "Content-Type": "application/json"}, content=body
        )
    assert refused.status_code == 422, refused.text
    locations = [error["loc"][: len(field)] for error in refused.json()["detail"]]
    assert field in locations, refused.json()
    assert (await http.get(notifier.url(URL), headers=me)).json() == NIGHT_OWL

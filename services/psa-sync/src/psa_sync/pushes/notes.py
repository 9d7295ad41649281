"""What a push puts on the ticket: the note text, and whether it is a new note or an update of the
note an earlier version of the same escalation's documentation put there (a regenerated
documentation replaces its note's text rather than piling a second note onto the ticket)."""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass

import asyncpg
import structlog

from psa_sync.providers import PsaNoteGone, PsaProvider

log = structlog.get_logger(__name__)

# Under what every provider's note holds (Autotask's TicketNotes description: 32,000 characters).
NOTE_TEXT_LIMIT = 30_000
NOTE_CUT = "\n\n[… {count} characters left out here: the whole documentation is in FlowPilot …]\n\n"


def note_marker(documentation_id: uuid.UUID) -> str:
    """The tag put into every note so an ambiguous attempt can be looked up before posting again."""
    return f"[flowpilot:{documentation_id}]"


def compose_note(content: str, marker: str) -> str:
    """The note text: the documentation and the marker last.

    A documentation longer than every PSA takes keeps its start (problem, summary) and its end
    (reason, next owner, next steps), with a visible mark where the middle was left out.
    """
    room = NOTE_TEXT_LIMIT - len(marker) - 2
    if len(content) > room:
        kept = room - len(NOTE_CUT.format(count=len(content)))  # the mark at its longest
        head, tail = kept * 2 // 3, kept - kept * 2 // 3
        cut = NOTE_CUT.format(count=len(content) - kept)
        content = content[:head] + cut + content[len(content) - tail :]
    return f"{content}\n\n{marker}"


@dataclass(frozen=True)
class EarlierNote:
    """The note an earlier documentation of the same escalation is on, and that documentation's version."""

    note_id: str
    version: int


@dataclass(frozen=True)
class Earlier:
    """What other versions of the escalation's documentation left on the ticket: the note the newest
    pushed one is on, else the markers of pushes whose outcome is unknown (their note may exist)."""

    note: EarlierNote | None = None
    unsettled_markers: tuple[str, ...] = ()


def earlier_from(row: asyncpg.Record) -> Earlier:
    """What the claim read of other versions' pushes (`CLAIM_SQL`): their newest note, else the markers
    of their pushes still pending after an attempt."""
    if row["earlier_note"] is not None:
        return Earlier(note=EarlierNote(note_id=row["earlier_note"], version=row["earlier_version"]))
    return Earlier(unsettled_markers=tuple(row["unsettled_markers"]))


async def place_note(
    provider: PsaProvider,
    ticket: str,
    content: str,
    *,
    marker: str,
    version: int,
    earlier: Earlier,
    ambiguous: bool,
) -> str:
    """Put the documentation on the ticket; the id of the note holding it.

    The earlier version's note is updated (a newer version already there is left as it is), or a note
    another version's unsettled attempt created (found by its marker). Without one, or when it was
    deleted in the PSA, a new note is created, unless an ambiguous earlier attempt of this push (crash,
    timeout) already created it (found by its marker).
    """
    text = compose_note(content, marker)
    for other in earlier.unsettled_markers:
        found = await provider.find_note(ticket, other)
        if found is not None:
            log.info("psa note of an unsettled earlier version found", provider=provider.name, marker=other)
            with contextlib.suppress(PsaNoteGone):  # deleted since: go on as without it
                return await provider.update_note(ticket, found, text)
    note = earlier.note
    if note is not None:
        if note.version > version:
            return note.note_id
        try:
            return await provider.update_note(ticket, note.note_id, text)
        except PsaNoteGone:
            log.info("psa note to update is gone; creating one", provider=provider.name, note=note.note_id)
    if ambiguous:
        found = await provider.find_note(ticket, marker)
        if found is not None:
            log.info("psa note already there", provider=provider.name, marker=marker)
            return found
    return await provider.create_note(ticket, text)

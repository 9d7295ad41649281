"""Jinja2 rendering of the email bodies (templates in notifier/templates)."""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from flowpilot_shared.durations import humanize_wait
from flowpilot_shared.events import HandoffEscalated, HandoffReescalated
from notifier.channels.base import pickup_link, steps_duration
from notifier.settings import NotifierSettings

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def _utc(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


@lru_cache(maxsize=1)
def environment() -> Environment:
    """The template environment: HTML escaped, undefined names are errors."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(enabled_extensions=("html", "html.j2"), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        # The templates ship with the package: no stat of the file before every render.
        auto_reload=False,
    )
    env.filters["utc"] = _utc
    return env


def escalation_context(event: HandoffEscalated, settings: NotifierSettings) -> dict[str, Any]:
    """What the escalation templates show."""
    data = event.data
    steps = sorted(data.session.steps, key=lambda s: s.created_at)
    return {
        "title": data.session.title,
        "client": data.session.client_name or "(no client)",
        "reason": data.reason,
        "problem": data.session.problem,
        "escalator": data.escalator.name,
        "targeted": data.target is not None,
        "steps_summary": steps_duration(event),
        "first_step_at": steps[0].created_at if steps else None,
        "last_step_at": steps[-1].created_at if steps else None,
        "escalated_at": data.escalated_at,
        "steps": [{"kind": s.kind, "content": s.content} for s in steps[-10:]],
        "link": pickup_link(settings, event.session_id),
        "urgency": urgency_label(data.urgency),
    }


def urgency_label(urgency: str) -> str:
    """How messages name an urgency ("High" or "Normal")."""
    return urgency.capitalize()


def urgency_marker(urgency: str) -> str:
    """What a subject or a chat headline starts with for a high-urgency escalation (else nothing)."""
    return "[High urgency] " if urgency == "high" else ""


def render_escalation_email(event: HandoffEscalated, settings: NotifierSettings) -> tuple[str, str, str]:
    """Subject, plain text and HTML of the escalation email."""
    context = escalation_context(event, settings)
    env = environment()
    subject = f"{urgency_marker(event.data.urgency)}Escalation: {context['title']}"
    text = env.get_template("escalation_email.txt.j2").render(**context)
    html = env.get_template("escalation_email.html.j2").render(**context)
    return subject, text, html


def reescalation_subject(event: HandoffReescalated) -> str:
    """A round's subject names how long it waited and the round; the final notice says nobody took it."""
    d = event.data
    waited = humanize_wait(d.waited_seconds)
    if d.final:
        return f"{urgency_marker(d.urgency)}Nobody picked up: {d.session_title} (unclaimed for {waited})"
    return (
        f"{urgency_marker(d.urgency)}Still unclaimed after {waited} (reminder {d.round} of {d.max_rounds}): "
        f"{d.session_title}"
    )


def render_reescalation_email(event: HandoffReescalated, settings: NotifierSettings) -> tuple[str, str, str]:
    """Subject, plain text and HTML of a round's reminder or of the owners' final notice."""
    d = event.data
    context = {
        "title": d.session_title,
        "client": d.client_name or "(no client)",
        "reason": d.reason,
        "escalator": d.escalator.name,
        "escalated_at": d.escalated_at,
        "waited": humanize_wait(d.waited_seconds),
        "round": d.round,
        "max_rounds": d.max_rounds,
        "final": d.final,
        "urgency": urgency_label(d.urgency),
        "link": pickup_link(settings, event.session_id),
    }
    env = environment()
    text = env.get_template("reescalation_email.txt.j2").render(**context)
    html = env.get_template("reescalation_email.html.j2").render(**context)
    return reescalation_subject(event), text, html


def render_email(
    event: HandoffEscalated | HandoffReescalated, settings: NotifierSettings
) -> tuple[str, str, str]:
    """Subject, plain text and HTML of the email an event sends."""
    if isinstance(event, HandoffReescalated):
        return render_reescalation_email(event, settings)
    return render_escalation_email(event, settings)

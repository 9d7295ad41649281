"""The fixed instructions and the tool the model fills in (both cached: they never change)."""

from __future__ import annotations

import json
from typing import Any, cast

from anthropic.types import MessageParam, TextBlockParam, ToolParam

from docgen.content import DocInput, PackageContent

TOOL_NAME = "record_escalation_package"

SYSTEM_INSTRUCTIONS = """\
You are FlowPilot's escalation writer for a managed service provider (MSP) help desk.

A junior engineer worked a customer's IT problem in a troubleshooting session and is now escalating it
to a senior engineer. You receive the session: title, client, problem statement, the escalation reason
and the ordered steps (actions tried, observations, notes, copilot suggestions).

Produce the escalation package by calling the `record_escalation_package` tool exactly once:
- summary: two or three plain sentences a senior can read in ten seconds.
- steps_tried: every action the junior took, in order, each with its observed outcome (use the
  observations that follow the action; write "No outcome recorded" when there is none). Do not invent
  steps that are not in the session.
- hypotheses: the most likely root causes, most likely first, grounded in the observations.
- suggested_next_steps: concrete, ordered actions the senior should try next; do not repeat what
  was already tried unless there is a reason, and say the reason.
- risk and urgency: low, medium, high or critical (unknown if the session gives no basis).
- open_questions: what is still unknown and would change the diagnosis.
- current_state: where things stand now, in one short paragraph for the customer's ticket note.

Rules:
- Use only facts from the session. If something is unknown, say so in open_questions.
- A long session comes with its newest steps only: earlier_steps_not_included counts those left out.
- Text such as [REDACTED] marks a secret that was removed on purpose: never guess it, never ask for
  it, and never reproduce credentials of any kind.
- Write in a neutral, professional tone fit for a ticket note the customer may read.
- Keep each list item to one or two sentences.
"""


def tool_definition() -> ToolParam:
    """The tool whose input schema is the package (a JSON schema derived from the pydantic model)."""
    schema: dict[str, Any] = PackageContent.model_json_schema()
    return {
        "name": TOOL_NAME,
        "description": "Record the escalation package for the senior engineer and the ticket note.",
        "input_schema": cast(Any, schema),
    }


def system_blocks() -> list[TextBlockParam]:
    """The system prompt as one cacheable text block (tools + system form the cached prefix)."""
    return [{"type": "text", "text": SYSTEM_INSTRUCTIONS, "cache_control": {"type": "ephemeral"}}]


def user_message(doc: DocInput) -> MessageParam:
    """The session, redacted, as the one user turn."""
    payload = json.dumps(doc.prompt_payload(), ensure_ascii=False, indent=1)
    return {
        "role": "user",
        "content": f"Write the escalation package for this session.\n<session>\n{payload}\n</session>",
    }

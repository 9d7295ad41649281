"""What docgen reads (a redacted session snapshot) and what it produces (package + documentation)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from docgen.redaction import redact, redact_optional
from flowpilot_shared.events import HandoffEscalated, SessionSnapshot, StepSnapshot, UserRef

Level = Literal["low", "medium", "high", "critical", "unknown"]
TRUNCATED = " (… truncated)"


def clip(value: Any, limit: int) -> Any:
    """A string longer than `limit` cut to `limit` characters ending in the TRUNCATED marker (others as is)."""
    if not isinstance(value, str) or len(value) <= limit:
        return value
    return value[: limit - len(TRUNCATED)].rstrip() + TRUNCATED


@dataclass(frozen=True)
class DocInput:
    """Everything a generation needs, secrets already masked."""

    account_id: uuid.UUID
    handoff_id: uuid.UUID
    session: SessionSnapshot
    reason: str
    escalator: UserRef | None
    next_owner: UserRef | None

    @classmethod
    def build(
        cls,
        *,
        account_id: uuid.UUID,
        handoff_id: uuid.UUID,
        session: SessionSnapshot,
        reason: str,
        escalator: UserRef | None,
        next_owner: UserRef | None,
    ) -> DocInput:
        """A DocInput with the free text of the session, its steps and the reason redacted."""
        steps = [
            StepSnapshot(
                id=s.id,
                kind=s.kind,
                content=redact(s.content),
                author_id=s.author_id,
                created_at=s.created_at,
            )
            for s in session.steps
        ]
        clean = session.model_copy(
            update={
                "title": redact(session.title),
                "problem": redact(session.problem),
                "client_name": redact_optional(session.client_name),
                "steps": steps,
            }
        )
        return cls(
            account_id=account_id,
            handoff_id=handoff_id,
            session=clean,
            reason=redact(reason),
            escalator=escalator,
            next_owner=next_owner,
        )

    @classmethod
    def from_event(cls, event: HandoffEscalated) -> DocInput:
        """From the session snapshot a `handoff.escalated` event carries."""
        data = event.data
        return cls.build(
            account_id=event.account_id,
            handoff_id=data.handoff_id,
            session=data.session,
            reason=data.reason,
            escalator=data.escalator,
            next_owner=data.target,
        )

    def prompt_payload(self) -> dict[str, Any]:
        """The (redacted) facts sent to the model."""
        return {
            "title": self.session.title,
            "client": self.session.client_name,
            "problem": self.session.problem,
            "escalation_reason": self.reason,
            "escalated_by": self.escalator.name if self.escalator else None,
            "next_owner": self.next_owner.name if self.next_owner else None,
            "earlier_steps_not_included": self.session.steps_omitted,
            "steps": [
                {"n": i, "kind": s.kind, "content": s.content, "at": s.created_at.isoformat()}
                for i, s in enumerate(self.session.steps, start=1)
            ],
        }


def _cut_to(limit: int) -> BeforeValidator:
    """A string over `limit` characters is cut to fit, with the marker, before it is checked."""
    return BeforeValidator(lambda value: clip(value, limit))


def _at_most(limit: int, marker: Callable[[int], object]) -> BeforeValidator:
    """Past `limit` items the first ones are kept and the last says how many were left out."""

    def fit(value: object) -> object:
        if not isinstance(value, list) or len(value) <= limit:
            return value
        return [*value[: limit - 1], marker(len(value) - limit + 1)]

    return BeforeValidator(fit)


def _more_items(count: int) -> str:
    return f"(… {count} more not shown)"


def _more_steps(count: int) -> dict[str, str]:
    return {"step": f"(… {count} more actions not shown)", "outcome": "See the session in FlowPilot"}


# What a package holds at most: the model is told (the tool's schema), and whatever is longer, from
# the model or from the template, is cut to fit with a visible marker rather than refused.
StepText = Annotated[str, _cut_to(2000), Field(min_length=1, max_length=2000)]
LongText = Annotated[str, _cut_to(4000), Field(min_length=1, max_length=4000)]
Item = Annotated[str, _cut_to(1000), Field(min_length=1, max_length=1000)]
Items = Annotated[list[Item], _at_most(20, _more_items), Field(max_length=20)]


class StepTried(BaseModel):
    """One thing the junior tried and what came of it."""

    model_config = ConfigDict(extra="ignore")

    step: StepText
    outcome: StepText


class PackageContent(BaseModel):
    """The escalation package: also the tool input schema the model must fill in."""

    model_config = ConfigDict(extra="ignore")

    summary: LongText = Field(description="Two or three sentences for the senior.")
    steps_tried: Annotated[list[StepTried], _at_most(100, _more_steps)] = Field(
        max_length=100, description="Each action tried and its outcome."
    )
    hypotheses: Items = Field(description="Likely causes, most likely first.")
    suggested_next_steps: Items = Field(description="Concrete next steps, in order.")
    risk: Level = Field(description="Business risk if the issue persists.")
    urgency: Level = Field(description="How soon a senior should act.")
    open_questions: Items = Field(description="What is still unknown.")
    current_state: LongText = Field(description="Where things stand now, for the ticket note.")


@dataclass(frozen=True)
class Generation:
    """A finished package + documentation, and how it was made."""

    package: PackageContent
    markdown: str
    generated_by: Literal["ai", "template"]
    model: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    latency_ms: int | None = None
    fallback_reason: str | None = None

    def package_json(self) -> dict[str, Any]:
        """The package as stored in `escalation_packages.content` (served as `escalation_package`)."""
        return {
            **self.package.model_dump(mode="json"),
            "generated_by": self.generated_by,
            "model": self.model,
        }

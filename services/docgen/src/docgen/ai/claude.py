"""One Messages API call with a forced tool: the structured package, validated with pydantic."""

from __future__ import annotations

import time
from dataclasses import dataclass

import anthropic
from pydantic import ValidationError

from docgen.ai.errors import AiFailed
from docgen.ai.prompt import TOOL_NAME, system_blocks, tool_definition, user_message
from docgen.content import DocInput, PackageContent
from docgen.settings import DocgenSettings
from flowpilot_shared.telemetry import external_call


@dataclass(frozen=True)
class AiAnswer:
    """A validated package and what it cost."""

    package: PackageContent
    model: str
    input_tokens: int
    output_tokens: int
    cache_read_tokens: int
    cache_creation_tokens: int
    latency_ms: int


class ClaudeClient:
    """Wraps `anthropic.AsyncAnthropic`: the SDK's own retries and timeout, our validation."""

    def __init__(self, settings: DocgenSettings) -> None:
        self._settings = settings
        self._client = anthropic.AsyncAnthropic(
            api_key=settings.anthropic_api_key,
            base_url=settings.anthropic_base_url,
            max_retries=settings.ai_max_retries,
            timeout=settings.ai_timeout_seconds,
        )

    async def close(self) -> None:
        """Close the SDK's HTTP connection pool."""
        await self._client.close()

    async def package(self, doc: DocInput) -> AiAnswer:
        """Ask Claude for the package; raises `AiFailed` on API errors or an invalid or cut-off answer.

        Over-long fields of a valid answer are cut to the package's limits (with a marker), not refused.
        """
        started = time.perf_counter()
        try:
            # The SDK speaks HTTP through httpx2, which no instrumentation covers: a span of our own.
            with external_call(
                "anthropic messages.create", {"gen_ai.request.model": self._settings.docgen_model}
            ):
                message = await self._client.messages.create(
                    model=self._settings.docgen_model,
                    max_tokens=self._settings.ai_max_tokens,
                    system=system_blocks(),
                    tools=[tool_definition()],
                    tool_choice={"type": "tool", "name": TOOL_NAME},
                    messages=[user_message(doc)],
                )
        except anthropic.APITimeoutError as exc:
            raise AiFailed("timeout: no answer within the SDK timeout after its retries") from exc
        except anthropic.APIConnectionError as exc:
            raise AiFailed(f"connection_error: {exc}") from exc
        except anthropic.APIStatusError as exc:
            raise AiFailed(f"api_error: HTTP {exc.status_code} {type(exc).__name__}") from exc
        except anthropic.AnthropicError as exc:
            raise AiFailed(f"api_error: {type(exc).__name__}: {exc}") from exc
        latency_ms = round((time.perf_counter() - started) * 1000)
        if message.stop_reason == "max_tokens":
            # The tool input stopped mid-way: a package missing its end would pass for a whole one.
            raise AiFailed(f"invalid_response: answer cut off at max_tokens ({self._settings.ai_max_tokens})")
        tool_inputs = [b.input for b in message.content if b.type == "tool_use" and b.name == TOOL_NAME]
        if not tool_inputs:
            raise AiFailed(f"invalid_response: no {TOOL_NAME} tool call (stop_reason={message.stop_reason})")
        try:
            package = PackageContent.model_validate(tool_inputs[0])
        except ValidationError as exc:
            fields = ", ".join(".".join(str(p) for p in e["loc"]) or "input" for e in exc.errors()[:5])
            raise AiFailed(f"invalid_response: tool input failed validation ({fields})") from exc
        usage = message.usage
        return AiAnswer(
            package=package,
            model=message.model,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cache_read_tokens=usage.cache_read_input_tokens or 0,
            cache_creation_tokens=usage.cache_creation_input_tokens or 0,
            latency_ms=latency_ms,
        )

"""One escalation is one trace: the request, the relay's publishes, every consumer and every outside call."""

from __future__ import annotations

import uuid
from collections.abc import MutableMapping
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind

from tests.fakes.anthropic import FakeAnthropic
from tests.fakes.psa import FakePsa
from tests.fakes.slack import FakeSlack
from tests.fakes.smtp import FakeSmtp
from tests.harness.people import API, add_user, create_session, signup
from tests.harness.waiting import wait_until
from tests.tracing.conftest import Spans, whole_system

# What one escalation causes, each a span of its trace: the relay publishing each event, and each
# consumer handling it, whichever service it runs in.
PIPELINE_SPANS = {
    "publish handoff.escalated",
    "process notifier.bell",
    "process notifier.email",
    "process notifier.chat",
    "process docgen.escalations",
    "publish documentation.generated",
    "process psa-sync.documentation",
    "publish psa.note_pushed",
    "smtp sendmail",
    "anthropic messages.create",
}


def _client_calls(spans: list[ReadableSpan], fragment: str) -> list[ReadableSpan]:
    """Client spans (an instrumented HTTP library's) whose attributes name `fragment` (a URL's part)."""
    return [
        s
        for s in spans
        if s.kind == SpanKind.CLIENT
        and any(isinstance(v, str) and fragment in v for v in (s.attributes or {}).values())
    ]


def _request_span(spans: Spans, request_id: str) -> ReadableSpan | None:
    found = [
        s
        for s in spans.all()
        if s.kind == SpanKind.SERVER and (s.attributes or {}).get("flowpilot.request_id") == request_id
    ]
    return found[0] if found else None


async def test_one_escalation_is_one_trace_from_request_to_ticket_note(
    spans: Spans,
    log_lines: list[MutableMapping[str, Any]],
    core_settings,
    amqp,
    fake_anthropic: FakeAnthropic,
    fake_psa: FakePsa,
    smtp: FakeSmtp,
    slack: FakeSlack,
) -> None:
    async with whole_system(core_settings, amqp, anthropic=fake_anthropic, smtp=smtp, slack=slack) as system:
        api = system.pipeline.api
        tenant = await signup(api)
        senior = await add_user(api, tenant, "engineer")
        channel = f"C{uuid.uuid4().hex[:8].upper()}"
        for path, body in (
            ("slack", {"bot_token": "xoxb-trace-token", "channel_id": channel}),
            ("psa", fake_psa.integration()),
        ):
            response = await api.put(f"{API}/integrations/{path}", headers=tenant.owner.headers, json=body)
            assert response.status_code == 200, response.text
        session = await create_session(api, tenant.owner.token, psa_ticket_id="T-7001")
        # One refusal each: the retries are spans of the same trace, their warnings lines of it.
        smtp.fail_next(1)
        fake_psa.fail("connectwise", 503)
        request_id = f"trace-test-{uuid.uuid4().hex}"
        response = await api.post(
            f"{API}/ai-sessions/{session['id']}/handoff",
            headers={**tenant.owner.headers, "X-Request-ID": request_id},
            json={"intent": "escalate", "reason": "Stuck after a profile rebuild"},
        )
        assert response.status_code == 201, response.text
        request = await wait_until(lambda: _request_span(spans, request_id), message="the request's span")
        assert request.context is not None
        trace_id = request.context.trace_id

        def pipeline_done() -> bool:
            # The refused email's retry too: its span may reach the sink after its consumer's.
            names = {s.name for s in spans.of_trace(trace_id)}
            return names >= PIPELINE_SPANS and len(spans.named("smtp sendmail", trace_id)) >= 2

        await wait_until(
            pipeline_done, timeout=45, message=f"every span of the escalation's trace {PIPELINE_SPANS}"
        )
    assert smtp.to(senior.email), "the email went out"
    trace = spans.of_trace(trace_id)

    # Each outside call is a span of the same trace, each attempt its own: SMTP, Slack, Anthropic, the PSA.
    assert _client_calls(trace, "chat.postMessage"), "the Slack post"
    assert spans.named("anthropic messages.create", trace_id), "the Anthropic call"
    assert len(spans.named("smtp sendmail", trace_id)) == 2, "the refused email and its retry"
    psa_calls = _client_calls(trace, fake_psa.base_url("connectwise"))
    assert {503, 201} <= {(s.attributes or {}).get("http.status_code") for s in psa_calls}, (
        "refused, then made"
    )

    # The relay publishes as the child of the request that wrote the row, each consumer as the child
    # of that publish, and the request id goes all the way.
    by_id = {s.context.span_id: s for s in trace if s.context is not None}
    published = spans.named("publish handoff.escalated", trace_id)
    assert len(published) == 1
    assert published[0].parent is not None and published[0].parent.span_id == request.context.span_id
    docgen = spans.named("process docgen.escalations", trace_id)[0]
    assert docgen.parent is not None and by_id[docgen.parent.span_id] is published[0]
    handling = [s for s in trace if s.name.startswith(("process ", "publish "))]
    assert {(s.attributes or {}).get("flowpilot.request_id") for s in handling} == {request_id}

    # Every log line the escalation caused names the request, the consumers' lines included.
    traced_lines = [line for line in log_lines if line.get("trace_id") == f"{trace_id:032x}"]
    assert {"channel send failed", "psa push will be retried", "psa note pushed"} <= {
        line["event"] for line in traced_lines
    }
    assert {line.get("request_id") for line in traced_lines} == {request_id}, traced_lines

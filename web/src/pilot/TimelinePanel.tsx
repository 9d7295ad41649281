// A session's story, oldest first (GET /ai-sessions/{id}/timeline): steps, hand-offs, claims, releases,
// reminder rounds, each delivery with its outcome, documentation, PSA notes. Live: the stream's events
// of the session re-read it; delivery outcomes, which no stream event announces, are polled while
// they are still arriving.
import { useQuery } from "@tanstack/react-query";
import { timelineQuery } from "../api/queries";
import type { TimelineItem } from "../api/types";
import { ErrorMessage } from "../components/ErrorMessage";
import { when } from "../components/time";
import { deliveryStatus, failureOf, markOf, needsLabel, settling } from "../lifecycle/timeline";

const clock = (iso: string) => new Date(iso).toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });

function Entry({ item }: { item: TimelineItem }) {
  const mark = markOf(item);
  const failure = failureOf(item);
  const status = deliveryStatus(item);
  const recipient = item.kind === "delivery" && item.data.recipient !== "-" ? String(item.data.recipient ?? "") : "";
  return (
    <li className={`tl tl-${mark.tone}`} data-kind={item.kind}>
      <span className="tl-icon" aria-hidden="true">
        {mark.icon}
      </span>
      <div className="tl-body">
        <p className="tl-line">
          {(status !== null || needsLabel(item, mark)) && <strong className="tl-label">{mark.label}</strong>}{" "}
          {status !== null ? (
            <>
              {recipient && <span className="tl-to">to {recipient}</span>}{" "}
              <span className={`badge delivery-${String(item.data.status)}`}>{status}</span>
            </>
          ) : (
            <span className="tl-summary">{item.summary}</span>
          )}
        </p>
        {failure && <p className="error-text">Why: {failure}</p>}
        {status !== null && !failure && typeof item.data.error === "string" && item.data.error && (
          <p className="subtle">Reason: {item.data.error.replace(/_/g, " ")}</p>
        )}
        <p className="tl-meta">
          <time dateTime={item.at} title={when(item.at)}>
            {clock(item.at)}
          </time>
          {item.actor && <span> · {item.actor.name}</span>}
        </p>
      </div>
    </li>
  );
}

export function TimelinePanel({ sessionId, live }: { sessionId: string; live: boolean }) {
  const timeline = useQuery({
    ...timelineQuery(sessionId),
    // Without a stream (viewers) re-read now and then; with one, only while outcomes are arriving.
    refetchInterval: (query) => (!live ? 10_000 : settling(query.state.data, Date.now()) ? 4_000 : false),
  });
  const items = timeline.data ?? [];
  const failures = items.filter((i) => failureOf(i) !== null).length;
  return (
    <section className="panel" aria-labelledby="timeline-title">
      <h2 id="timeline-title">Timeline</h2>
      {failures > 0 && (
        <p className="error-text">Not delivered: {failures} (marked ✗ below, with why).</p>
      )}
      <ErrorMessage error={timeline.error} prefix="Timeline unavailable" />
      {timeline.isPending && <p role="status">Loading the timeline…</p>}
      {timeline.isSuccess && items.length === 0 && <p className="subtle">Nothing has happened yet.</p>}
      <ol className="timeline" aria-label="Session events, oldest first">
        {items.map((item, i) => (
          <Entry key={`${item.at}-${item.kind}-${i}`} item={item} />
        ))}
      </ol>
    </section>
  );
}

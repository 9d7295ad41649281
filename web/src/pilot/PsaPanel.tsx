// Where the documentation note on the customer's PSA ticket stands, failures in plain words.
import { useQuery } from "@tanstack/react-query";
import { psaQuery } from "../api/queries";
import type { PsaPush } from "../api/types";
import { ErrorMessage } from "../components/ErrorMessage";
import { when } from "../components/time";

const WORDS: Record<PsaPush["status"], string> = {
  pushed: "Note added to the ticket",
  failed: "Not added to the ticket",
  no_psa: "No PSA connected",
  pending: "Sending to the PSA…",
};

const settled = (rows: PsaPush[] | undefined) => Boolean(rows?.length) && rows!.every((r) => r.status !== "pending");

export function PsaPanel({ sessionId, expectPush }: { sessionId: string; expectPush: boolean }) {
  const pushes = useQuery({
    ...psaQuery(sessionId),
    // No stream event announces a PSA note: poll while one is on its way.
    refetchInterval: (query) => (expectPush && !settled(query.state.data) ? 3000 : false),
  });
  const rows = pushes.data ?? [];
  return (
    <section className="panel" aria-labelledby="psa-title">
      <h2 id="psa-title">PSA ticket</h2>
      <ErrorMessage error={pushes.error} />
      {rows.length === 0 && !pushes.error && (
        <p className="subtle">{expectPush ? "Waiting for the documentation…" : "Nothing pushed yet."}</p>
      )}
      <ul className="plain">
        {rows.map((push, i) => (
          <li key={i} className={`psa psa-${push.status}`}>
            <strong>{WORDS[push.status]}</strong>
            {push.provider && (
              <span>
                {" "}
                ({push.provider}
                {push.ticket_id ? ` ticket ${push.ticket_id}` : ""})
              </span>
            )}
            {push.external_note_id && <span> · note {push.external_note_id}</span>}
            {push.status === "failed" && push.last_error && <p className="error-text">Why: {push.last_error}</p>}
            <p className="subtle">
              {push.attempts} attempt{push.attempts === 1 ? "" : "s"} · {when(push.updated_at)}
            </p>
          </li>
        ))}
      </ul>
    </section>
  );
}

// The pickup screen /pilot/{id}: everything a senior needs at a glance, and Pick up. For the
// session's owner it is also the workspace (steps, hand off, resolve).
import { useQuery } from "@tanstack/react-query";
import { useParams, useSearchParams } from "react-router";
import { contextQuery, usersQuery } from "../api/queries";
import type { Handoff } from "../api/types";
import { useMe } from "../auth/AuthContext";
import { isEngineerOrAdmin } from "../auth/roles";
import { ErrorMessage } from "../components/ErrorMessage";
import { StatusBadge } from "../components/StatusBadge";
import { UrgencyBadge } from "../components/UrgencyBadge";
import { age, when } from "../components/time";
import { useNow } from "../components/useNow";
import { RemindersNote } from "../lifecycle/RemindersNote";
import { useSessionReminders } from "../lifecycle/useReminders";
import { OwnerActions } from "./OwnerActions";
import { PackagePanel } from "./Package";
import { PickUpBar } from "./PickUpBar";
import { PsaPanel } from "./PsaPanel";
import { StepsPanel } from "./StepsPanel";
import { TimelinePanel } from "./TimelinePanel";

/** "Reminded twice (of 3) · last 4 min ago" while the escalation waits, from the stream or the timeline. */
function RemindersLine({ sessionId, escalation, now }: { sessionId: string; escalation: Handoff; now: number }) {
  const reminders = useSessionReminders(sessionId, escalation.claimed_by ? null : escalation.id);
  return reminders ? <RemindersNote reminders={reminders} now={now} as="p" /> : null;
}

export function PilotPage() {
  const { sessionId = "" } = useParams();
  const [params] = useSearchParams();
  const me = useMe();
  const now = useNow();
  const senior = isEngineerOrAdmin(me.role);
  // Viewers have no live stream: they re-read the screen now and then instead.
  const context = useQuery({ ...contextQuery(sessionId), refetchInterval: senior ? false : 10_000 });
  const users = useQuery(usersQuery);

  if (context.isPending) return <p role="status">Loading…</p>;
  if (context.isError) {
    return (
      <section>
        <h1>Session</h1>
        <ErrorMessage error={context.error} />
      </section>
    );
  }
  const { handoff, escalation_package: pkg, documentation } = context.data;
  const s = context.data.session;
  const people = users.data ?? [];
  const name = (id: string | null | undefined) => people.find((u) => u.id === id)?.name ?? "a teammate";
  const escalation = handoff?.intent === "escalate" ? handoff : null;
  const reason = escalation?.reason ?? s.escalation_reason;
  const isOwner = s.owner_id === me.id;
  return (
    <article className="pilot">
      <header className="pilot-head">
        <div>
          <p className="crumbs">
            <StatusBadge status={s.status} />
            {s.client_name && <span>Client: {s.client_name}</span>}
            {s.psa_ticket_id && <span>Ticket: {s.psa_ticket_id}</span>}
          </p>
          {escalation?.urgency === "high" && (
            <p className="urgency-line">
              <UrgencyBadge urgency={escalation.urgency} />
            </p>
          )}
          <h1>{s.title}</h1>
          {escalation && (
            <p className="subtle">
              Escalated by {name(escalation.from_user_id)} · {age(escalation.created_at, now)} ago
              {escalation.target_user_id && <> · for {escalation.target_user_id === me.id ? "you" : name(escalation.target_user_id)}</>}
            </p>
          )}
          {escalation && <RemindersLine sessionId={s.id} escalation={escalation} now={now} />}
        </div>
        <PickUpBar context={context.data} users={people} focus={params.get("pickup") === "true"} />
      </header>
      {reason && (
        <section className="reason-box" aria-labelledby="reason-title">
          <h2 id="reason-title">Why it was escalated</h2>
          <p>{reason}</p>
        </section>
      )}
      <div className="pilot-grid">
        <div className="col">
          <section className="panel" aria-labelledby="problem-title">
            <h2 id="problem-title">Problem</h2>
            <p className="prewrap">{s.problem}</p>
            <p className="subtle">
              Owner: {s.owner_id === me.id ? "you" : name(s.owner_id)} · opened {when(s.created_at)}
            </p>
          </section>
          <PackagePanel pkg={pkg} awaiting={Boolean(escalation)} />
          <section className="panel" aria-labelledby="doc-title">
            <h2 id="doc-title">Documentation</h2>
            {documentation ? (
              <>
                <p className="subtle">
                  {documentation.generated_by === "ai" ? "Written by AI" : "From the template"} · {when(documentation.created_at)}
                </p>
                <pre className="doc">{documentation.content_markdown}</pre>
              </>
            ) : (
              <p className="subtle">{escalation ? "Being written…" : "Written when the session is escalated."}</p>
            )}
          </section>
        </div>
        <div className="col">
          <StepsPanel session={s} users={people} canAdd={isOwner && s.status !== "resolved"} />
          <OwnerActions session={s} users={people} />
          <PsaPanel sessionId={s.id} expectPush={Boolean(escalation && s.psa_ticket_id)} />
          <TimelinePanel sessionId={s.id} live={senior} />
        </div>
      </div>
    </article>
  );
}

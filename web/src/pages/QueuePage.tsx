// The seniors' queue: unclaimed escalations of the account, live over the stream.
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { Link, useNavigate } from "react-router";
import { queueQuery, usersQuery } from "../api/queries";
import type { QueueItem } from "../api/types";
import { useMe } from "../auth/AuthContext";
import { isEngineerOrAdmin } from "../auth/roles";
import { ErrorMessage } from "../components/ErrorMessage";
import { UrgencyBadge } from "../components/UrgencyBadge";
import { age } from "../components/time";
import { useNow } from "../components/useNow";
import { RemindersNote } from "../lifecycle/RemindersNote";
import { newerReminders, remindersOfQueue } from "../lifecycle/reminders";
import { useStreamReminders } from "../lifecycle/useReminders";
import { usePickUp } from "../pilot/usePickUp";

function QueueRow({ item, now, onPickUp, busy }: { item: QueueItem; now: number; onPickUp: () => void; busy: boolean }) {
  const me = useMe();
  const users = useQuery(usersQuery);
  // The API's rounds as of the last fetch, or a newer one this tab's stream reported since.
  const streamed = useStreamReminders()[item.handoff_id ?? ""] ?? null;
  const reminders = newerReminders(streamed, remindersOfQueue(item.reminders));
  const target = item.target_user_id
    ? item.target_user_id === me.id
      ? "you"
      : (users.data?.find((u) => u.id === item.target_user_id)?.name ?? "a teammate")
    : null;
  return (
    <li className={item.urgency === "high" ? "queue-row urgent" : "queue-row"} data-session-id={item.session_id}>
      <div className="queue-main">
        <UrgencyBadge urgency={item.urgency} />
        <h2>
          <Link to={`/pilot/${item.session_id}?pickup=true`}>{item.title}</Link>
        </h2>
        <p className="reason">{item.reason}</p>
        <p className="meta">
          <span>Escalated by {item.escalated_by.name}</span>
          <span title={item.escalated_at}>waiting {age(item.escalated_at, now)}</span>
          {target && <span className="target">for {target}</span>}
          {reminders && <RemindersNote reminders={reminders} now={now} />}
        </p>
      </div>
      <button type="button" className="primary" onClick={onPickUp} disabled={busy}>
        Pick up
      </button>
    </li>
  );
}

export function QueuePage() {
  const me = useMe();
  const now = useNow();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const senior = isEngineerOrAdmin(me.role);
  const queue = useQuery({ ...queueQuery, enabled: senior });
  const pickUp = usePickUp();
  const [failure, setFailure] = useState<{ title: string; error: unknown } | null>(null);

  if (!senior) {
    return (
      <section>
        <h1>Queue</h1>
        <p className="notice">
          The queue is for engineers and admins. With viewer access you can open any escalation from its link and read
          it.
        </p>
      </section>
    );
  }
  const take = (item: QueueItem) => {
    setFailure(null);
    pickUp.mutate(
      { sessionId: item.session_id, handoffId: item.handoff_id },
      {
        onSuccess: () => navigate(`/pilot/${item.session_id}`),
        onError: (error) => {
          setFailure({ title: item.title, error });
          void queryClient.invalidateQueries({ queryKey: queueQuery.queryKey });
        },
      },
    );
  };
  const rows = queue.data ?? [];
  return (
    <section>
      <div className="page-head">
        <h1>Queue</h1>
        <p className="subtle">Escalations waiting for a senior, oldest first.</p>
      </div>
      {failure && <ErrorMessage error={failure.error} prefix={`Could not pick up “${failure.title}”`} />}
      <ErrorMessage error={queue.error} />
      {queue.isPending && <p role="status">Loading the queue…</p>}
      {queue.isSuccess && rows.length === 0 && <p className="empty">Nothing is waiting. New escalations appear here as they happen.</p>}
      <ul className="queue" aria-label="Escalations awaiting pickup">
        {rows.map((item) => (
          <QueueRow
            key={item.session_id}
            item={item}
            now={now}
            busy={pickUp.isPending && pickUp.variables?.sessionId === item.session_id}
            onPickUp={() => take(item)}
          />
        ))}
      </ul>
    </section>
  );
}

// What each live event changes in the console's server-state cache. Rows the event fully describes
// are written at once (the queue shows a new escalation without a round trip); everything is also
// invalidated, so the screens converge on what the API says.
import type { QueryClient } from "@tanstack/react-query";
import { keys, sessionChanged } from "../api/queries";
import type { QueueItem } from "../api/types";
import { type RemindersByHandoff, remindersOfEvent } from "../lifecycle/reminders";
import type { StreamMessage } from "./reader";

interface EventData {
  session_id?: string | null;
  handoff_id?: string | null;
  title?: string;
  reason?: string;
  urgency?: string;
  escalated_by?: { id: string; name: string } | null;
  target_user_id?: string | null;
  escalated_at?: string;
}

function parse(message: StreamMessage): EventData | null {
  try {
    return JSON.parse(message.data) as EventData;
  } catch {
    return null;
  }
}

function queueRow(data: EventData): QueueItem | null {
  if (!data.session_id || !data.escalated_by || !data.escalated_at) return null;
  return {
    session_id: data.session_id,
    handoff_id: data.handoff_id ?? null,
    title: data.title ?? "",
    status: "escalated",
    reason: data.reason ?? "",
    urgency: data.urgency === "high" ? "high" : "normal",
    escalated_by: data.escalated_by,
    target_user_id: data.target_user_id ?? null,
    escalated_at: data.escalated_at,
    reminders: null, // a new escalation: no round has fired yet
  };
}

function refreshQueue(client: QueryClient): void {
  void client.invalidateQueries({ queryKey: keys.queue });
}

/** Remember (or, with null, forget) an escalation's reminder rounds as the stream reports them, so the
 * row is current before the queue's refetch answers. */
function setReminders(client: QueryClient, handoffId: string | null | undefined, data: Record<string, unknown> | null): void {
  if (!handoffId) return;
  client.setQueryData<RemindersByHandoff>(keys.rounds, (known = {}) => {
    const next = { ...known };
    const fired = data ? remindersOfEvent(data) : null;
    if (fired) next[handoffId] = fired.reminders;
    else delete next[handoffId];
    return next;
  });
}

/** Apply one stream event to the cache (a duplicate from a replay changes nothing). */
export function applyStreamEvent(client: QueryClient, message: StreamMessage): void {
  const data = parse(message) ?? {};
  switch (message.event) {
    case "handoff_created": {
      const row = queueRow(data);
      if (row) {
        client.setQueryData<QueueItem[]>(keys.queue, (rows) => {
          if (!rows) return rows;
          const known = rows.some((r) => r.session_id === row.session_id);
          return known ? rows.map((r) => (r.session_id === row.session_id ? row : r)) : [...rows, row];
        });
      }
      refreshQueue(client);
      sessionChanged(client, data.session_id);
      return;
    }
    case "handoff_claimed":
      client.setQueryData<QueueItem[]>(keys.queue, (rows) =>
        rows?.filter((r) => r.session_id !== data.session_id),
      );
      setReminders(client, data.handoff_id, null);
      refreshQueue(client);
      sessionChanged(client, data.session_id);
      return;
    case "handoff_released": // back in the queue (escalation lifecycle): its rounds start again at 1
      setReminders(client, data.handoff_id, null);
      refreshQueue(client);
      sessionChanged(client, data.session_id);
      return;
    case "handoff_reescalated": // another round of reminders: the row stays, the session's screen moves on
      setReminders(client, data.handoff_id, data as Record<string, unknown>);
      refreshQueue(client);
      sessionChanged(client, data.session_id);
      return;
    case "documentation_ready":
      if (data.session_id) void client.invalidateQueries({ queryKey: keys.session(data.session_id) });
      return;
    case "notification":
      void client.invalidateQueries({ queryKey: keys.notifications });
      // A bell row about a session comes with its email and chat deliveries: the timeline lists those.
      if (data.session_id) void client.invalidateQueries({ queryKey: keys.timeline(data.session_id) });
      return;
    case "ready": {
      // A fresh (not resumed) stream may have missed events while it was down: read everything again.
      const resumed = (data as { resumed?: boolean }).resumed === true;
      if (!resumed) void client.invalidateQueries();
      return;
    }
    case "reset":
      void client.invalidateQueries();
      return;
    default:
      return;
  }
}

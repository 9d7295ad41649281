import { QueryClient } from "@tanstack/react-query";
import { describe, expect, it } from "vitest";
import { keys } from "../api/queries";
import type { QueueItem } from "../api/types";
import { applyStreamEvent } from "./cache";

const created = {
  event_id: "e1",
  session_id: "s2",
  handoff_id: "h2",
  title: "VPN down",
  status: "escalated",
  reason: "Stuck",
  urgency: "high" as const,
  escalated_by: { id: "u1", name: "Jo Junior" },
  target_user_id: null,
  escalated_at: "2026-01-01T00:00:00Z",
};
const existing: QueueItem = {
  ...created,
  session_id: "s1",
  handoff_id: "h1",
  title: "Printer",
  status: "escalated",
  urgency: "normal",
  reminders: null,
};

function clientWithQueue(rows: QueueItem[]): QueryClient {
  const client = new QueryClient();
  client.setQueryData(keys.queue, rows);
  return client;
}

describe("applyStreamEvent", () => {
  it("adds a new escalation to the queue at once, once, and marks the queue for a refetch", () => {
    const client = clientWithQueue([existing]);
    const message = { id: "10", event: "handoff_created", data: JSON.stringify(created) };
    applyStreamEvent(client, message);
    applyStreamEvent(client, message); // a replayed duplicate
    const rows = client.getQueryData<QueueItem[]>(keys.queue)!;
    expect(rows.map((r) => r.session_id)).toEqual(["s1", "s2"]);
    expect(rows[1]).toMatchObject({ handoff_id: "h2", title: "VPN down", urgency: "high", escalated_by: { name: "Jo Junior" } });
    expect(client.getQueryState(keys.queue)?.isInvalidated).toBe(true);
  });

  it("reads an escalation without urgency (an older notifier) as normal", () => {
    const client = clientWithQueue([]);
    const older: Record<string, unknown> = { ...created };
    delete older.urgency;
    applyStreamEvent(client, { id: "10", event: "handoff_created", data: JSON.stringify(older) });
    expect(client.getQueryData<QueueItem[]>(keys.queue)?.[0]?.urgency).toBe("normal");
  });

  it("re-reads the session lists when a session is escalated or claimed", () => {
    for (const event of ["handoff_created", "handoff_claimed"]) {
      const client = clientWithQueue([existing]);
      client.setQueryData([...keys.sessions, { mine: true, statuses: [] }], []);
      applyStreamEvent(client, { id: "14", event, data: JSON.stringify(created) });
      expect(client.getQueryState([...keys.sessions, { mine: true, statuses: [] }])?.isInvalidated).toBe(true);
    }
  });

  it("re-reads the queue and the session on a release or a re-escalation round", () => {
    for (const event of ["handoff_released", "handoff_reescalated"]) {
      const client = clientWithQueue([existing]);
      client.setQueryData(keys.context("s1"), { session: {} });
      applyStreamEvent(client, { id: "15", event, data: JSON.stringify({ session_id: "s1", handoff_id: "h1" }) });
      expect(client.getQueryState(keys.queue)?.isInvalidated).toBe(true);
      expect(client.getQueryState(keys.context("s1"))?.isInvalidated).toBe(true);
    }
  });

  it("remembers each escalation's latest reminder round, and forgets it on a release or a claim", () => {
    const client = clientWithQueue([existing]);
    const round = (n: number, final = false) => ({
      id: `r${n}`,
      event: "handoff_reescalated",
      data: JSON.stringify({ session_id: "s1", handoff_id: "h1", round: n, final, max_rounds: 2, occurred_at: "2026-01-01T00:10:00Z" }),
    });
    applyStreamEvent(client, round(1));
    applyStreamEvent(client, round(2));
    expect(client.getQueryData(keys.rounds)).toEqual({
      h1: { round: 2, final: false, maxRounds: 2, at: "2026-01-01T00:10:00Z" },
    });
    applyStreamEvent(client, round(3, true));
    expect(client.getQueryData<Record<string, { final: boolean }>>(keys.rounds)?.h1?.final).toBe(true);
    applyStreamEvent(client, { id: "x", event: "handoff_released", data: JSON.stringify({ session_id: "s1", handoff_id: "h1" }) });
    expect(client.getQueryData(keys.rounds)).toEqual({});
    applyStreamEvent(client, round(1));
    applyStreamEvent(client, { id: "y", event: "handoff_claimed", data: JSON.stringify({ session_id: "s1", handoff_id: "h1" }) });
    expect(client.getQueryData(keys.rounds)).toEqual({});
  });

  it("re-reads a session's timeline on its events and on a bell row about it", () => {
    for (const event of ["handoff_created", "handoff_claimed", "handoff_released", "handoff_reescalated", "documentation_ready", "notification"]) {
      const client = clientWithQueue([existing]);
      client.setQueryData(keys.timeline("s1"), []);
      client.setQueryData(keys.timeline("s9"), []);
      applyStreamEvent(client, { id: "16", event, data: JSON.stringify({ ...created, session_id: "s1", handoff_id: "h1", round: 1 }) });
      expect(client.getQueryState(keys.timeline("s1"))?.isInvalidated, event).toBe(true);
      expect(client.getQueryState(keys.timeline("s9"))?.isInvalidated, event).toBe(false);
    }
  });

  it("removes a claimed escalation from the queue", () => {
    const client = clientWithQueue([existing]);
    applyStreamEvent(client, { id: "11", event: "handoff_claimed", data: JSON.stringify({ session_id: "s1" }) });
    expect(client.getQueryData<QueueItem[]>(keys.queue)).toEqual([]);
  });

  it("re-reads a session's screen when its documentation is ready, and the bell on a notification", () => {
    const client = new QueryClient();
    client.setQueryData(keys.context("s1"), { session: {} });
    client.setQueryData(keys.unreadCount, { count: 0 });
    applyStreamEvent(client, { id: "12", event: "documentation_ready", data: JSON.stringify({ session_id: "s1" }) });
    applyStreamEvent(client, { id: "13", event: "notification", data: JSON.stringify({ session_id: "s1" }) });
    expect(client.getQueryState(keys.context("s1"))?.isInvalidated).toBe(true);
    expect(client.getQueryState(keys.unreadCount)?.isInvalidated).toBe(true);
  });

  it("re-reads everything after a fresh (not resumed) connection or a reset, not after a resume", () => {
    const resumed = clientWithQueue([existing]);
    applyStreamEvent(resumed, { id: "1", event: "ready", data: JSON.stringify({ resumed: true }) });
    expect(resumed.getQueryState(keys.queue)?.isInvalidated).toBe(false);
    for (const message of [
      { id: "1", event: "ready", data: JSON.stringify({ resumed: false }) },
      { id: "2", event: "reset", data: "{}" },
    ]) {
      const client = clientWithQueue([existing]);
      applyStreamEvent(client, message);
      expect(client.getQueryState(keys.queue)?.isInvalidated).toBe(true);
    }
  });

  it("ignores a body it cannot read", () => {
    const client = clientWithQueue([existing]);
    applyStreamEvent(client, { id: "3", event: "handoff_created", data: "not json" });
    expect(client.getQueryData<QueueItem[]>(keys.queue)).toEqual([existing]);
  });
});

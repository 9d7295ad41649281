// Query keys and fetchers: one place, so the live stream invalidates exactly what screens read.
import { type QueryClient, queryOptions } from "@tanstack/react-query";
import { get } from "./client";
import type {
  Delivery,
  EscalationPolicy,
  EscalationStats,
  HandoffContext,
  Integration,
  NotificationList,
  NotificationPreferences,
  PsaPush,
  QueueItem,
  SessionStatus,
  SessionSummary,
  TimelineItem,
  User,
} from "./types";

export const keys = {
  me: ["me"] as const,
  queue: ["queue"] as const,
  queueCount: ["queue", "count"] as const,
  notifications: ["notifications"] as const,
  unreadCount: ["notifications", "unread-count"] as const,
  users: ["users"] as const,
  integrations: ["integrations"] as const,
  preferences: ["me", "notification-preferences"] as const,
  sessions: ["sessions"] as const,
  session: (id: string) => ["session", id] as const,
  context: (id: string) => ["session", id, "context"] as const,
  psa: (id: string) => ["session", id, "psa"] as const,
  deliveries: (id: string) => ["deliveries", id] as const,
  // Under the session's key: whatever re-reads a session's screen re-reads its timeline too.
  timeline: (id: string) => ["session", id, "timeline"] as const,
  policy: ["escalation-policy"] as const,
  analytics: ["analytics", "escalations"] as const,
  // Reminder rounds seen on the stream, by handoff id (the queue API does not carry them): written
  // by the stream only, never fetched.
  rounds: ["stream", "rounds"] as const,
};

/** A session changed (a step, a handoff, a claim): re-read its screen and the session lists. */
export function sessionChanged(client: QueryClient, sessionId: string | null | undefined): void {
  if (sessionId) void client.invalidateQueries({ queryKey: keys.session(sessionId) });
  void client.invalidateQueries({ queryKey: keys.sessions });
}

export const queueQuery = queryOptions({
  queryKey: keys.queue,
  queryFn: () => get<QueueItem[]>("/ai-sessions/queue"),
});

export const queueCountQuery = queryOptions({
  queryKey: keys.queueCount,
  queryFn: () => get<{ count: number }>("/ai-sessions/queue/count"),
});

export const notificationsQuery = (unreadOnly: boolean) =>
  queryOptions({
    queryKey: [...keys.notifications, { unreadOnly }],
    queryFn: () =>
      get<NotificationList>(`/notifications?limit=100${unreadOnly ? "&unread_only=true" : ""}`),
  });

export const unreadCountQuery = queryOptions({
  queryKey: keys.unreadCount,
  queryFn: () => get<{ count: number }>("/notifications/unread-count"),
});

export const usersQuery = queryOptions({
  queryKey: keys.users,
  queryFn: () => get<User[]>("/users"),
  staleTime: 60_000,
});

export const integrationsQuery = queryOptions({
  queryKey: keys.integrations,
  queryFn: () => get<Integration[]>("/integrations"),
});

export const preferencesQuery = queryOptions({
  queryKey: keys.preferences,
  queryFn: () => get<NotificationPreferences>("/me/notification-preferences"),
});

/** How many rows the Sessions page asks for (the API allows 1..200). */
export const SESSIONS_LIMIT = 100;

/** The account's sessions (only the caller's with `mine`), most recently changed first. */
export const sessionsQuery = ({ mine, statuses }: { mine: boolean; statuses: readonly SessionStatus[] }) =>
  queryOptions({
    queryKey: [...keys.sessions, { mine, statuses }],
    queryFn: () => {
      const params = new URLSearchParams({ mine: String(mine), limit: String(SESSIONS_LIMIT) });
      for (const status of statuses) params.append("status", status);
      return get<SessionSummary[]>(`/ai-sessions?${params}`);
    },
  });

export const contextQuery = (id: string) =>
  queryOptions({
    queryKey: keys.context(id),
    queryFn: () => get<HandoffContext>(`/ai-sessions/${id}/handoff-context`),
  });

export const psaQuery = (id: string) =>
  queryOptions({
    queryKey: keys.psa(id),
    queryFn: () => get<PsaPush[]>(`/ai-sessions/${id}/psa-pushes`),
  });

export const deliveriesQuery = (sessionId: string) =>
  queryOptions({
    queryKey: keys.deliveries(sessionId),
    queryFn: () =>
      get<Delivery[]>(`/notifications/deliveries?session_id=${encodeURIComponent(sessionId)}`),
  });

export const timelineQuery = (sessionId: string) =>
  queryOptions({
    queryKey: keys.timeline(sessionId),
    queryFn: () => get<TimelineItem[]>(`/ai-sessions/${sessionId}/timeline`),
  });

export const policyQuery = queryOptions({
  queryKey: keys.policy,
  queryFn: () => get<EscalationPolicy>("/escalation-policy"),
});

/** Escalation statistics of [since, until) (ISO 8601 instants). */
export const fetchEscalationStats = (since: string, until: string) =>
  get<EscalationStats>(`/analytics/escalations?${new URLSearchParams({ since, until })}`);

export const analyticsQuery = (since: string, until: string) =>
  queryOptions({
    queryKey: [...keys.analytics, { since, until }],
    queryFn: () => fetchEscalationStats(since, until),
    staleTime: 60_000,
  });

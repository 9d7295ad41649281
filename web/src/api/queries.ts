// Query keys and fetchers: one place, so the live stream invalidates exactly what screens read.
import { queryOptions } from "@tanstack/react-query";
import { get } from "./client";
import type {
  Delivery,
  HandoffContext,
  Integration,
  NotificationList,
  PsaPush,
  QueueItem,
  Session,
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
  session: (id: string) => ["session", id] as const,
  context: (id: string) => ["session", id, "context"] as const,
  psa: (id: string) => ["session", id, "psa"] as const,
  deliveries: (id: string) => ["deliveries", id] as const,
};

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

export const sessionQuery = (id: string) =>
  queryOptions({ queryKey: keys.session(id), queryFn: () => get<Session>(`/ai-sessions/${id}`) });

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

// Shapes of the public HTTP contract (DESIGN.md "HTTP contract"), as the console reads them.

export type Role = "owner" | "admin" | "engineer" | "viewer";
export type SessionStatus =
  | "active"
  | "parked"
  | "escalated"
  | "requesting_escalation"
  | "picked_up"
  | "resolved";
export type StepKind = "action" | "observation" | "note" | "ai_suggestion";
export type Urgency = "normal" | "high";

export interface User {
  id: string;
  account_id: string;
  email: string;
  name: string;
  role: Role;
  is_active: boolean;
  created_at?: string;
}

export interface LoginResponse {
  access_token: string;
  token_type: string;
  user: User;
}

export interface SignupResponse {
  account: { id: string; name: string; created_at: string };
  user: User;
  access_token: string;
}

export interface Step {
  id: string;
  session_id: string;
  author_id: string;
  kind: StepKind;
  content: string;
  created_at: string;
}

export interface Session {
  id: string;
  account_id: string;
  owner_id: string;
  title: string;
  problem: string;
  client_name: string | null;
  psa_ticket_id: string | null;
  status: SessionStatus;
  escalation_reason: string | null;
  escalated_to_id: string | null;
  picked_up_by: string | null;
  steps: Step[];
  created_at: string;
  updated_at: string;
}

/** A row of `GET /ai-sessions`: a session without its steps. */
export type SessionSummary = Pick<
  Session,
  "id" | "owner_id" | "title" | "client_name" | "psa_ticket_id" | "status" | "created_at" | "updated_at"
>;

export interface Handoff {
  id: string;
  session_id: string;
  intent: "park" | "escalate";
  reason: string;
  urgency: Urgency;
  from_user_id: string;
  target_user_id: string | null;
  created_at: string;
  claimed_at: string | null;
  claimed_by: string | null;
}

export interface Person {
  id: string;
  name: string;
}

export interface QueueItem {
  session_id: string;
  handoff_id: string | null;
  title: string;
  status: SessionStatus;
  reason: string;
  urgency: Urgency;
  escalated_by: Person;
  target_user_id: string | null;
  escalated_at: string;
  /** Reminder rounds fired since it entered the queue (null: none). */
  reminders: QueueReminders | null;
}

export interface QueueReminders {
  round: number;
  final: boolean;
  max_rounds: number;
  at: string;
}

export interface EscalationPackage {
  id: string;
  session_id: string;
  handoff_id: string | null;
  version: number;
  content: {
    summary?: string;
    steps_tried?: { step: string; outcome: string }[];
    hypotheses?: string[];
    suggested_next_steps?: string[];
    risk?: string;
    urgency?: string;
    open_questions?: string[];
    current_state?: string;
  };
  generated_by: "ai" | "template";
  model: string | null;
  created_at: string;
}

export interface Documentation {
  id: string;
  session_id: string;
  handoff_id: string | null;
  content_markdown: string;
  generated_by: "ai" | "template";
  model: string | null;
  created_at: string;
}

export interface HandoffContext {
  session: Session;
  handoff: Handoff | null;
  escalation_package: EscalationPackage | null;
  documentation: Documentation | null;
}

export interface PsaPush {
  provider: string | null;
  ticket_id: string | null;
  status: "pushed" | "failed" | "no_psa" | "pending";
  external_note_id: string | null;
  attempts: number;
  last_error: string | null;
  updated_at: string;
}

export interface Notification {
  id: string;
  type: string;
  title: string;
  body: string;
  link: string | null;
  session_id: string | null;
  created_at: string;
  read_at: string | null;
}

export interface NotificationList {
  items: Notification[];
  unread_count: number;
}

export interface Delivery {
  id: string;
  event_id: string;
  event_type: string;
  session_id: string | null;
  handoff_id: string | null;
  channel: string;
  recipient: string;
  status: string;
  attempts: number;
  last_error: string | null;
  created_at: string;
  updated_at: string;
}

export type IntegrationKind = "psa" | "slack" | "teams";

export interface Integration {
  kind: IntegrationKind;
  provider: string | null;
  config: Record<string, unknown>;
  configured: Record<string, boolean>;
  updated_at: string;
}

export interface QuietHours {
  start: string;
  end: string;
}

/** `GET/PUT /me/notification-preferences` (the notifier's; every signed-in person's own). */
export interface NotificationPreferences {
  timezone: string;
  quiet_hours: QuietHours | null;
  email: boolean;
  chat_mentions: boolean;
}

/** `GET/PUT /escalation-policy` (owner/admin): how often an unclaimed escalation reminds everyone. */
export interface EscalationPolicy {
  reescalate_after_seconds: number;
  max_rounds: number;
  updated_at?: string | null;
}

export type TimelineKind =
  | "step"
  | "escalation"
  | "park"
  | "claim"
  | "release"
  | "round"
  | "delivery"
  | "documentation"
  | "psa_note";

/** One row of `GET /ai-sessions/{id}/timeline` (oldest first); `kind` may grow: unknown kinds show as given. */
export interface TimelineItem {
  at: string;
  kind: TimelineKind | string;
  actor: Person | null;
  summary: string;
  data: Record<string, unknown>;
}

export interface ClaimerStats {
  user_id: string;
  name: string;
  claimed: number;
  median_time_to_pickup_seconds: number | null;
}

/** `GET /analytics/escalations?since=&until=` (owner/admin): escalations created in [since, until). */
export interface EscalationStats {
  since: string;
  until: string;
  escalations: number;
  claimed: number;
  unclaimed: number;
  reescalated: number;
  median_time_to_pickup_seconds: number | null;
  p90_time_to_pickup_seconds: number | null;
  by_claimer: ClaimerStats[];
}

// The Sessions page's filters, kept in the address (?whose=team&status=open) so a filtered list can
// be bookmarked, shared and gone back to.
import type { SessionStatus } from "../api/types";

export type Whose = "mine" | "team";

export interface StatusChoice {
  value: string;
  label: string;
  statuses: readonly SessionStatus[];
}

export const ANY_STATUS: StatusChoice = { value: "", label: "Any status", statuses: [] };

/** The status filter's choices; `escalated` includes the legacy `requesting_escalation`. */
export const STATUS_CHOICES: readonly StatusChoice[] = [
  ANY_STATUS,
  {
    value: "open",
    label: "Open (not resolved)",
    statuses: ["active", "parked", "escalated", "requesting_escalation", "picked_up"],
  },
  { value: "active", label: "Active", statuses: ["active"] },
  { value: "parked", label: "Parked", statuses: ["parked"] },
  { value: "escalated", label: "Escalated", statuses: ["escalated", "requesting_escalation"] },
  { value: "picked_up", label: "Picked up", statuses: ["picked_up"] },
  { value: "resolved", label: "Resolved", statuses: ["resolved"] },
];

export interface SessionFilters {
  whose: Whose;
  status: StatusChoice;
}

/** The status choice named `value` (any status when unknown). */
export function statusChoice(value: string | null): StatusChoice {
  return STATUS_CHOICES.find((c) => c.value === (value ?? "")) ?? ANY_STATUS;
}

/** The filters an address asks for; anything unknown falls back to the default (`own` when absent). */
export function readFilters(params: URLSearchParams, own: Whose): SessionFilters {
  const whose = params.get("whose");
  return { whose: whose === "mine" || whose === "team" ? whose : own, status: statusChoice(params.get("status")) };
}

/** The address of a filter choice (defaults left out, so the plain /sessions stays plain). */
export function writeFilters(filters: SessionFilters, own: Whose): URLSearchParams {
  const params = new URLSearchParams();
  if (filters.whose !== own) params.set("whose", filters.whose);
  if (filters.status.value) params.set("status", filters.status.value);
  return params;
}

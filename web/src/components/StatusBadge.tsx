import type { SessionStatus } from "../api/types";

const LABELS: Record<SessionStatus, string> = {
  active: "Active",
  parked: "Parked",
  escalated: "Escalated",
  requesting_escalation: "Escalated",
  picked_up: "Picked up",
  resolved: "Resolved",
};

export function StatusBadge({ status }: { status: SessionStatus }) {
  return <span className={`badge status-${status}`}>{LABELS[status] ?? status}</span>;
}

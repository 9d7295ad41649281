// The marker of a high-urgency escalation (normal urgency shows nothing: it is the default).
import type { Urgency } from "../api/types";

export function UrgencyBadge({ urgency }: { urgency: Urgency | undefined }) {
  if (urgency !== "high") return null;
  return <span className="badge urgency-high">High urgency</span>;
}

// How each kind of timeline entry is labelled and marked, and when the timeline is still settling.
import type { TimelineItem } from "../api/types";

/** A timeline row's tone: what a senior scanning the list should notice. */
export type Tone = "work" | "handoff" | "claim" | "alert" | "system" | "ok" | "failed";

const CHANNELS: Record<string, string> = { email: "Email", slack: "Slack", teams: "Teams" };

export interface Mark {
  /** The short label the row starts with ("Reminder", "Email"). */
  label: string;
  /** A one-character symbol shown beside it (decorative: the label says it). */
  icon: string;
  tone: Tone;
}

/** The label, symbol and tone of an entry; an unknown kind is shown as given. */
export function markOf(item: TimelineItem): Mark {
  const d = item.data;
  switch (item.kind) {
    case "step":
      return { label: "Step", icon: "•", tone: "work" };
    case "escalation":
      return { label: d.urgency === "high" ? "Escalated (high urgency)" : "Escalated", icon: "↑", tone: "handoff" };
    case "park":
      return { label: "Parked", icon: "‖", tone: "handoff" };
    case "claim":
      return { label: "Picked up", icon: "✓", tone: "claim" };
    case "release":
      return { label: "Released", icon: "↩", tone: "handoff" };
    case "round":
      return d.final === true
        ? { label: "Owners told", icon: "!", tone: "alert" }
        : { label: `Reminder ${typeof d.round === "number" ? d.round : ""}`.trim(), icon: "⟳", tone: "alert" };
    case "delivery": {
      const channel = CHANNELS[String(d.channel)] ?? String(d.channel ?? "Delivery");
      const failed = d.status === "failed";
      return { label: channel, icon: failed ? "✗" : "→", tone: failed ? "failed" : "system" };
    }
    case "documentation":
      return { label: "Documentation", icon: "¶", tone: "system" };
    case "psa_note":
      return d.status === "failed"
        ? { label: "PSA note", icon: "✗", tone: "failed" }
        : { label: "PSA note", icon: "→", tone: "ok" };
    default:
      return { label: item.kind.replace(/_/g, " "), icon: "·", tone: "system" };
  }
}

/** A delivery's status in words ("skipped", "sent", "failed after 3 attempts"). */
export function deliveryStatus(item: TimelineItem): string | null {
  if (item.kind !== "delivery") return null;
  const status = String(item.data.status ?? "");
  const attempts = typeof item.data.attempts === "number" ? item.data.attempts : 0;
  return status === "failed" && attempts > 1 ? `failed after ${attempts} attempts` : status;
}

/** Why it failed (a failed delivery or PSA note), else null. */
export function failureOf(item: TimelineItem): string | null {
  const failed = item.data.status === "failed";
  const error = item.data.error;
  return failed && typeof error === "string" && error ? error : null;
}

/**
 * Whether more rows are on their way without a stream event announcing them (delivery outcomes and
 * PSA notes follow an escalation, a round or a release by seconds): the newest row is that recent.
 */
export function settling(items: readonly TimelineItem[] | undefined, now: number, windowMs = 60_000): boolean {
  const newest = items?.at(-1);
  return newest !== undefined && now - Date.parse(newest.at) < windowMs;
}

/** Whether the row needs its label: not when the summary already starts with it ("Picked up by …"). */
export function needsLabel(item: TimelineItem, mark: Mark): boolean {
  const first = mark.label.split(" ")[0]?.toLowerCase() ?? "";
  return !item.summary.toLowerCase().startsWith(first);
}

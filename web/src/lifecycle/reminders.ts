// Reminder rounds of an unclaimed escalation (the escalation lifecycle's re-escalation), in words.
// The queue has them from the API and the stream's `handoff_reescalated`; the pickup screen from the
// timeline and the stream.
import type { QueueReminders, TimelineItem } from "../api/types";

export interface Reminders {
  /** The round that fired last (the owners' final notice is round max_rounds + 1). */
  round: number;
  /** The last firing was the final notice to the owners and admins. */
  final: boolean;
  /** The policy's rounds, when known (the stream says; the timeline only for a final notice). */
  maxRounds: number | null;
  /** When it fired. */
  at: string;
}

/** Reminders by handoff id, as the stream reported them. */
export type RemindersByHandoff = Record<string, Reminders>;

const times = (n: number) => (n === 1 ? "once" : n === 2 ? "twice" : `${n} times`);

/** "Reminded twice (of 3)", "Reminded 3 times; owners and admins told", "Owners and admins told". */
export function reminderWords(r: Reminders): string {
  if (r.final) {
    const rounds = r.maxRounds ?? r.round - 1;
    return rounds > 0 ? `Reminded ${times(rounds)}; owners and admins told` : "Owners and admins told";
  }
  return `Reminded ${times(r.round)}${r.maxRounds ? ` (of ${r.maxRounds})` : ""}`;
}

/** Whichever of two reports fired last (either may be missing). */
export function newerReminders(a: Reminders | null, b: Reminders | null): Reminders | null {
  if (!a || !b) return a ?? b;
  return Date.parse(a.at) >= Date.parse(b.at) ? a : b;
}

/** The reminders of a queue row as the API gives them, or null. */
export function remindersOfQueue(r: QueueReminders | null): Reminders | null {
  return r && { round: r.round, final: r.final, maxRounds: r.max_rounds, at: r.at };
}

/** The reminders a `handoff_reescalated` stream event reports, or null when it is not one. */
export function remindersOfEvent(data: Record<string, unknown>): { handoffId: string; reminders: Reminders } | null {
  const { handoff_id: handoffId, round, final, max_rounds: maxRounds, occurred_at: at } = data;
  if (typeof handoffId !== "string" || typeof round !== "number") return null;
  return {
    handoffId,
    reminders: {
      round,
      final: final === true,
      maxRounds: typeof maxRounds === "number" ? maxRounds : null,
      at: typeof at === "string" ? at : new Date().toISOString(),
    },
  };
}

/**
 * The reminders of the escalation `handoffId` since it last entered the queue (a release restarts the
 * rounds at 1), from the session's timeline; null when none fired.
 */
export function remindersOfTimeline(items: readonly TimelineItem[], handoffId: string): Reminders | null {
  let latest: Reminders | null = null;
  for (const item of items) {
    if (item.data.handoff_id !== handoffId) continue;
    if (item.kind === "release") latest = null;
    if (item.kind === "round" && typeof item.data.round === "number") {
      const final = item.data.final === true;
      latest = { round: item.data.round, final, maxRounds: final ? item.data.round - 1 : null, at: item.at };
    }
  }
  return latest;
}

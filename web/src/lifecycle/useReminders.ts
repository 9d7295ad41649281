// The reminder rounds of a waiting escalation: what the stream reported in this tab, else (on the
// pickup screen, which reads the timeline anyway) what the timeline records.
import { skipToken, useQuery } from "@tanstack/react-query";
import { keys, timelineQuery } from "../api/queries";
import { type Reminders, type RemindersByHandoff, newerReminders, remindersOfTimeline } from "./reminders";

/** The stream's reminders by handoff (written by stream/cache.ts, never fetched: the rounds this tab saw). */
export function useStreamReminders(): RemindersByHandoff {
  return useQuery<RemindersByHandoff>({ queryKey: keys.rounds, queryFn: skipToken }).data ?? {};
}

/** The latest reminders of `handoffId` on the session's screen, or null. */
export function useSessionReminders(sessionId: string, handoffId: string | null): Reminders | null {
  const streamed = useStreamReminders();
  const timeline = useQuery({ ...timelineQuery(sessionId), enabled: handoffId !== null });
  if (!handoffId) return null;
  const fromTimeline = timeline.data ? remindersOfTimeline(timeline.data, handoffId) : null;
  return newerReminders(streamed[handoffId] ?? null, fromTimeline);
}

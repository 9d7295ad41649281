// Notification preferences as the form edits them, and the API's refusals in the form's words.
import { ApiError } from "../api/errors";
import type { NotificationPreferences } from "../api/types";

export interface PreferencesDraft {
  timezone: string;
  quietHours: boolean;
  start: string;
  end: string;
  email: boolean;
  chatMentions: boolean;
}

// What the time inputs offer when quiet hours are first switched on.
const SUGGESTED_QUIET = { start: "22:00", end: "07:00" };

/** The form's starting point: what is saved. */
export function draftOf(saved: NotificationPreferences): PreferencesDraft {
  return {
    timezone: saved.timezone,
    quietHours: saved.quiet_hours !== null,
    start: saved.quiet_hours?.start ?? SUGGESTED_QUIET.start,
    end: saved.quiet_hours?.end ?? SUGGESTED_QUIET.end,
    email: saved.email,
    chatMentions: saved.chat_mentions,
  };
}

/** The `PUT` body: the whole document (the API replaces it). */
export function bodyOf(draft: PreferencesDraft): NotificationPreferences {
  return {
    timezone: draft.timezone,
    quiet_hours: draft.quietHours ? { start: draft.start, end: draft.end } : null,
    email: draft.email,
    chat_mentions: draft.chatMentions,
  };
}

/** Whether the draft differs from what is saved. */
export function isChanged(draft: PreferencesDraft, saved: NotificationPreferences): boolean {
  return JSON.stringify(bodyOf(draft)) !== JSON.stringify(bodyOf(draftOf(saved)));
}

/** A quiet-hours window in words ("22:00 to 07:00 the next morning"). */
export function windowWords(start: string, end: string): string {
  if (!start || !end || start === end) return "";
  return start < end ? `${start} to ${end}` : `${start} to ${end} the next morning`;
}

/** What is saved, in one line. */
export function savedWords(saved: NotificationPreferences): string {
  const quiet = saved.quiet_hours ? `quiet hours ${windowWords(saved.quiet_hours.start, saved.quiet_hours.end)}` : "no quiet hours";
  return [
    saved.timezone,
    quiet,
    saved.email ? "email on" : "email off",
    saved.chat_mentions ? "Slack mentions on" : "Slack mentions off",
  ].join(" · ");
}

export type PreferenceField = "timezone" | "quiet_hours" | "start" | "end" | "email" | "chat_mentions";

const LABELS: Record<PreferenceField, string> = {
  timezone: "Time zone",
  quiet_hours: "Quiet hours",
  start: "Quiet hours start",
  end: "Quiet hours end",
  email: "Email",
  chat_mentions: "Slack mentions",
};

export interface PreferenceProblem {
  field: PreferenceField;
  label: string;
  message: string;
}

function fieldOf(path: string): PreferenceField | null {
  const last = path.split(".").pop() ?? path;
  if (path === "quiet_hours") return "quiet_hours";
  return last in LABELS ? (last as PreferenceField) : null;
}

/** A 422's failing fields of this form, in words; the API's own message unless a clearer one is known. */
export function preferenceProblems(error: unknown): PreferenceProblem[] {
  if (!(error instanceof ApiError)) return [];
  return error.fields.flatMap(({ field: path, message }) => {
    const field = fieldOf(path);
    if (!field) return [];
    // start == end: the API cannot tell "never" from "all day", so it refuses both.
    const text =
      field === "quiet_hours" && /differ/.test(message)
        ? "start and end must be different times. To have no quiet hours, switch them off."
        : message;
    return [{ field, label: LABELS[field], message: text }];
  });
}

// The escalation policy as the form edits it (a number and a unit people use) and as it reads in words.
import { ApiError } from "../api/errors";
import type { EscalationPolicy } from "../api/types";
import { durationWords } from "../components/time";

export type Unit = "seconds" | "minutes" | "hours";

export const UNIT_SECONDS: Record<Unit, number> = { seconds: 1, minutes: 60, hours: 3600 };

export interface PolicyDraft {
  amount: string;
  unit: Unit;
  rounds: string;
}

/** The form's starting point: the saved interval in the largest unit that says it exactly. */
export function policyDraft(saved: EscalationPolicy): PolicyDraft {
  const seconds = saved.reescalate_after_seconds;
  const unit: Unit = seconds % 3600 === 0 ? "hours" : seconds % 60 === 0 ? "minutes" : "seconds";
  return { amount: String(seconds / UNIT_SECONDS[unit]), unit, rounds: String(saved.max_rounds) };
}

const numberOrNull = (text: string): number | null => (text.trim() === "" ? null : Number(text));

/**
 * The `PUT` body. Nothing is checked or rounded here: the API owns the ranges, and its 422 is shown
 * (a blank field is sent as null and refused by name, "1.5 seconds" as 1.5).
 */
export function policyBody(draft: PolicyDraft): { reescalate_after_seconds: number | null; max_rounds: number | null } {
  const amount = numberOrNull(draft.amount);
  const seconds = amount === null ? null : Math.round(amount * UNIT_SECONDS[draft.unit] * 1000) / 1000;
  return { reescalate_after_seconds: seconds, max_rounds: numberOrNull(draft.rounds) };
}

/** What a policy means, in one sentence. */
export function policySentence(seconds: number, rounds: number): string {
  const within = `If nobody picks an escalation up within ${durationWords(seconds)}`;
  if (rounds === 0) return `${within}, the owners and admins are told.`;
  const upTo = rounds === 1 ? "once" : `up to ${rounds} times`;
  return `${within}, everyone is reminded, ${upTo}; then the owners and admins are told.`;
}

/** The sentence for a draft, or null while it is not a policy yet (blank, not a whole number). */
export function draftSentence(draft: PolicyDraft): string | null {
  const { reescalate_after_seconds: seconds, max_rounds: rounds } = policyBody(draft);
  if (seconds === null || rounds === null || !Number.isInteger(seconds) || !Number.isInteger(rounds)) return null;
  if (seconds <= 0 || rounds < 0) return null;
  return policySentence(seconds, rounds);
}

export type PolicyField = "reescalate_after_seconds" | "max_rounds";

const RANGE: Record<PolicyField, string> = {
  reescalate_after_seconds: "between 5 seconds and 24 hours",
  max_rounds: "between 0 and 10",
};

/** A 422's refusals by field, in the form's words (the API counts seconds; the form may say hours). */
export function policyProblems(error: unknown): Partial<Record<PolicyField, string>> {
  if (!(error instanceof ApiError)) return {};
  const problems: Partial<Record<PolicyField, string>> = {};
  for (const { field, message } of error.fields) {
    const name = field.split(".").pop();
    if (name !== "reescalate_after_seconds" && name !== "max_rounds") continue;
    const seconds = name === "reescalate_after_seconds";
    if (/greater than|less than/i.test(message)) problems[name] = `must be ${RANGE[name]}.`;
    else if (/integer|number/i.test(message) || /required|none/i.test(message)) {
      problems[name] = seconds ? `enter a whole number of seconds, ${RANGE[name]}.` : `enter a whole number ${RANGE[name]}.`;
    } else problems[name] = message;
  }
  return problems;
}

// The analytics page's date range: calendar days in the browser's time zone, sent as instants, and the
// chart's buckets (one per day, or a few days each past 31 days: at most MAX_BUCKETS calls).
import { ApiError } from "../api/errors";

export const MAX_BUCKETS = 31;
export const DEFAULT_DAYS = 30;

export interface DateRange {
  /** First day, YYYY-MM-DD. */
  from: string;
  /** Last day (included), YYYY-MM-DD. */
  to: string;
}

export interface Bucket {
  /** The bucket's first day, YYYY-MM-DD. */
  day: string;
  /** Days in the bucket (the last may be shorter). */
  days: number;
  since: string;
  until: string;
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;

const pad = (n: number) => String(n).padStart(2, "0");

/** A local date as YYYY-MM-DD. */
export function dayOf(date: Date): string {
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

/** Local midnight of `day` plus `plus` days (DST-safe: calendar arithmetic, not 24 h steps). */
function midnight(day: string, plus = 0): Date {
  const [y, m, d] = day.split("-").map(Number) as [number, number, number];
  return new Date(y, m - 1, d + plus);
}

/** The last 30 days, today included. */
export function defaultRange(today: Date = new Date()): DateRange {
  return { from: dayOf(new Date(today.getFullYear(), today.getMonth(), today.getDate() - (DEFAULT_DAYS - 1))), to: dayOf(today) };
}

/**
 * The API's window for a range: from the first day's local midnight to the midnight after the last.
 * A field that is not a date is passed on as typed, for the API to refuse by name.
 */
export function windowOf({ from, to }: DateRange): { since: string; until: string } {
  return {
    since: DAY.test(from) ? midnight(from).toISOString() : from,
    until: DAY.test(to) ? midnight(to, 1).toISOString() : to,
  };
}

/** Days in the range (0 when it is empty or not dates). */
export function daysIn({ from, to }: DateRange): number {
  if (!DAY.test(from) || !DAY.test(to)) return 0;
  let n = 0;
  while (n <= 3660 && midnight(from, n) <= midnight(to)) n += 1;
  return n;
}

/** The chart's buckets: one per day up to 31 days, else ceil(days / 31) days each. */
export function bucketsOf(range: DateRange): Bucket[] {
  const days = daysIn(range);
  if (days === 0) return [];
  const size = Math.ceil(days / MAX_BUCKETS);
  const buckets: Bucket[] = [];
  for (let start = 0; start < days; start += size) {
    const length = Math.min(size, days - start);
    buckets.push({
      day: dayOf(midnight(range.from, start)),
      days: length,
      since: midnight(range.from, start).toISOString(),
      until: midnight(range.from, start + length).toISOString(),
    });
  }
  return buckets;
}

/** A refused range in words: the API's 422 names `since`/`until`, the form says From/To. */
export function rangeProblem(error: unknown): string | null {
  if (!(error instanceof ApiError) || error.status !== 422) return null;
  const words = error.fields.map(({ field, message }) => {
    const name = field.split(".").pop();
    if (name === "since" && /before until/.test(message)) return "“From” must be on or before “To”.";
    const label = name === "since" ? "From" : name === "until" ? "To" : (name ?? "Range");
    return `${label}: ${/datetime|date/i.test(message) ? "enter a date." : message}`;
  });
  return words.length ? words.join(" ") : error.message;
}

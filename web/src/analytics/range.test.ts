import { describe, expect, it } from "vitest";
import { errorFromResponse } from "../api/errors";
import { bucketsOf, daysIn, defaultRange, rangeProblem, windowOf } from "./range";

describe("the analytics range", () => {
  it("defaults to the last 30 days, today included", () => {
    expect(defaultRange(new Date(2026, 2, 15, 13, 5))).toEqual({ from: "2026-02-14", to: "2026-03-15" });
  });

  it("sends local midnights: the first day's and the one after the last day", () => {
    const { since, until } = windowOf({ from: "2026-03-01", to: "2026-03-02" });
    expect(since).toBe(new Date(2026, 2, 1).toISOString());
    expect(until).toBe(new Date(2026, 2, 3).toISOString());
    expect(windowOf({ from: "", to: "2026-03-02" }).since).toBe("");
  });

  it("has one bucket a day up to 31 days, a few days each beyond, never more than 31", () => {
    expect(daysIn({ from: "2026-03-01", to: "2026-03-01" })).toBe(1);
    expect(daysIn({ from: "2026-03-02", to: "2026-03-01" })).toBe(0);
    const month = bucketsOf({ from: "2026-01-01", to: "2026-01-31" });
    expect(month).toHaveLength(31);
    expect(month[0]).toMatchObject({ day: "2026-01-01", days: 1 });
    const year = bucketsOf({ from: "2025-01-01", to: "2025-12-31" });
    expect(year.length).toBeLessThanOrEqual(31);
    expect(year[0]?.days).toBe(12);
    expect(year.reduce((n, b) => n + b.days, 0)).toBe(365);
    expect(year.at(-1)?.until).toBe(new Date(2026, 0, 1).toISOString());
    expect(bucketsOf({ from: "2026-03-02", to: "2026-03-01" })).toEqual([]);
  });

  it("puts the API's refusal of a range in the form's words", () => {
    const backwards = errorFromResponse(422, {
      detail: [{ loc: ["query", "since"], msg: "must be before until", type: "value_error" }],
    });
    expect(rangeProblem(backwards)).toBe("“From” must be on or before “To”.");
    const garbled = errorFromResponse(422, {
      detail: [{ loc: ["query", "until"], msg: "Input should be a valid datetime", type: "datetime_from_date_parsing" }],
    });
    expect(rangeProblem(garbled)).toBe("To: enter a date.");
    expect(rangeProblem(errorFromResponse(403, { detail: "Owner or admin only" }))).toBeNull();
  });
});

import { describe, expect, it } from "vitest";
import type { TimelineItem } from "../api/types";
import { newerReminders, reminderWords, remindersOfEvent, remindersOfQueue, remindersOfTimeline } from "./reminders";

const at = "2026-01-01T10:00:00Z";

describe("reminderWords", () => {
  it("counts the rounds, with the policy's total when known", () => {
    expect(reminderWords({ round: 1, final: false, maxRounds: 3, at })).toBe("Reminded once (of 3)");
    expect(reminderWords({ round: 2, final: false, maxRounds: null, at })).toBe("Reminded twice");
    expect(reminderWords({ round: 5, final: false, maxRounds: 10, at })).toBe("Reminded 5 times (of 10)");
  });

  it("says when the owners and admins were told", () => {
    expect(reminderWords({ round: 4, final: true, maxRounds: 3, at })).toBe("Reminded 3 times; owners and admins told");
    expect(reminderWords({ round: 1, final: true, maxRounds: 0, at })).toBe("Owners and admins told");
    expect(reminderWords({ round: 3, final: true, maxRounds: null, at })).toBe("Reminded twice; owners and admins told");
  });
});

describe("remindersOfEvent", () => {
  it("reads the stream event's round, final and policy", () => {
    const data = { handoff_id: "h1", round: 2, final: false, max_rounds: 3, occurred_at: at };
    expect(remindersOfEvent(data)).toEqual({ handoffId: "h1", reminders: { round: 2, final: false, maxRounds: 3, at } });
  });

  it("ignores an event without a handoff or a round", () => {
    expect(remindersOfEvent({ round: 1 })).toBeNull();
    expect(remindersOfEvent({ handoff_id: "h1", round: "1" })).toBeNull();
  });
});

describe("remindersOfTimeline", () => {
  const item = (kind: string, data: Record<string, unknown>, when = at): TimelineItem => ({
    at: when,
    kind,
    actor: null,
    summary: kind,
    data,
  });

  it("takes the latest round of this escalation", () => {
    const items = [
      item("escalation", { handoff_id: "h1" }),
      item("round", { handoff_id: "h1", round: 1, final: false }),
      item("round", { handoff_id: "h0", round: 7, final: false }),
      item("round", { handoff_id: "h1", round: 2, final: false }, "2026-01-01T10:10:00Z"),
    ];
    expect(remindersOfTimeline(items, "h1")).toEqual({ round: 2, final: false, maxRounds: null, at: "2026-01-01T10:10:00Z" });
  });

  it("knows the policy's rounds from a final notice", () => {
    const items = [item("round", { handoff_id: "h1", round: 4, final: true })];
    expect(remindersOfTimeline(items, "h1")?.maxRounds).toBe(3);
  });

  it("starts again after a release, and has nothing before a round fires", () => {
    const items = [item("round", { handoff_id: "h1", round: 2, final: false }), item("release", { handoff_id: "h1" })];
    expect(remindersOfTimeline(items, "h1")).toBeNull();
    expect(remindersOfTimeline([], "h1")).toBeNull();
  });
});

describe("the queue's reminders", () => {
  it("reads the API's rounds with the policy's total", () => {
    expect(remindersOfQueue({ round: 2, final: false, max_rounds: 3, at })).toEqual({ round: 2, final: false, maxRounds: 3, at });
    expect(remindersOfQueue(null)).toBeNull();
  });

  it("shows whichever report fired last", () => {
    const fetched = { round: 1, final: false, maxRounds: 3, at };
    const streamed = { round: 2, final: false, maxRounds: 3, at: "2026-01-01T10:10:00Z" };
    expect(newerReminders(streamed, fetched)).toBe(streamed);
    expect(newerReminders(fetched, streamed)).toBe(streamed);
    expect(newerReminders(null, fetched)).toBe(fetched);
    expect(newerReminders(null, null)).toBeNull();
  });
});

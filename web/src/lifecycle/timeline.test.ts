import { describe, expect, it } from "vitest";
import type { TimelineItem } from "../api/types";
import { deliveryStatus, failureOf, markOf, needsLabel, settling } from "./timeline";

const item = (kind: string, data: Record<string, unknown> = {}, at = "2026-01-01T10:00:00Z"): TimelineItem => ({
  at,
  kind,
  actor: null,
  summary: "",
  data,
});

describe("markOf", () => {
  it("labels each kind, urgency and the owners' notice included", () => {
    expect(markOf(item("step")).label).toBe("Step");
    expect(markOf(item("escalation", { urgency: "high" })).label).toBe("Escalated (high urgency)");
    expect(markOf(item("park")).label).toBe("Parked");
    expect(markOf(item("claim")).label).toBe("Picked up");
    expect(markOf(item("release")).label).toBe("Released");
    expect(markOf(item("round", { round: 2, final: false }))).toMatchObject({ label: "Reminder 2", tone: "alert" });
    expect(markOf(item("round", { round: 4, final: true })).label).toBe("Owners told");
    expect(markOf(item("documentation")).label).toBe("Documentation");
    expect(markOf(item("some_new_kind")).label).toBe("some new kind");
  });

  it("marks failures plainly", () => {
    expect(markOf(item("delivery", { channel: "email", status: "sent" }))).toMatchObject({ label: "Email", tone: "system" });
    expect(markOf(item("delivery", { channel: "slack", status: "failed" }))).toMatchObject({ label: "Slack", tone: "failed" });
    expect(markOf(item("psa_note", { status: "failed" })).tone).toBe("failed");
    expect(markOf(item("psa_note", { status: "pushed" })).tone).toBe("ok");
  });
});

describe("delivery words", () => {
  it("says the status, attempts of a failure, and why", () => {
    expect(deliveryStatus(item("delivery", { status: "sent", attempts: 1 }))).toBe("sent");
    expect(deliveryStatus(item("delivery", { status: "failed", attempts: 3 }))).toBe("failed after 3 attempts");
    expect(deliveryStatus(item("step"))).toBeNull();
    expect(failureOf(item("delivery", { status: "failed", error: "channel_not_found" }))).toBe("channel_not_found");
    expect(failureOf(item("delivery", { status: "skipped", error: "quiet_hours" }))).toBeNull();
  });
});

describe("settling", () => {
  it("is true while the newest row is recent", () => {
    const now = Date.parse("2026-01-01T10:00:30Z");
    expect(settling([item("claim")], now)).toBe(true);
    expect(settling([item("claim")], now + 60_000)).toBe(false);
    expect(settling([], now)).toBe(false);
    expect(settling(undefined, now)).toBe(false);
  });
});

describe("needsLabel", () => {
  it("drops a label the summary already starts with", () => {
    const claim = { ...item("claim"), summary: "Picked up by Sam Senior" };
    const round = { ...item("round", { round: 1 }), summary: "Still unclaimed after 5 s: round 1 of 1 sent to 3 people" };
    expect(needsLabel(claim, markOf(claim))).toBe(false);
    expect(needsLabel(round, markOf(round))).toBe(true);
  });
});

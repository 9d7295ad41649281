import { describe, expect, it } from "vitest";
import { errorFromResponse } from "../api/errors";
import type { NotificationPreferences } from "../api/types";
import { bodyOf, draftOf, isChanged, preferenceProblems, savedWords, windowWords } from "./preferences";

const DEFAULTS: NotificationPreferences = { timezone: "UTC", quiet_hours: null, email: true, chat_mentions: true };

describe("the preferences draft", () => {
  it("starts from what is saved and sends the whole document back", () => {
    const saved = { ...DEFAULTS, timezone: "Europe/Berlin", quiet_hours: { start: "22:00", end: "07:00" } };
    const draft = draftOf(saved);
    expect(draft).toMatchObject({ timezone: "Europe/Berlin", quietHours: true, start: "22:00", end: "07:00" });
    expect(bodyOf(draft)).toEqual(saved);
    expect(isChanged(draft, saved)).toBe(false);
  });

  it("suggests a night window when quiet hours are switched on, and sends null when off", () => {
    const draft = draftOf(DEFAULTS);
    expect(bodyOf(draft).quiet_hours).toBeNull();
    const on = { ...draft, quietHours: true };
    expect(bodyOf(on).quiet_hours).toEqual({ start: "22:00", end: "07:00" });
    expect(isChanged(on, DEFAULTS)).toBe(true);
  });
});

describe("words", () => {
  it("says when a window runs past midnight", () => {
    expect(windowWords("09:00", "17:30")).toBe("09:00 to 17:30");
    expect(windowWords("22:00", "07:00")).toBe("22:00 to 07:00 the next morning");
    expect(windowWords("08:00", "08:00")).toBe("");
  });

  it("sums up what is saved", () => {
    expect(savedWords(DEFAULTS)).toBe("UTC · no quiet hours · email on · Slack mentions on");
    expect(savedWords({ timezone: "Asia/Tokyo", quiet_hours: { start: "23:00", end: "06:00" }, email: false, chat_mentions: false })).toBe(
      "Asia/Tokyo · quiet hours 23:00 to 06:00 the next morning · email off · Slack mentions off",
    );
  });
});

describe("preferenceProblems", () => {
  it("puts the API's refusal of equal start and end in the form's words", () => {
    const error = errorFromResponse(422, {
      detail: [{ loc: ["body", "quiet_hours"], msg: "Value error, start and end must differ (send quiet_hours: null for none)" }],
    });
    expect(preferenceProblems(error)).toEqual([
      {
        field: "quiet_hours",
        label: "Quiet hours",
        message: "start and end must be different times. To have no quiet hours, switch them off.",
      },
    ]);
  });

  it("names the time and the zone fields, keeping the API's own message", () => {
    const error = errorFromResponse(422, {
      detail: [
        { loc: ["body", "quiet_hours", "start"], msg: "Value error, must be a time as HH:MM (00:00 to 23:59)" },
        { loc: ["body", "timezone"], msg: "Value error, unknown time zone: use an IANA name such as Europe/Berlin or UTC" },
      ],
    });
    expect(preferenceProblems(error).map((p) => [p.field, p.label, p.message])).toEqual([
      ["start", "Quiet hours start", "must be a time as HH:MM (00:00 to 23:59)"],
      ["timezone", "Time zone", "unknown time zone: use an IANA name such as Europe/Berlin or UTC"],
    ]);
  });

  it("has nothing to say about other failures", () => {
    expect(preferenceProblems(errorFromResponse(503, null))).toEqual([]);
    expect(preferenceProblems(new Error("boom"))).toEqual([]);
  });
});

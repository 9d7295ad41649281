import { describe, expect, it } from "vitest";
import { clockIn, zoneChoices } from "./timezones";

describe("zoneChoices", () => {
  it("offers the browser's zones, UTC, and the saved and browser zones even when the list lacks them", () => {
    const zones = zoneChoices(["Asia/Calcutta", null, "Europe/Berlin"], () => ["Europe/Berlin", "America/Chicago"]);
    expect(zones).toEqual(["America/Chicago", "Asia/Calcutta", "Europe/Berlin", "UTC"]);
  });

  it("reads the real list of this runtime", () => {
    const zones = zoneChoices([]);
    expect(zones).toContain("UTC");
    expect(zones).toContain("Europe/Berlin");
    expect(zones.length).toBeGreaterThan(300);
  });
});

describe("clockIn", () => {
  it("tells the wall-clock time of a zone, and nothing for an unknown one", () => {
    const instant = new Date("2026-01-15T12:30:00Z");
    expect(clockIn("Asia/Tokyo", instant)).toBe("21:30");
    expect(clockIn("America/New_York", instant)).toBe("07:30");
    expect(clockIn("Mars/Base", instant)).toBe("");
  });
});

import { describe, expect, it } from "vitest";
import { ANY_STATUS, readFilters, statusChoice, writeFilters } from "./filters";

describe("session filters in the address", () => {
  it("defaults to the person's own view and any status", () => {
    const filters = readFilters(new URLSearchParams(""), "mine");
    expect(filters.whose).toBe("mine");
    expect(filters.status.statuses).toEqual([]);
    expect(readFilters(new URLSearchParams(""), "team").whose).toBe("team");
  });

  it("reads the team view and a status, counting the legacy status as escalated", () => {
    const filters = readFilters(new URLSearchParams("whose=team&status=escalated"), "mine");
    expect(filters.whose).toBe("team");
    expect(filters.status.statuses).toEqual(["escalated", "requesting_escalation"]);
  });

  it("ignores values it does not know", () => {
    const filters = readFilters(new URLSearchParams("whose=everyone&status=deleted"), "mine");
    expect(filters).toEqual({ whose: "mine", status: ANY_STATUS });
  });

  it("writes only what differs from the default, and reads back what it wrote", () => {
    const open = statusChoice("open");
    expect(open.statuses).not.toContain("resolved");
    expect(writeFilters({ whose: "mine", status: ANY_STATUS }, "mine").toString()).toBe("");
    const params = writeFilters({ whose: "team", status: open }, "mine");
    expect(params.toString()).toBe("whose=team&status=open");
    expect(readFilters(params, "mine")).toEqual({ whose: "team", status: open });
  });
});

import { describe, expect, it } from "vitest";
import { loginPath, safeNext } from "./redirect";

describe("safeNext", () => {
  it("returns to a path of this site, query included", () => {
    expect(safeNext("/pilot/123?pickup=true")).toBe("/pilot/123?pickup=true");
  });

  it("never leaves the site or loops back to sign-in", () => {
    for (const bad of [null, "", "https://evil.example", "//evil.example/x", "/\\evil.example", "javascript:alert(1)", "/login?next=/x", "/signup"]) {
      expect(safeNext(bad)).toBe("/queue");
    }
  });
});

describe("loginPath", () => {
  it("keeps the way back, and says when the session expired", () => {
    expect(loginPath("/pilot/1?pickup=true")).toBe("/login?next=%2Fpilot%2F1%3Fpickup%3Dtrue");
    expect(loginPath("/queue", true)).toBe("/login?next=%2Fqueue&expired=1");
  });
});

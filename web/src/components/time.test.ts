import { describe, expect, it } from "vitest";
import { durationWords } from "./time";

describe("durationWords", () => {
  it("says a span the way people do", () => {
    expect(durationWords(0)).toBe("0 s");
    expect(durationWords(0.43)).toBe("0.4 s");
    expect(durationWords(5)).toBe("5 s");
    expect(durationWords(9.96)).toBe("10 s");
    expect(durationWords(12.4)).toBe("12 s");
    expect(durationWords(600)).toBe("10 min");
    expect(durationWords(90)).toBe("1 min 30 s");
    expect(durationWords(3600)).toBe("1 h");
    expect(durationWords(5400)).toBe("1 h 30 min");
    expect(durationWords(86400)).toBe("24 h");
    expect(durationWords(3 * 86400 + 4 * 3600 + 59)).toBe("3 days 4 h");
  });
});

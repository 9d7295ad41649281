import { describe, expect, it } from "vitest";
import { errorFromResponse } from "../api/errors";
import { draftSentence, policyBody, policyDraft, policyProblems, policySentence } from "./policy";

describe("the policy form", () => {
  it("starts from the saved interval in the largest exact unit", () => {
    expect(policyDraft({ reescalate_after_seconds: 600, max_rounds: 3 })).toEqual({ amount: "10", unit: "minutes", rounds: "3" });
    expect(policyDraft({ reescalate_after_seconds: 7200, max_rounds: 0 })).toEqual({ amount: "2", unit: "hours", rounds: "0" });
    expect(policyDraft({ reescalate_after_seconds: 90, max_rounds: 1 })).toEqual({ amount: "90", unit: "seconds", rounds: "1" });
  });

  it("sends seconds, and blanks as null for the API to refuse by name", () => {
    expect(policyBody({ amount: "10", unit: "minutes", rounds: "3" })).toEqual({ reescalate_after_seconds: 600, max_rounds: 3 });
    expect(policyBody({ amount: "1.5", unit: "hours", rounds: "2" })).toEqual({ reescalate_after_seconds: 5400, max_rounds: 2 });
    expect(policyBody({ amount: "", unit: "minutes", rounds: " " })).toEqual({ reescalate_after_seconds: null, max_rounds: null });
  });

  it("says what the policy means in one sentence", () => {
    expect(policySentence(600, 3)).toBe(
      "If nobody picks an escalation up within 10 min, everyone is reminded, up to 3 times; then the owners and admins are told.",
    );
    expect(policySentence(3600, 1)).toBe(
      "If nobody picks an escalation up within 1 h, everyone is reminded, once; then the owners and admins are told.",
    );
    expect(policySentence(5, 0)).toBe("If nobody picks an escalation up within 5 s, the owners and admins are told.");
    expect(draftSentence({ amount: "", unit: "minutes", rounds: "3" })).toBeNull();
    expect(draftSentence({ amount: "0.5", unit: "seconds", rounds: "3" })).toBeNull();
  });

  it("puts the API's refusals in the form's words", () => {
    const error = errorFromResponse(422, {
      detail: [
        { loc: ["body", "reescalate_after_seconds"], msg: "Input should be less than or equal to 86400", type: "less_than_equal" },
        { loc: ["body", "max_rounds"], msg: "Input should be a valid integer", type: "int_type" },
      ],
    });
    expect(policyProblems(error)).toEqual({
      reescalate_after_seconds: "must be between 5 seconds and 24 hours.",
      max_rounds: "enter a whole number between 0 and 10.",
    });
    expect(policyProblems(new Error("x"))).toEqual({});
  });
});

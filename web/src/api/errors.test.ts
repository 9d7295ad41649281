import { describe, expect, it } from "vitest";
import { ApiError, describeError, errorFromResponse } from "./errors";

describe("errorFromResponse", () => {
  it("keeps the API's own words", () => {
    const error = errorFromResponse(409, { detail: "Already picked up by Sam Senior", claimed_by: { id: "1", name: "Sam Senior" } });
    expect(error.message).toBe("Already picked up by Sam Senior");
    expect(error.claimedBy).toBe("Sam Senior");
    expect(describeError(error)).toBe("Already picked up by Sam Senior");
  });

  it("names each failing field of a 422, as the form labels it", () => {
    const error = errorFromResponse(422, {
      detail: [
        { loc: ["body", "psa_ticket_id"], msg: "String should have at most 100 characters", type: "string_too_long" },
        { loc: ["body", "title"], msg: "Field required", type: "missing" },
      ],
    });
    expect(error.message).toBe("PSA ticket: String should have at most 100 characters. Title: Field required");
    expect(error.fields).toEqual([
      { field: "psa_ticket_id", message: "String should have at most 100 characters" },
      { field: "title", message: "Field required" },
    ]);
  });

  it("drops pydantic's 'Value error, ' prefix from a validator's sentence", () => {
    const error = errorFromResponse(422, {
      detail: [{ loc: ["body", "quiet_hours"], msg: "Value error, start and end must differ", type: "value_error" }],
    });
    expect(error.fields).toEqual([{ field: "quiet_hours", message: "start and end must differ" }]);
    expect(error.message).toBe("Quiet hours: start and end must differ");
  });

  it("says something useful when the body has no detail (a proxy's error page, an outage)", () => {
    expect(errorFromResponse(502, null).message).toBe("FlowPilot is busy or restarting. Try again in a moment.");
    expect(errorFromResponse(404, { detail: "" }).message).toMatch(/^Not found/);
    expect(errorFromResponse(418, "teapot").message).toBe("The request failed (HTTP 418).");
  });

  it("describes anything thrown", () => {
    expect(describeError(new ApiError(0, null, "FlowPilot could not be reached."))).toBe("FlowPilot could not be reached.");
    expect(describeError(new Error("boom"))).toBe("boom");
    expect(describeError("?")).toBe("Something went wrong.");
  });
});

import { describe, expect, it } from "vitest";
import { kindLabel, linkTarget } from "./display";

const ORIGIN = "https://console.example";

describe("kindLabel", () => {
  it("labels the types the notifier sends, and leaves a new type unlabelled", () => {
    expect(kindLabel("handoff_escalated")).toBe("Escalation");
    expect(kindLabel("handoff_reescalated")).toBe("Reminder");
    expect(kindLabel("handoff_released")).toBe("Released");
    expect(kindLabel("policy_changed")).toBeNull();
    expect(kindLabel("toString")).toBeNull(); // not fooled by the object's own properties
  });
});

describe("linkTarget", () => {
  it("keeps console paths inside the app", () => {
    expect(linkTarget("/pilot/s1?pickup=true", ORIGIN)).toEqual({ internal: "/pilot/s1?pickup=true" });
    expect(linkTarget(`${ORIGIN}/pilot/s1?pickup=true#steps`, ORIGIN)).toEqual({ internal: "/pilot/s1?pickup=true#steps" });
  });

  it("opens other web addresses as links out", () => {
    expect(linkTarget("https://status.example/incident/7", ORIGIN)).toEqual({ external: "https://status.example/incident/7" });
  });

  it("makes no link of nothing, of scripts or of anything it cannot read", () => {
    expect(linkTarget(null, ORIGIN)).toBeNull();
    expect(linkTarget("", ORIGIN)).toBeNull();
    expect(linkTarget("javascript:alert(1)", ORIGIN)).toBeNull();
    expect(linkTarget("data:text/html,hi", ORIGIN)).toBeNull();
    expect(linkTarget("pilot/s1", ORIGIN)).toBeNull();
    expect(linkTarget("//elsewhere.example/x", ORIGIN)).toBeNull();
  });
});

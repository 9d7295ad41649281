import { describe, expect, it } from "vitest";
import { backoffDelay, retryAfterMs } from "./backoff";
import { openStream, type StreamMessage, type StreamState } from "./reader";

type Script = (init: RequestInit) => Response | Promise<Response>;

/** A response whose body sends `chunks`, then ends (or stays open until the request is aborted). */
function sse(chunks: string[], init: RequestInit, { end = true } = {}): Response {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(new TextEncoder().encode(chunk));
      if (end) controller.close();
      else init.signal?.addEventListener("abort", () => controller.error(new Error("aborted")));
    },
  });
  return new Response(body, { headers: { "content-type": "text/event-stream; charset=utf-8" } });
}

/** A fetch that plays `scripts` in order, records each request's headers, then hangs until aborted. */
function fakeFetch(scripts: Script[]) {
  const requests: Record<string, string>[] = [];
  const fetchFn = (async (_url: string, init: RequestInit) => {
    requests.push({ ...(init.headers as Record<string, string>) });
    const script = scripts.shift();
    if (script) return script(init);
    return new Promise<Response>((_, reject) =>
      init.signal?.addEventListener("abort", () => reject(new Error("aborted"))),
    );
  }) as unknown as typeof fetch;
  return { fetchFn, requests };
}

function until(check: () => boolean, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const poll = () => {
      if (check()) return resolve();
      if (Date.now() - started > 5000) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(poll, 1);
    };
    poll();
  });
}

function harness(scripts: Script[], extra: { idleTimeoutMs?: number } = {}) {
  const { fetchFn, requests } = fakeFetch(scripts);
  const messages: StreamMessage[] = [];
  const delays: number[] = [];
  const states: StreamState[] = [];
  const refused: number[] = [];
  const handle = openStream({
    url: "/api/v1/ai-sessions/escalations/stream",
    headers: () => ({ Authorization: "Bearer t0k3n" }),
    onMessage: (m) => messages.push(m),
    onState: (s) => states.push(s),
    onRefused: (status) => refused.push(status),
    fetchFn,
    sleep: async (ms) => {
      delays.push(ms);
    },
    random: () => 1,
    backoff: { baseMs: 100, maxMs: 1000 },
    ...extra,
  });
  return { handle, requests, messages, delays, states, refused };
}

describe("openStream", () => {
  it("sends the bearer header and reads named events with their ids", async () => {
    const h = harness([
      (init) =>
        sse(['event: ready\nid: 5\ndata: {"a":1}\n\n', ": heartbeat\n\nevent: handoff_created\nid: 6\n", 'data: {"b":2}\n\n'], init, {
          end: false,
        }),
    ]);
    await until(() => h.messages.length === 2, "two events");
    expect(h.requests[0]).toMatchObject({ Authorization: "Bearer t0k3n", Accept: "text/event-stream" });
    expect(h.requests[0]).not.toHaveProperty("Last-Event-ID");
    expect(h.messages).toEqual([
      { id: "5", event: "ready", data: '{"a":1}' },
      { id: "6", event: "handoff_created", data: '{"b":2}' },
    ]);
    expect(h.handle.lastEventId()).toBe("6");
    h.handle.close();
  });

  it("resumes from the last event id after a drop", async () => {
    const h = harness([
      (init) => sse(["event: ready\nid: 10\ndata: {}\n\n", "event: notification\nid: 11\ndata: {}\n\n"], init),
      (init) => sse(["event: ready\nid: 12\ndata: {}\n\n"], init),
    ]);
    await until(() => h.requests.length === 3, "a third connection");
    expect(h.requests[1]).toMatchObject({ "Last-Event-ID": "11" });
    expect(h.requests[2]).toMatchObject({ "Last-Event-ID": "12" });
    h.handle.close();
  });

  it("backs off exponentially while connecting fails, capped, and resets once events flow", async () => {
    const down: Script = () => new Response("busy", { status: 502 });
    const h = harness([
      down,
      down,
      down,
      down,
      down,
      (init) => sse(["event: ready\nid: 1\ndata: {}\n\n"], init),
      down,
    ]);
    await until(() => h.requests.length === 8, "eight attempts");
    // random() = 1 makes the jitter factor 1: 100, 200, 400, 800, then the 1000 cap.
    expect(h.delays.slice(0, 5)).toEqual([100, 200, 400, 800, 1000]);
    // The sixth connection delivered an event: the drop after it waits the base delay again.
    expect(h.delays[5]).toBe(100);
    expect(h.delays[6]).toBe(100);
    h.handle.close();
  });

  it("honours Retry-After when the stream is not available yet", async () => {
    const h = harness([
      () => new Response("{}", { status: 503, headers: { "retry-after": "3" } }),
    ]);
    await until(() => h.requests.length === 2, "a second attempt");
    expect(h.delays[0]).toBe(3000);
    h.handle.close();
  });

  it("treats a 200 that is not an event stream (a proxy's error page) as a drop", async () => {
    const h = harness([() => new Response("<html>", { headers: { "content-type": "text/html" } })]);
    await until(() => h.requests.length === 2, "a retry");
    expect(h.messages).toEqual([]);
    h.handle.close();
  });

  it("stops on 401 and 403 without retrying", async () => {
    for (const status of [401, 403]) {
      const h = harness([() => new Response('{"detail":"no"}', { status })]);
      await until(() => h.refused.length === 1, "the refusal");
      expect(h.refused).toEqual([status]);
      expect(h.states.at(-1)).toBe("stopped");
      expect(h.requests).toHaveLength(1);
    }
  });

  it("reconnects when the connection goes silent (no heartbeat) and resumes", async () => {
    const h = harness(
      [(init) => sse(["event: ready\nid: 7\ndata: {}\n\n"], init, { end: false })],
      { idleTimeoutMs: 30 },
    );
    await until(() => h.requests.length === 2, "a reconnect after silence");
    expect(h.requests[1]).toMatchObject({ "Last-Event-ID": "7" });
    h.handle.close();
  });

  it("close() aborts the open request and stops for good", async () => {
    const h = harness([(init) => sse(["event: ready\nid: 1\ndata: {}\n\n"], init, { end: false })]);
    await until(() => h.messages.length === 1, "the ready event");
    h.handle.close();
    await until(() => h.states.at(-1) === "stopped", "the stop");
    expect(h.requests).toHaveLength(1);
  });
});

describe("backoff", () => {
  it("keeps jittered delays between half and all of the capped exponential", () => {
    const policy = { baseMs: 500, maxMs: 30_000 };
    expect(backoffDelay(0, policy, () => 0)).toBe(250);
    expect(backoffDelay(0, policy, () => 1)).toBe(500);
    expect(backoffDelay(3, policy, () => 0.5)).toBe(3000);
    expect(backoffDelay(50, policy, () => 1)).toBe(30_000);
  });

  it("reads Retry-After as seconds or an HTTP date", () => {
    expect(retryAfterMs("2")).toBe(2000);
    expect(retryAfterMs(null)).toBeNull();
    expect(retryAfterMs("soon")).toBeNull();
    expect(retryAfterMs("Thu, 01 Jan 2026 00:00:10 GMT", Date.parse("Thu, 01 Jan 2026 00:00:00 GMT"))).toBe(10_000);
  });
});

// The live stream reader: SSE over fetch, because EventSource cannot send the bearer header.
// eventsource-parser does the wire format; this file adds what the console needs around it:
// resume with Last-Event-ID after a drop, reconnect with back-off, a watchdog for a silent
// connection (heartbeats stop arriving), and a stop on 401/403 (retrying cannot fix those).
import { createParser } from "eventsource-parser";
import { type BackoffPolicy, DEFAULT_BACKOFF, backoffDelay, retryAfterMs } from "./backoff";

export interface StreamMessage {
  id: string | undefined;
  event: string;
  data: string;
}

export type StreamState = "connecting" | "open" | "retrying" | "stopped";

export interface StreamOptions {
  url: string;
  /** Headers for each attempt (the current token); null stops the stream. */
  headers: () => Record<string, string> | null;
  onMessage: (message: StreamMessage) => void;
  onState?: (state: StreamState, detail?: { delayMs?: number; status?: number }) => void;
  /** 401 or 403: the stream stops; the caller decides (sign in again, or no access). */
  onRefused?: (status: number) => void;
  /** No byte for this long (heartbeats included) counts as a drop; read at every byte. */
  idleTimeoutMs?: number | (() => number);
  backoff?: BackoffPolicy;
  fetchFn?: typeof fetch;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  random?: () => number;
}

export interface StreamHandle {
  close(): void;
  lastEventId(): string | undefined;
}

/** How one connection attempt ended. */
type Outcome =
  | { kind: "dropped"; delivered: boolean; retryAfterMs: number | null }
  | { kind: "refused"; status: number }
  | { kind: "no-credentials" };

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done);
  });
}

/** Open the stream; it reconnects until `close()` or a refusal. */
export function openStream(options: StreamOptions): StreamHandle {
  const fetchFn = options.fetchFn ?? ((input, init) => fetch(input, init));
  const sleep = options.sleep ?? abortableSleep;
  const random = options.random ?? Math.random;
  const policy = options.backoff ?? DEFAULT_BACKOFF;
  const idle = options.idleTimeoutMs ?? 75_000;
  const idleTimeoutMs = () => (typeof idle === "function" ? idle() : idle);
  const stopper = new AbortController();
  let lastId: string | undefined;

  async function connectOnce(): Promise<Outcome> {
    const auth = options.headers();
    if (auth === null) return { kind: "no-credentials" };
    const attempt = new AbortController();
    const stopAttempt = () => attempt.abort();
    stopper.signal.addEventListener("abort", stopAttempt);
    let idleTimer: ReturnType<typeof setTimeout> | undefined;
    const armWatchdog = () => {
      clearTimeout(idleTimer);
      idleTimer = setTimeout(() => attempt.abort(), idleTimeoutMs());
    };
    let delivered = false;
    try {
      const headers: Record<string, string> = { ...auth, Accept: "text/event-stream" };
      if (lastId !== undefined) headers["Last-Event-ID"] = lastId;
      armWatchdog();
      const response = await fetchFn(options.url, { headers, signal: attempt.signal, cache: "no-store" });
      if (response.status === 401 || response.status === 403) {
        return { kind: "refused", status: response.status };
      }
      const type = response.headers.get("content-type") ?? "";
      if (!response.ok || !response.body || !type.startsWith("text/event-stream")) {
        const hint = retryAfterMs(response.headers.get("retry-after"));
        return { kind: "dropped", delivered, retryAfterMs: hint };
      }
      options.onState?.("open");
      const parser = createParser({
        onEvent: (event) => {
          delivered = true;
          if (event.id !== undefined) lastId = event.id;
          options.onMessage({ id: event.id, event: event.event ?? "message", data: event.data });
        },
      });
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        armWatchdog();
        parser.feed(value);
      }
    } catch {
      // A network error, an abort (watchdog or close) or a broken body: all mean "dropped".
    } finally {
      clearTimeout(idleTimer);
      stopper.signal.removeEventListener("abort", stopAttempt);
    }
    return { kind: "dropped", delivered, retryAfterMs: null };
  }

  async function run(): Promise<void> {
    let failures = 0;
    while (!stopper.signal.aborted) {
      options.onState?.("connecting");
      const outcome = await connectOnce();
      if (outcome.kind === "refused") {
        options.onState?.("stopped", { status: outcome.status });
        options.onRefused?.(outcome.status);
        return;
      }
      if (outcome.kind === "no-credentials" || stopper.signal.aborted) break;
      // A connection that delivered events resets the back-off; one that failed grows it.
      failures = outcome.delivered ? 0 : failures + 1;
      const delayMs = Math.max(
        outcome.retryAfterMs ?? 0,
        backoffDelay(Math.max(0, failures - 1), policy, random),
      );
      options.onState?.("retrying", { delayMs });
      await sleep(delayMs, stopper.signal);
    }
    options.onState?.("stopped");
  }

  void run();
  return {
    close: () => stopper.abort(),
    lastEventId: () => lastId,
  };
}

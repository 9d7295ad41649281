// Every failure of an API call, turned into words a person can act on (never a blank screen).

export interface FieldProblem {
  field: string;
  message: string;
}

/** A non-2xx answer of the API (or no answer at all: status 0). */
export class ApiError extends Error {
  readonly status: number;
  readonly body: unknown;

  constructor(status: number, body: unknown, message: string) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.body = body;
  }

  /** The 422 body's failing fields, keyed by field name (the last part of `loc`). */
  get fields(): FieldProblem[] {
    return fieldProblems(this.body);
  }

  /** Who holds an escalation, from a lost claim race's 409 body. */
  get claimedBy(): string | null {
    const body = this.body as { claimed_by?: { name?: string } } | null;
    return body?.claimed_by?.name ?? null;
  }
}

const FIELD_LABELS: Record<string, string> = {
  account_name: "Company name",
  owner_email: "Email",
  owner_name: "Your name",
  owner_password: "Password",
  psa_ticket_id: "PSA ticket",
  client_name: "Client",
  target_user_id: "Escalate to",
  base_url: "Base URL",
  bot_token: "Bot token",
  channel_id: "Channel ID",
  webhook_url: "Webhook URL",
  signing_secret: "Signing secret",
  timezone: "Time zone",
  quiet_hours: "Quiet hours",
  chat_mentions: "Slack mentions",
};

/** A field name as the form labels it ("psa_ticket_id" -> "PSA ticket"). */
export function fieldLabel(field: string): string {
  const known = FIELD_LABELS[field];
  if (known) return known;
  const words = field.replace(/_/g, " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function fieldProblems(body: unknown): FieldProblem[] {
  const detail = (body as { detail?: unknown } | null)?.detail;
  if (!Array.isArray(detail)) return [];
  return detail.map((item: { loc?: unknown[]; msg?: string }) => {
    const loc = (item.loc ?? []).filter((part) => part !== "body").map(String);
    // Pydantic prefixes a validator's own sentence with "Value error, ": the sentence is the message.
    const message = (item.msg ?? "is not valid").replace(/^Value error, /, "");
    return { field: loc.join(".") || "request", message };
  });
}

function statusWords(status: number): string {
  if (status === 0) return "FlowPilot could not be reached. Check your connection and try again.";
  if (status === 401) return "Your session has ended. Please sign in again.";
  if (status === 403) return "You do not have access to this.";
  if (status === 404) return "Not found. It may have been removed, or it belongs to another account.";
  if (status === 429) return "Too many requests. Wait a moment and try again.";
  if (status >= 500) return "FlowPilot is busy or restarting. Try again in a moment.";
  return `The request failed (HTTP ${status}).`;
}

/** The sentence shown for an error: the API's own `detail` when it has one. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) return error.message;
  if (error instanceof Error && error.message) return error.message;
  return "Something went wrong.";
}

/** Build the error for a response body: `detail` text, or the 422 list named field by field. */
export function errorFromResponse(status: number, body: unknown): ApiError {
  const problems = fieldProblems(body);
  if (problems.length > 0) {
    const text = problems.map((p) => `${fieldLabel(p.field.split(".").pop() ?? p.field)}: ${p.message}`);
    return new ApiError(status, body, text.join(". "));
  }
  const detail = (body as { detail?: unknown } | null)?.detail;
  const message = typeof detail === "string" && detail ? detail : statusWords(status);
  return new ApiError(status, body, message);
}

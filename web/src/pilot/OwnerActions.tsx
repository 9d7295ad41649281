// What the session's owner can do next: escalate (reason, optional target, urgency) or park, resume, resolve.
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { post } from "../api/client";
import { keys, sessionChanged } from "../api/queries";
import type { Handoff, Session, Urgency, User } from "../api/types";
import { useMe } from "../auth/AuthContext";
import { isEngineerOrAdmin, isOwnerOrAdmin } from "../auth/roles";
import { ErrorMessage } from "../components/ErrorMessage";
import { Field, fieldError } from "../components/Field";

const CAN_ESCALATE = new Set(["active", "parked", "picked_up"]);
const CAN_PARK = new Set(["active", "picked_up"]);

function useSessionAction<T>(sessionId: string, call: () => Promise<T>) {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: call,
    onSettled: () => {
      sessionChanged(queryClient, sessionId);
      void queryClient.invalidateQueries({ queryKey: keys.queue });
    },
  });
}

function HandoffForm({ session, users }: { session: Session; users: User[] }) {
  const me = useMe();
  const canPark = CAN_PARK.has(session.status);
  const [chosen, setIntent] = useState<"escalate" | "park">("escalate");
  const intent = canPark ? chosen : "escalate";
  const [reason, setReason] = useState("");
  const [target, setTarget] = useState("");
  const [urgency, setUrgency] = useState<Urgency>("normal");
  const escalating = intent === "escalate";
  const handoff = useSessionAction(session.id, () =>
    post<Handoff>(`/ai-sessions/${session.id}/handoff`, {
      intent,
      reason,
      target_user_id: escalating && target ? target : null,
      ...(escalating ? { urgency } : {}),
    }),
  );
  const seniors = users.filter((u) => u.is_active && u.id !== me.id && isEngineerOrAdmin(u.role));
  const submit = (event: FormEvent) => {
    event.preventDefault();
    handoff.mutate(undefined, {
      onSuccess: () => {
        setReason("");
        setIntent("escalate");
        setUrgency("normal");
      },
    });
  };
  return (
    <form className="handoff-form" onSubmit={submit} aria-label="Hand off">
      <fieldset>
        <legend>Hand off</legend>
        <label className="choice">
          <input type="radio" name="intent" checked={intent === "escalate"} onChange={() => setIntent("escalate")} />
          Escalate to a senior
        </label>
        {canPark && (
          <label className="choice">
            <input type="radio" name="intent" checked={intent === "park"} onChange={() => setIntent("park")} />
            Park (private, come back later)
          </label>
        )}
      </fieldset>
      <Field
        label={escalating ? "Why escalate" : "Why park"}
        error={fieldError(handoff.error, "reason")}
      >
        {(p) => <textarea {...p} required rows={2} value={reason} onChange={(e) => setReason(e.target.value)} />}
      </Field>
      {escalating && (
        <fieldset className="urgency" aria-describedby="urgency-hint">
          <legend>Urgency</legend>
          <label className="choice">
            <input type="radio" name="urgency" checked={urgency === "normal"} onChange={() => setUrgency("normal")} />
            Normal
          </label>
          <label className="choice">
            <input type="radio" name="urgency" checked={urgency === "high"} onChange={() => setUrgency("high")} />
            High
          </label>
          <span className="hint" id="urgency-hint">
            High is marked in the queue and emails seniors even during their quiet hours.
          </span>
          {fieldError(handoff.error, "urgency") && (
            <span className="field-error">Urgency: {fieldError(handoff.error, "urgency")}</span>
          )}
        </fieldset>
      )}
      {escalating && (
        <Field label="Escalate to" hint="Leave on “Anyone” to notify every senior." error={fieldError(handoff.error, "target_user_id")}>
          {(p) => (
            <select {...p} value={target} onChange={(e) => setTarget(e.target.value)}>
              <option value="">Anyone (the shared queue)</option>
              {seniors.map((u) => (
                <option key={u.id} value={u.id}>
                  {u.name} ({u.role})
                </option>
              ))}
            </select>
          )}
        </Field>
      )}
      <ErrorMessage error={handoff.error} />
      <button type="submit" className="primary" disabled={handoff.isPending}>
        {escalating ? "Escalate" : "Park"}
      </button>
    </form>
  );
}

export function OwnerActions({ session, users }: { session: Session; users: User[] }) {
  const me = useMe();
  const owner = session.owner_id === me.id;
  const resume = useSessionAction(session.id, () => post<Session>(`/ai-sessions/${session.id}/resume`));
  const resolve = useSessionAction(session.id, () => post<Session>(`/ai-sessions/${session.id}/resolve`));
  const canResolve = session.status !== "resolved" && (owner || isOwnerOrAdmin(me.role));
  if (!owner && !canResolve) return null;
  return (
    <section className="panel actions" aria-labelledby="actions-title">
      <h2 id="actions-title">Next</h2>
      {owner && session.status === "parked" && (
        <p>
          This session is parked.{" "}
          <button type="button" className="primary" onClick={() => resume.mutate()} disabled={resume.isPending}>
            Resume
          </button>
        </p>
      )}
      <ErrorMessage error={resume.error} />
      {owner && CAN_ESCALATE.has(session.status) && <HandoffForm session={session} users={users} />}
      {canResolve && (
        <p>
          <button type="button" onClick={() => resolve.mutate()} disabled={resolve.isPending}>
            Resolve
          </button>
        </p>
      )}
      <ErrorMessage error={resolve.error} />
    </section>
  );
}

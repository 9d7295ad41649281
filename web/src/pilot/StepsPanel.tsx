// The session's steps, and (for its current owner) the form to add one.
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { post } from "../api/client";
import { sessionChanged } from "../api/queries";
import type { Session, Step, StepKind, User } from "../api/types";
import { ErrorMessage } from "../components/ErrorMessage";
import { Field, fieldError } from "../components/Field";
import { when } from "../components/time";

const KINDS: { value: StepKind; label: string }[] = [
  { value: "action", label: "Action tried" },
  { value: "observation", label: "Observation" },
  { value: "note", label: "Note" },
  { value: "ai_suggestion", label: "AI suggestion" },
];
const kindLabel = (kind: StepKind) => KINDS.find((k) => k.value === kind)?.label ?? kind;

function AddStep({ sessionId }: { sessionId: string }) {
  const queryClient = useQueryClient();
  const [kind, setKind] = useState<StepKind>("action");
  const [content, setContent] = useState("");
  const add = useMutation({
    mutationFn: (step: { kind: StepKind; content: string }) => post<Step>(`/ai-sessions/${sessionId}/steps`, step),
    onSuccess: (_step, sent) => {
      // Clear only what was sent: the next step may already be being typed.
      setContent((current) => (current === sent.content ? "" : current));
      sessionChanged(queryClient, sessionId);
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    add.mutate({ kind, content });
  };
  return (
    <form className="add-step" onSubmit={submit}>
      <Field label="Kind of step" error={fieldError(add.error, "kind")}>
        {(p) => (
          <select {...p} value={kind} onChange={(e) => setKind(e.target.value as StepKind)}>
            {KINDS.map((k) => (
              <option key={k.value} value={k.value}>
                {k.label}
              </option>
            ))}
          </select>
        )}
      </Field>
      <Field label="What happened" error={fieldError(add.error, "content")}>
        {(p) => <textarea {...p} required rows={3} value={content} onChange={(e) => setContent(e.target.value)} />}
      </Field>
      <ErrorMessage error={add.error} />
      <button type="submit" disabled={add.isPending}>
        Add step
      </button>
    </form>
  );
}

export function StepsPanel({ session, users, canAdd }: { session: Session; users: User[]; canAdd: boolean }) {
  const name = (id: string) => users.find((u) => u.id === id)?.name ?? "someone";
  return (
    <section className="panel" aria-labelledby="steps-title">
      <h2 id="steps-title">Steps ({session.steps.length})</h2>
      {session.steps.length === 0 && <p className="subtle">No steps yet.</p>}
      <ol className="steps">
        {session.steps.map((step) => (
          <li key={step.id} className={`step step-${step.kind}`}>
            <p className="step-head">
              <span className="badge">{kindLabel(step.kind)}</span> {name(step.author_id)} · {when(step.created_at)}
            </p>
            <p className="step-body">{step.content}</p>
          </li>
        ))}
      </ol>
      {canAdd && <AddStep sessionId={session.id} />}
    </section>
  );
}

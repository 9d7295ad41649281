// The junior's start: a new troubleshooting session, then straight to its screen.
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { useNavigate } from "react-router";
import { post } from "../api/client";
import { sessionChanged } from "../api/queries";
import type { Session } from "../api/types";
import { ErrorMessage } from "../components/ErrorMessage";
import { Field, fieldError } from "../components/Field";

const EMPTY = { title: "", problem: "", client_name: "", psa_ticket_id: "" };

export function NewSessionForm() {
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const [form, setForm] = useState(EMPTY);
  const create = useMutation({
    mutationFn: () =>
      post<Session>("/ai-sessions", {
        title: form.title,
        problem: form.problem,
        client_name: form.client_name.trim() || null,
        psa_ticket_id: form.psa_ticket_id.trim() || null,
      }),
    onSuccess: (session) => {
      sessionChanged(queryClient, session.id);
      navigate(`/pilot/${session.id}`);
    },
  });
  const set = (name: keyof typeof EMPTY) => (e: { target: { value: string } }) =>
    setForm((f) => ({ ...f, [name]: e.target.value }));
  const err = (name: string) => fieldError(create.error, name);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate();
  };
  return (
    <form className="panel new-session" onSubmit={submit} aria-labelledby="new-session-title">
      <h2 id="new-session-title">New session</h2>
      <Field label="Title" error={err("title")}>
        {(p) => <input {...p} required value={form.title} onChange={set("title")} />}
      </Field>
      <Field label="Problem" error={err("problem")}>
        {(p) => <textarea {...p} required rows={4} value={form.problem} onChange={set("problem")} />}
      </Field>
      <div className="row">
        <Field label="Client" error={err("client_name")}>
          {(p) => <input {...p} value={form.client_name} onChange={set("client_name")} />}
        </Field>
        <Field label="PSA ticket" error={err("psa_ticket_id")}>
          {(p) => <input {...p} value={form.psa_ticket_id} onChange={set("psa_ticket_id")} />}
        </Field>
      </div>
      <ErrorMessage error={create.error} />
      <button type="submit" className="primary" disabled={create.isPending}>
        Start session
      </button>
    </form>
  );
}

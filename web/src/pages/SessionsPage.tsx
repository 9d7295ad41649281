// The junior's side: start a session, and come back to the ones worked in this browser.
import { useMutation, useQueries } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { Link, useNavigate } from "react-router";
import { post } from "../api/client";
import { sessionQuery } from "../api/queries";
import type { Session } from "../api/types";
import { useMe } from "../auth/AuthContext";
import { isEngineerOrAdmin } from "../auth/roles";
import { ErrorMessage } from "../components/ErrorMessage";
import { Field, fieldError } from "../components/Field";
import { StatusBadge } from "../components/StatusBadge";
import { when } from "../components/time";
import { recentSessions, rememberSession } from "../sessions/recent";

const EMPTY = { title: "", problem: "", client_name: "", psa_ticket_id: "" };

function NewSession() {
  const me = useMe();
  const navigate = useNavigate();
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
      rememberSession(me.id, session.id);
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

export function SessionsPage() {
  const me = useMe();
  const ids = recentSessions(me.id);
  const sessions = useQueries({ queries: ids.map((id) => sessionQuery(id)) });
  return (
    <section>
      <div className="page-head">
        <h1>Sessions</h1>
        <p className="subtle">Work a customer's problem step by step; escalate or park it when you are stuck.</p>
      </div>
      {isEngineerOrAdmin(me.role) ? <NewSession /> : <p className="notice">Viewers can read sessions but not start them.</p>}
      <h2>Your recent sessions</h2>
      {ids.length === 0 && <p className="empty">No sessions yet in this browser.</p>}
      <ul className="session-list">
        {sessions.map((q, i) => {
          if (q.isPending) return <li key={ids[i]}>Loading…</li>;
          if (q.isError) return null; // removed, or no longer visible to this account
          const s = q.data;
          return (
            <li key={s.id} className="session-row">
              <Link to={`/pilot/${s.id}`}>{s.title}</Link> <StatusBadge status={s.status} />
              <span className="subtle">
                {s.client_name ? `${s.client_name} · ` : ""}updated {when(s.updated_at)}
              </span>
            </li>
          );
        })}
      </ul>
    </section>
  );
}

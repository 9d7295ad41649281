// The delivery records of one session (email, Slack, Teams), failures shown plainly.
import { useQuery } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { deliveriesQuery } from "../api/queries";
import { DataTable } from "../components/DataTable";
import { ErrorMessage } from "../components/ErrorMessage";
import { Field } from "../components/Field";
import { when } from "../components/time";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A session id, or the id inside a pasted /pilot/{id} link. */
function sessionIdOf(text: string): string | null {
  const match = text.trim().match(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i);
  return match && UUID.test(match[0]) ? match[0] : null;
}

export function DeliveriesSection() {
  const [text, setText] = useState("");
  const [sessionId, setSessionId] = useState<string | null>(null);
  const [invalid, setInvalid] = useState(false);
  const records = useQuery({ ...deliveriesQuery(sessionId ?? ""), enabled: sessionId !== null });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const id = sessionIdOf(text);
    setInvalid(id === null);
    setSessionId(id);
  };
  const rows = records.data ?? [];
  return (
    <section aria-labelledby="deliveries-title">
      <h2 id="deliveries-title">Deliveries</h2>
      <p className="subtle">Every email, Slack and Teams message sent for a session, and what became of it.</p>
      <form className="row" onSubmit={submit}>
        <Field label="Session ID or link" error={invalid ? "paste a session id or its /pilot/… link" : undefined}>
          {(p) => <input {...p} value={text} onChange={(e) => setText(e.target.value)} />}
        </Field>
        <button type="submit">Show deliveries</button>
      </form>
      <ErrorMessage error={records.error} />
      {sessionId && records.isSuccess && rows.length === 0 && <p className="empty">No deliveries for this session.</p>}
      {rows.length > 0 && (
        <DataTable columns={["Channel", "Recipient", "Status", "Attempts", "Last error", "Updated"]}>
          {rows.map((d) => (
            <tr key={d.id} className={`delivery-${d.status}`}>
              <td>{d.channel}</td>
              <td>{d.recipient}</td>
              <td>
                <span className={`badge delivery-${d.status}`}>{d.status}</span>
              </td>
              <td>{d.attempts}</td>
              <td className={d.last_error ? "error-text" : ""}>{d.last_error ?? "—"}</td>
              <td>{when(d.updated_at)}</td>
            </tr>
          ))}
        </DataTable>
      )}
    </section>
  );
}

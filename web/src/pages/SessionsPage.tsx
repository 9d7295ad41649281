// The junior's side: start a session, and the account's sessions from the API (mine by default,
// the team's on request, filtered by status), the same on every device.
import { useQuery } from "@tanstack/react-query";
import { Link, useSearchParams } from "react-router";
import { SESSIONS_LIMIT, sessionsQuery, usersQuery } from "../api/queries";
import type { SessionSummary } from "../api/types";
import { useMe } from "../auth/AuthContext";
import { isEngineerOrAdmin } from "../auth/roles";
import { ErrorMessage } from "../components/ErrorMessage";
import { StatusBadge } from "../components/StatusBadge";
import { when } from "../components/time";
import {
  readFilters,
  STATUS_CHOICES,
  type SessionFilters,
  statusChoice,
  type Whose,
  writeFilters,
} from "../sessions/filters";
import { NewSessionForm } from "../sessions/NewSessionForm";

function SessionRow({ session, owner }: { session: SessionSummary; owner: string | null }) {
  return (
    <li className="session-row">
      <Link to={`/pilot/${session.id}`}>{session.title}</Link> <StatusBadge status={session.status} />
      <span className="subtle">
        {owner && `Owner: ${owner} · `}
        {session.client_name && `${session.client_name} · `}
        {session.psa_ticket_id && `ticket ${session.psa_ticket_id} · `}
        updated {when(session.updated_at)}
      </span>
    </li>
  );
}

function Filters({ filters, canOwn, onChange }: { filters: SessionFilters; canOwn: boolean; onChange: (f: SessionFilters) => void }) {
  return (
    <div className="filters">
      {canOwn && (
        <fieldset className="segmented">
          <legend>Show</legend>
          {(["mine", "team"] as Whose[]).map((whose) => (
            <label key={whose} className="choice">
              <input
                type="radio"
                name="whose"
                checked={filters.whose === whose}
                onChange={() => onChange({ ...filters, whose })}
              />
              {whose === "mine" ? "My sessions" : "The whole team's"}
            </label>
          ))}
        </fieldset>
      )}
      <div className="field">
        <label htmlFor="session-status">Status</label>
        <select
          id="session-status"
          value={filters.status.value}
          onChange={(e) => onChange({ ...filters, status: statusChoice(e.target.value) })}
        >
          {STATUS_CHOICES.map((c) => (
            <option key={c.value} value={c.value}>
              {c.label}
            </option>
          ))}
        </select>
      </div>
    </div>
  );
}

export function SessionsPage() {
  const me = useMe();
  const senior = isEngineerOrAdmin(me.role);
  // Viewers own no sessions (they cannot start or claim one): theirs is always the team's view.
  const own: Whose = senior ? "mine" : "team";
  const [params, setParams] = useSearchParams();
  const filters = readFilters(params, own);
  const mine = senior && filters.whose === "mine";
  const list = useQuery(sessionsQuery({ mine, statuses: filters.status.statuses }));
  const users = useQuery({ ...usersQuery, enabled: !mine });
  const ownerName = (id: string) =>
    id === me.id ? "you" : (users.data?.find((u) => u.id === id)?.name ?? "a teammate");
  const rows = list.data ?? [];
  const filtered = filters.status.value !== "";
  return (
    <section>
      <div className="page-head">
        <h1>Sessions</h1>
        <p className="subtle">Work a customer's problem step by step; escalate or park it when you are stuck.</p>
      </div>
      {senior ? <NewSessionForm /> : <p className="notice">Viewers can read sessions but not start them.</p>}
      <section aria-labelledby="session-list-title">
        <h2 id="session-list-title">{mine ? "Your sessions" : "The team's sessions"}</h2>
        <Filters filters={filters} canOwn={senior} onChange={(f) => setParams(writeFilters(f, own), { replace: true })} />
        <ErrorMessage error={list.error} />
        {list.isPending && <p role="status">Loading sessions…</p>}
        {list.isSuccess && rows.length === 0 && (
          <p className="empty">
            {filtered ? "No sessions match this filter." : mine ? "You have no sessions yet." : "The team has no sessions yet."}
          </p>
        )}
        <ul className="session-list" aria-label={mine ? "Your sessions" : "The team's sessions"}>
          {rows.map((s) => (
            <SessionRow key={s.id} session={s} owner={mine ? null : ownerName(s.owner_id)} />
          ))}
        </ul>
        {rows.length >= SESSIONS_LIMIT && (
          <p className="subtle">The {SESSIONS_LIMIT} most recently changed are shown; narrow the status to see others.</p>
        )}
      </section>
    </section>
  );
}

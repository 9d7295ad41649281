// /analytics (owner/admin): how many escalations, how many picked up, how fast, by whom, and time to
// pickup per day. The API answers one window at a time, so the per-day series is one call per day
// (per few days past 31 days), at most MAX_BUCKETS calls, PARALLEL at a time. Loaded lazily: the
// chart library is not part of the console's first load.
import { type UseQueryResult, useQueries, useQuery } from "@tanstack/react-query";
import pLimit from "p-limit";
import { type FormEvent, useCallback, useMemo, useState } from "react";
import { useSearchParams } from "react-router";
import { analyticsQuery, fetchEscalationStats } from "../api/queries";
import type { EscalationStats } from "../api/types";
import { useMe } from "../auth/AuthContext";
import { isOwnerOrAdmin } from "../auth/roles";
import { DataTable } from "../components/DataTable";
import { ErrorMessage } from "../components/ErrorMessage";
import { Field } from "../components/Field";
import { durationWords } from "../components/time";
import { type PickupPoint, PickupChart } from "./PickupChart";
import { bucketsOf, type DateRange, defaultRange, rangeProblem, windowOf } from "./range";

const PARALLEL = 4;
const limit = pLimit(PARALLEL);

const wait = (seconds: number | null) => (seconds === null ? "—" : durationWords(seconds));

function Totals({ stats }: { stats: EscalationStats }) {
  const facts: [string, string | number][] = [
    ["Escalations", stats.escalations],
    ["Picked up", stats.claimed],
    ["Still unclaimed", stats.unclaimed],
    ["Needed reminders", stats.reescalated],
    ["Median time to pickup", wait(stats.median_time_to_pickup_seconds)],
    ["p90 time to pickup", wait(stats.p90_time_to_pickup_seconds)],
  ];
  return (
    <dl className="stats" aria-label="Totals">
      {facts.map(([label, value]) => (
        <div key={label} className="stat">
          <dt>{label}</dt>
          <dd>{value}</dd>
        </div>
      ))}
    </dl>
  );
}

function Claimers({ stats }: { stats: EscalationStats }) {
  if (stats.by_claimer.length === 0) return <p className="empty">Nobody picked up an escalation in this range.</p>;
  return (
    <DataTable
      columns={["Senior", "Picked up", "Median time to pickup"]}
      caption="Who picked up the range's escalations (the claim that holds each now)"
    >
      {stats.by_claimer.map((c) => (
        <tr key={c.user_id}>
          <td>{c.name}</td>
          <td>{c.claimed}</td>
          <td>{wait(c.median_time_to_pickup_seconds)}</td>
        </tr>
      ))}
    </DataTable>
  );
}

function PerDay({ range }: { range: DateRange }) {
  const buckets = useMemo(() => bucketsOf(range), [range]);
  // `combine` keeps the same answer while no query changed, so the chart redraws only on news.
  const combine = useCallback(
    (results: UseQueryResult<EscalationStats>[]) => ({
      stats: results.map((r) => r.data ?? null),
      done: results.filter((r) => r.isSuccess).length,
      failure: results.find((r) => r.isError)?.error ?? null,
      points: buckets.map(
        (b, i): PickupPoint => ({
          t: Date.parse(b.since) / 1000,
          median: results[i]?.data?.median_time_to_pickup_seconds ?? null,
          p90: results[i]?.data?.p90_time_to_pickup_seconds ?? null,
        }),
      ),
    }),
    [buckets],
  );
  const { stats, done, failure, points } = useQueries({
    queries: buckets.map((b) => ({
      queryKey: analyticsQuery(b.since, b.until).queryKey,
      queryFn: () => limit(() => fetchEscalationStats(b.since, b.until)),
      staleTime: 60_000,
    })),
    combine,
  });
  const perDays = buckets[0]?.days ?? 1;
  const unit = perDays === 1 ? "day" : `${perDays} days`;
  const label = points.filter((p) => p.median !== null).map((p) => `${new Date(p.t * 1000).toLocaleDateString()}: ${wait(p.median)}`);
  return (
    <section className="panel" aria-labelledby="per-day-title">
      <h2 id="per-day-title">Time to pickup per {unit}</h2>
      <p className="subtle">
        Median (solid) and p90 (dashed) of the escalations created each {unit}; a gap is a {unit} with no pickup.
      </p>
      {done < buckets.length && !failure && (
        <p role="status">
          Reading {buckets.length} {perDays === 1 ? "days" : "periods"}: {done} done…
        </p>
      )}
      <ErrorMessage error={failure} prefix="Some days could not be read" />
      <figure className="chart-figure" role="img" aria-label={`Median time to pickup per ${unit}. ${label.join("; ") || "No pickups."}`}>
        <PickupChart points={points} perDays={perDays} />
      </figure>
      <details>
        <summary>The figures</summary>
        <DataTable columns={[perDays === 1 ? "Day" : "From", "Escalations", "Median", "p90"]}>
          {buckets.map((b, i) => (
            <tr key={b.day}>
              <td>{new Date(Date.parse(b.since)).toLocaleDateString()}</td>
              <td>{stats[i]?.escalations ?? "…"}</td>
              <td>{wait(stats[i]?.median_time_to_pickup_seconds ?? null)}</td>
              <td>{wait(stats[i]?.p90_time_to_pickup_seconds ?? null)}</td>
            </tr>
          ))}
        </DataTable>
      </details>
    </section>
  );
}

export default function AnalyticsPage() {
  const me = useMe();
  const [params, setParams] = useSearchParams();
  const fallback = useMemo(() => defaultRange(), []);
  const range: DateRange = useMemo(
    () => ({ from: params.get("from") ?? fallback.from, to: params.get("to") ?? fallback.to }),
    [params, fallback],
  );
  const [draft, setDraft] = useState(range);
  const { since, until } = windowOf(range);
  const stats = useQuery({ ...analyticsQuery(since, until), enabled: isOwnerOrAdmin(me.role) });

  if (!isOwnerOrAdmin(me.role)) {
    return (
      <section>
        <h1>Analytics</h1>
        <p className="notice">Analytics are for owners and admins.</p>
      </section>
    );
  }
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setParams({ from: draft.from, to: draft.to });
  };
  const problem = rangeProblem(stats.error);
  return (
    <section className="analytics">
      <div className="page-head">
        <h1>Analytics</h1>
        <p className="subtle">Escalations created in the range, in this browser's time zone.</p>
      </div>
      <form className="row filters" onSubmit={submit} aria-label="Date range" noValidate>
        <Field label="From" error={problem && /From/.test(problem) ? problem : undefined}>
          {(p) => <input {...p} type="date" value={draft.from} onChange={(e) => setDraft({ ...draft, from: e.target.value })} />}
        </Field>
        <Field label="To" error={problem && /To/.test(problem) && !/From/.test(problem) ? problem : undefined}>
          {(p) => <input {...p} type="date" value={draft.to} onChange={(e) => setDraft({ ...draft, to: e.target.value })} />}
        </Field>
        <button type="submit" className="primary">
          Show
        </button>
      </form>
      {problem ? (
        <p className="error" role="alert">
          Not a range: {problem}
        </p>
      ) : (
        <ErrorMessage error={stats.error} />
      )}
      {stats.isPending && !stats.isError && <p role="status">Loading…</p>}
      {stats.isSuccess && (
        <>
          <Totals stats={stats.data} />
          <PerDay range={range} />
          <section className="panel" aria-labelledby="claimers-title">
            <h2 id="claimers-title">Pickups by senior</h2>
            <Claimers stats={stats.data} />
          </section>
        </>
      )}
    </section>
  );
}

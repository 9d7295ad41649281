// The account's escalation policy (owner/admin): how long an escalation may wait before everyone is
// reminded, how many reminder rounds, then the owners and admins are told.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { put } from "../api/client";
import { keys, policyQuery } from "../api/queries";
import type { EscalationPolicy } from "../api/types";
import { ErrorMessage } from "../components/ErrorMessage";
import { Field } from "../components/Field";
import { when } from "../components/time";
import {
  draftSentence,
  policyBody,
  policyDraft,
  type PolicyDraft,
  policyProblems,
  policySentence,
  type Unit,
  UNIT_SECONDS,
} from "./policy";

function PolicyForm({ saved }: { saved: EscalationPolicy }) {
  const queryClient = useQueryClient();
  const [draft, setDraft] = useState(() => policyDraft(saved));
  const save = useMutation({
    mutationFn: (body: ReturnType<typeof policyBody>) => put<EscalationPolicy>("/escalation-policy", body),
    onSuccess: (stored) => {
      queryClient.setQueryData(keys.policy, stored);
      setDraft(policyDraft(stored));
    },
  });
  const problems = policyProblems(save.error);
  const change = (patch: Partial<PolicyDraft>) => {
    save.reset();
    setDraft((d) => ({ ...d, ...patch }));
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    save.mutate(policyBody(draft));
  };
  const preview = draftSentence(draft);
  const now = policySentence(saved.reescalate_after_seconds, saved.max_rounds);
  const changed = preview !== null && JSON.stringify(policyBody(draft)) !== JSON.stringify(policyBody(policyDraft(saved)));
  return (
    <form className="panel preferences" onSubmit={submit} aria-labelledby="policy-title" noValidate>
      <h2 id="policy-title">Escalation policy</h2>
      <p className="subtle">What happens to an escalation nobody picks up. It applies to escalations waiting now too.</p>
      <p className="saved-line" data-testid="policy-now">
        <strong>Now:</strong> {now}
        {saved.updated_at ? <span className="subtle"> (changed {when(saved.updated_at)})</span> : <span className="subtle"> (the default)</span>}
      </p>

      <div className="row top">
        <Field label="Remind after" hint="Between 5 seconds and 24 hours." error={problems.reescalate_after_seconds}>
          {(p) => (
            <input
              {...p}
              type="number"
              inputMode="decimal"
              min={0}
              value={draft.amount}
              onChange={(e) => change({ amount: e.target.value })}
            />
          )}
        </Field>
        <Field label="Unit">
          {(p) => (
            <select {...p} value={draft.unit} onChange={(e) => change({ unit: e.target.value as Unit })}>
              {(Object.keys(UNIT_SECONDS) as Unit[]).map((unit) => (
                <option key={unit} value={unit}>
                  {unit}
                </option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Reminder rounds" hint="0 to 10; 0 tells the owners and admins at once." error={problems.max_rounds}>
          {(p) => (
            <input
              {...p}
              type="number"
              inputMode="numeric"
              min={0}
              max={10}
              value={draft.rounds}
              onChange={(e) => change({ rounds: e.target.value })}
            />
          )}
        </Field>
      </div>
      {changed && (
        <p className="notice" data-testid="policy-preview">
          <strong>After saving:</strong> {preview}
        </p>
      )}

      {Object.keys(problems).length > 0 ? (
        <p className="error" role="alert">
          Not saved.{" "}
          {problems.reescalate_after_seconds && `Remind after: ${problems.reescalate_after_seconds} `}
          {problems.max_rounds && `Reminder rounds: ${problems.max_rounds}`}
        </p>
      ) : (
        <ErrorMessage error={save.error} prefix="Not saved" />
      )}
      {save.isSuccess && <p role="status">Saved.</p>}
      <button type="submit" className="primary" disabled={save.isPending}>
        Save policy
      </button>
    </form>
  );
}

export function PolicySection() {
  const saved = useQuery(policyQuery);
  if (saved.isPending) return <p role="status">Loading…</p>;
  if (saved.isError) return <ErrorMessage error={saved.error} />;
  return <PolicyForm saved={saved.data} />;
}

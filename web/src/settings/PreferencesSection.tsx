// Notification preferences: every signed-in person's own (viewers too). Time zone, quiet hours,
// email and Slack mentions; the API replaces the whole document on save.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { put } from "../api/client";
import { keys, preferencesQuery } from "../api/queries";
import type { NotificationPreferences } from "../api/types";
import { ErrorMessage } from "../components/ErrorMessage";
import { Field } from "../components/Field";
import { useNow } from "../components/useNow";
import {
  bodyOf,
  draftOf,
  isChanged,
  type PreferenceField,
  preferenceProblems,
  type PreferencesDraft,
  savedWords,
  windowWords,
} from "./preferences";
import { browserZone, clockIn, zoneChoices } from "./timezones";

function PreferencesForm({ saved }: { saved: NotificationPreferences }) {
  const queryClient = useQueryClient();
  const now = useNow(30_000);
  const [draft, setDraft] = useState(() => draftOf(saved));
  const [zones] = useState(() => zoneChoices([saved.timezone, browserZone()]));
  const save = useMutation({
    mutationFn: (body: NotificationPreferences) => put<NotificationPreferences>("/me/notification-preferences", body),
    onSuccess: (stored) => queryClient.setQueryData(keys.preferences, stored),
  });
  const problems = preferenceProblems(save.error);
  const problem = (field: PreferenceField) => problems.find((p) => p.field === field)?.message;
  const change = (patch: Partial<PreferencesDraft>) => {
    save.reset();
    setDraft((d) => ({ ...d, ...patch }));
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    save.mutate(bodyOf(draft));
  };
  const here = browserZone();
  const changed = isChanged(draft, saved);
  const quietWindow = draft.quietHours ? windowWords(draft.start, draft.end) : "";
  const clock = clockIn(draft.timezone, new Date(now));
  return (
    <form className="panel preferences" onSubmit={submit} aria-labelledby="prefs-title" noValidate>
      <h2 id="prefs-title">Notification preferences</h2>
      <p className="subtle">How FlowPilot reaches you away from the console. The bell always shows everything.</p>
      <p className="saved-line">
        <strong>Saved:</strong> {savedWords(saved)}
      </p>

      <Field
        label="Time zone"
        hint={clock ? `Quiet hours follow this zone's clock: it is ${clock} there now.` : undefined}
        error={problem("timezone")}
      >
        {(p) => (
          <select {...p} value={draft.timezone} onChange={(e) => change({ timezone: e.target.value })}>
            {zones.map((zone) => (
              <option key={zone} value={zone}>
                {zone}
              </option>
            ))}
          </select>
        )}
      </Field>
      {here && here !== draft.timezone && (
        <p>
          <button type="button" onClick={() => change({ timezone: here })}>
            Use this browser's time zone ({here})
          </button>
        </p>
      )}

      <fieldset aria-describedby="quiet-hint">
        <legend>Quiet hours</legend>
        <label className="choice">
          <input type="checkbox" checked={draft.quietHours} onChange={(e) => change({ quietHours: e.target.checked })} />
          Hold email and Slack mentions during quiet hours
        </label>
        {draft.quietHours && (
          <div className="row">
            {(["start", "end"] as const).map((end) => (
              <Field key={end} label={end === "start" ? "Quiet from" : "Quiet until"} error={problem(end)}>
                {(p) => (
                  <input
                    {...p}
                    type="time"
                    required
                    value={draft[end]}
                    aria-invalid={p["aria-invalid"] || Boolean(problem("quiet_hours"))}
                    onChange={(e) => change({ [end]: e.target.value })}
                  />
                )}
              </Field>
            ))}
          </div>
        )}
        {quietWindow && <p className="subtle">No email or Slack mention from {quietWindow}, on your clock.</p>}
        <span className="hint" id="quiet-hint">
          A start later than the end runs past midnight. High-urgency escalations still reach you.
        </span>
        {problem("quiet_hours") && <span className="field-error">Quiet hours: {problem("quiet_hours")}</span>}
      </fieldset>

      <fieldset>
        <legend>Channels</legend>
        <label className="choice">
          <input type="checkbox" checked={draft.email} onChange={(e) => change({ email: e.target.checked })} />
          Email me about escalations
        </label>
        {problem("email") && <span className="field-error">Email: {problem("email")}</span>}
        <label className="choice">
          <input
            type="checkbox"
            checked={draft.chatMentions}
            onChange={(e) => change({ chatMentions: e.target.checked })}
          />
          Mention me in the team's Slack messages
        </label>
        {problem("chat_mentions") && <span className="field-error">Slack mentions: {problem("chat_mentions")}</span>}
      </fieldset>

      {problems.length > 0 ? (
        <p className="error" role="alert">
          {problems.map((p) => `${p.label}: ${p.message}`).join(" ")}
        </p>
      ) : (
        <ErrorMessage error={save.error} prefix="Not saved" />
      )}
      {save.isSuccess && <p role="status">Saved.</p>}
      {changed && !save.isPending && <p className="subtle">You have unsaved changes.</p>}
      <button type="submit" className="primary" disabled={save.isPending}>
        Save preferences
      </button>
    </form>
  );
}

export function PreferencesSection() {
  const saved = useQuery(preferencesQuery);
  if (saved.isPending) return <p role="status">Loading…</p>;
  if (saved.isError) return <ErrorMessage error={saved.error} />;
  return <PreferencesForm saved={saved.data} />;
}

// PSA, Slack and Teams connections (owner/admin). Secrets are write-only: the API says only
// whether each is set, and a form always sends them afresh.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, type ReactNode, useState } from "react";
import { del, put } from "../api/client";
import { fieldLabel } from "../api/errors";
import { integrationsQuery, keys } from "../api/queries";
import type { Integration, IntegrationKind } from "../api/types";
import { ErrorMessage } from "../components/ErrorMessage";
import { Field, fieldError } from "../components/Field";
import { when } from "../components/time";

const PSA_FIELDS: Record<string, { name: string; label: string; optional?: boolean }[]> = {
  connectwise: [
    { name: "company_id", label: "Company ID" },
    { name: "public_key", label: "Public key" },
    { name: "private_key", label: "Private key" },
    { name: "client_id", label: "Client ID" },
  ],
  autotask: [
    { name: "username", label: "API user name" },
    { name: "secret", label: "Secret" },
    { name: "integration_code", label: "Integration code" },
  ],
  halopsa: [
    { name: "client_id", label: "Client ID" },
    { name: "client_secret", label: "Client secret" },
    { name: "tenant", label: "Tenant", optional: true },
  ],
};

function useSave<T>(call: (body: T) => Promise<unknown>) {
  const queryClient = useQueryClient();
  return useMutation({ mutationFn: call, onSettled: () => queryClient.invalidateQueries({ queryKey: keys.integrations }) });
}

interface CardProps {
  kind: IntegrationKind;
  title: string;
  current?: Integration;
  /** Secrets the listing names only when set: shown as "not set" otherwise. */
  optionalSecrets?: string[];
  children: ReactNode;
}

/** What is configured, in words: settings with their values, secrets only as set or not set. */
function facts(current: Integration, optionalSecrets: string[]): string[] {
  const secrets = [...new Set([...Object.keys(current.configured), ...optionalSecrets])];
  return [
    ...(current.provider ? [current.provider] : []),
    ...Object.entries(current.config).map(([k, v]) => `${fieldLabel(k)}: ${String(v)}`),
    ...secrets.map((k) => `${fieldLabel(k)}: ${current.configured[k] ? "set" : "not set"}`),
    `updated ${when(current.updated_at)}`,
  ];
}

function Card({ kind, title, current, optionalSecrets = [], children }: CardProps) {
  const remove = useSave(() => del(`/integrations/${kind}`));
  return (
    <section className="panel integration" aria-labelledby={`int-${kind}`}>
      <h3 id={`int-${kind}`}>
        {title} <span className={`badge ${current ? "on" : "off"}`}>{current ? "Connected" : "Not connected"}</span>
      </h3>
      {current && <p className="subtle">{facts(current, optionalSecrets).join(" · ")}</p>}
      {children}
      {current && (
        <button type="button" className="danger" onClick={() => remove.mutate(undefined)} disabled={remove.isPending}>
          Disconnect {title}
        </button>
      )}
      <ErrorMessage error={remove.error} />
    </section>
  );
}

function PsaForm({ current }: { current?: Integration }) {
  const [provider, setProvider] = useState(current?.provider ?? "connectwise");
  const [baseUrl, setBaseUrl] = useState(String(current?.config.base_url ?? ""));
  const [creds, setCreds] = useState<Record<string, string>>({});
  const save = useSave(() => {
    const fields = PSA_FIELDS[provider] ?? [];
    const credentials = Object.fromEntries(fields.filter((f) => creds[f.name]).map((f) => [f.name, creds[f.name]]));
    return put("/integrations/psa", { provider, base_url: baseUrl, credentials });
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    save.mutate(undefined, { onSuccess: () => setCreds({}) });
  };
  return (
    <form onSubmit={submit}>
      <div className="row">
        <Field label="Provider" error={fieldError(save.error, "provider")}>
          {(p) => (
            <select {...p} value={provider} onChange={(e) => setProvider(e.target.value)}>
              <option value="connectwise">ConnectWise Manage</option>
              <option value="autotask">Autotask</option>
              <option value="halopsa">HaloPSA</option>
            </select>
          )}
        </Field>
        <Field label="Base URL" error={fieldError(save.error, "base_url")}>
          {(p) => <input {...p} type="url" required value={baseUrl} onChange={(e) => setBaseUrl(e.target.value)} />}
        </Field>
      </div>
      <div className="row wrap">
        {(PSA_FIELDS[provider] ?? []).map((f) => (
          <Field key={`${provider}-${f.name}`} label={f.label} error={fieldError(save.error, f.name)}>
            {(p) => (
              <input
                {...p}
                type="password"
                autoComplete="off"
                required={!f.optional}
                value={creds[f.name] ?? ""}
                onChange={(e) => setCreds((c) => ({ ...c, [f.name]: e.target.value }))}
              />
            )}
          </Field>
        ))}
      </div>
      <ErrorMessage error={save.error} />
      {save.isSuccess && <p role="status">Saved.</p>}
      <button type="submit" disabled={save.isPending}>
        Save PSA connection
      </button>
    </form>
  );
}

function SlackForm({ current }: { current?: Integration }) {
  const [channel, setChannel] = useState(String(current?.config.channel_id ?? ""));
  const [token, setToken] = useState("");
  const [signingSecret, setSigningSecret] = useState("");
  const hasSigningSecret = current?.configured.signing_secret === true;
  const save = useSave(() =>
    put("/integrations/slack", { bot_token: token, channel_id: channel, signing_secret: signingSecret || undefined }),
  );
  const submit = (event: FormEvent) => {
    event.preventDefault();
    save.mutate(undefined, {
      onSuccess: () => {
        setToken("");
        setSigningSecret("");
      },
    });
  };
  return (
    <form onSubmit={submit} className="row wrap">
      <Field label="Bot token" error={fieldError(save.error, "bot_token")} hint="xoxb-…; never shown again once saved.">
        {(p) => <input {...p} type="password" autoComplete="off" required value={token} onChange={(e) => setToken(e.target.value)} />}
      </Field>
      <Field label="Channel ID" error={fieldError(save.error, "channel_id")}>
        {(p) => <input {...p} required value={channel} onChange={(e) => setChannel(e.target.value)} />}
      </Field>
      <Field
        label="Signing secret"
        error={fieldError(save.error, "signing_secret")}
        hint={`Enables Pick up from Slack: the message's button claims the escalation in Slack.${
          hasSigningSecret ? " Saving without it turns that off." : ""
        }`}
      >
        {(p) => (
          <input {...p} type="password" autoComplete="off" value={signingSecret} onChange={(e) => setSigningSecret(e.target.value)} />
        )}
      </Field>
      <ErrorMessage error={save.error} />
      {save.isSuccess && <p role="status">Saved.</p>}
      <button type="submit" disabled={save.isPending}>
        Save Slack connection
      </button>
    </form>
  );
}

function TeamsForm() {
  const [url, setUrl] = useState("");
  const save = useSave(() => put("/integrations/teams", { webhook_url: url }));
  const submit = (event: FormEvent) => {
    event.preventDefault();
    save.mutate(undefined, { onSuccess: () => setUrl("") });
  };
  return (
    <form onSubmit={submit} className="row wrap">
      <Field label="Webhook URL" error={fieldError(save.error, "webhook_url")} hint="The Workflows webhook; it is a secret too.">
        {(p) => <input {...p} type="password" autoComplete="off" required value={url} onChange={(e) => setUrl(e.target.value)} />}
      </Field>
      <ErrorMessage error={save.error} />
      {save.isSuccess && <p role="status">Saved.</p>}
      <button type="submit" disabled={save.isPending}>
        Save Teams connection
      </button>
    </form>
  );
}

export function IntegrationsSection() {
  const list = useQuery(integrationsQuery);
  const find = (kind: IntegrationKind) => list.data?.find((i) => i.kind === kind);
  if (list.isPending) return <p role="status">Loading…</p>;
  return (
    <section aria-labelledby="integrations-title">
      <h2 id="integrations-title">Integrations</h2>
      <ErrorMessage error={list.error} />
      <Card kind="psa" title="PSA" current={find("psa")}>
        <PsaForm key={find("psa")?.updated_at ?? "new"} current={find("psa")} />
      </Card>
      <Card kind="slack" title="Slack" current={find("slack")} optionalSecrets={["signing_secret"]}>
        <SlackForm key={find("slack")?.updated_at ?? "new"} current={find("slack")} />
      </Card>
      <Card kind="teams" title="Teams" current={find("teams")}>
        <TeamsForm />
      </Card>
    </section>
  );
}

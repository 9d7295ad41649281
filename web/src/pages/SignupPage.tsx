// Sign up: a new account and its first owner (POST /accounts), signed in at once.
import { useMutation } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { Link, Navigate, useSearchParams } from "react-router";
import { post } from "../api/client";
import type { SignupResponse } from "../api/types";
import { useAuth } from "../auth/AuthContext";
import { safeNext } from "../auth/redirect";
import { ErrorMessage } from "../components/ErrorMessage";
import { Field, fieldError } from "../components/Field";

export function SignupPage() {
  const { state, signIn } = useAuth();
  const [params] = useSearchParams();
  const next = safeNext(params.get("next"));
  const [form, setForm] = useState({ account_name: "", owner_name: "", owner_email: "", owner_password: "" });
  const signup = useMutation({
    mutationFn: () => post<SignupResponse>("/accounts", form),
    onSuccess: (body) => signIn(body.access_token, body.user),
  });
  if (state.status === "signed-in") return <Navigate to={next} replace />;

  const set = (name: keyof typeof form) => (e: { target: { value: string } }) =>
    setForm((f) => ({ ...f, [name]: e.target.value }));
  const submit = (event: FormEvent) => {
    event.preventDefault();
    signup.mutate();
  };
  const err = (name: string) => fieldError(signup.error, name);
  return (
    <main className="auth-page">
      <h1>Create your FlowPilot account</h1>
      <form onSubmit={submit}>
        <Field label="Company name" error={err("account_name")}>
          {(p) => <input {...p} required autoComplete="organization" value={form.account_name} onChange={set("account_name")} />}
        </Field>
        <Field label="Your name" error={err("owner_name")}>
          {(p) => <input {...p} required autoComplete="name" value={form.owner_name} onChange={set("owner_name")} />}
        </Field>
        <Field label="Email" error={err("owner_email")}>
          {(p) => <input {...p} type="email" required autoComplete="email" value={form.owner_email} onChange={set("owner_email")} />}
        </Field>
        <Field label="Password" error={err("owner_password")} hint="At least 8 characters.">
          {(p) => (
            <input {...p} type="password" required autoComplete="new-password" value={form.owner_password} onChange={set("owner_password")} />
          )}
        </Field>
        <ErrorMessage error={signup.error} />
        <button type="submit" className="primary" disabled={signup.isPending}>
          {signup.isPending ? "Creating…" : "Create account"}
        </button>
      </form>
      <p>
        Already have an account? <Link to={`/login?next=${encodeURIComponent(next)}`}>Sign in</Link>
      </p>
    </main>
  );
}

// Sign in, then back to where the visitor was going (an email's pickup link, for one).
import { useMutation } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { Link, Navigate, useSearchParams } from "react-router";
import { post } from "../api/client";
import type { LoginResponse } from "../api/types";
import { useAuth } from "../auth/AuthContext";
import { safeNext } from "../auth/redirect";
import { ErrorMessage } from "../components/ErrorMessage";
import { Field, fieldError } from "../components/Field";

export function LoginPage() {
  const { state, signIn } = useAuth();
  const [params] = useSearchParams();
  const next = safeNext(params.get("next"));
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const login = useMutation({
    mutationFn: () => post<LoginResponse>("/auth/login", { email, password }),
    onSuccess: (body) => signIn(body.access_token, body.user),
  });
  if (state.status === "signed-in") return <Navigate to={next} replace />;

  const submit = (event: FormEvent) => {
    event.preventDefault();
    login.mutate();
  };
  return (
    <main className="auth-page">
      <h1>Sign in to FlowPilot</h1>
      {params.get("expired") && <p className="notice">Your session has ended. Sign in again to continue.</p>}
      {next !== "/queue" && !params.get("expired") && <p className="notice">Sign in to open the page you were sent.</p>}
      <form onSubmit={submit}>
        <Field label="Email" error={fieldError(login.error, "email")}>
          {(p) => (
            <input {...p} type="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} />
          )}
        </Field>
        <Field label="Password" error={fieldError(login.error, "password")}>
          {(p) => (
            <input
              {...p}
              type="password"
              autoComplete="current-password"
              required
              value={password}
              onChange={(e) => setPassword(e.target.value)}
            />
          )}
        </Field>
        <ErrorMessage error={login.error} />
        <button type="submit" className="primary" disabled={login.isPending}>
          {login.isPending ? "Signing in…" : "Sign in"}
        </button>
      </form>
      <p>
        New to FlowPilot? <Link to={`/signup?next=${encodeURIComponent(next)}`}>Create an account</Link>
      </p>
    </main>
  );
}

// Screens behind sign-in: a signed-out visitor goes to /login with the way back kept.
import type { ReactNode } from "react";
import { Navigate, useLocation } from "react-router";
import { useAuth } from "./AuthContext";
import { loginPath } from "./redirect";

export function RequireAuth({ children }: { children: ReactNode }) {
  const { state, retry } = useAuth();
  const location = useLocation();
  if (state.status === "loading") {
    return (
      <p className="page-status" role="status">
        Loading…
      </p>
    );
  }
  if (state.status === "unreachable") {
    return (
      <div className="page-status" role="alert">
        <p>{state.message}</p>
        <button type="button" onClick={retry}>
          Try again
        </button>
      </div>
    );
  }
  if (state.status === "signed-out") {
    const next = `${location.pathname}${location.search}`;
    return <Navigate to={loginPath(next, state.expired)} replace />;
  }
  return <>{children}</>;
}

// Who is signed in: the stored token and the user it names (GET /auth/me), kept across reloads.
import { useQueryClient } from "@tanstack/react-query";
import { createContext, type ReactNode, useCallback, useContext, useEffect, useMemo, useState } from "react";
import { get } from "../api/client";
import { ApiError } from "../api/errors";
import type { User } from "../api/types";
import { clearToken, onTokenExpired, readToken, storeToken } from "./token";

type AuthState =
  | { status: "loading" }
  | { status: "signed-out"; expired: boolean }
  | { status: "signed-in"; user: User; token: string }
  | { status: "unreachable"; message: string };

interface AuthApi {
  state: AuthState;
  signIn(token: string, user: User): void;
  signOut(): void;
  retry(): void;
}

const AuthContext = createContext<AuthApi | null>(null);

export function AuthProvider({ children }: { children: ReactNode }) {
  const queryClient = useQueryClient();
  const [state, setState] = useState<AuthState>(() =>
    readToken() ? { status: "loading" } : { status: "signed-out", expired: false },
  );
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    const token = readToken();
    if (!token) return;
    let cancelled = false;
    get<User>("/auth/me").then(
      (user) => !cancelled && setState({ status: "signed-in", user, token }),
      (error: unknown) => {
        if (cancelled) return;
        if (error instanceof ApiError && error.status === 401) {
          clearToken();
          setState({ status: "signed-out", expired: true });
        } else {
          setState({ status: "unreachable", message: (error as Error).message });
        }
      },
    );
    return () => {
      cancelled = true;
    };
  }, [attempt]);

  useEffect(
    () =>
      onTokenExpired(() => {
        clearToken();
        queryClient.clear();
        setState({ status: "signed-out", expired: true });
      }),
    [queryClient],
  );

  const signIn = useCallback(
    (token: string, user: User) => {
      storeToken(token);
      queryClient.clear();
      setState({ status: "signed-in", user, token });
    },
    [queryClient],
  );
  const signOut = useCallback(() => {
    clearToken();
    queryClient.clear();
    setState({ status: "signed-out", expired: false });
  }, [queryClient]);
  const retry = useCallback(() => {
    setState({ status: "loading" });
    setAttempt((n) => n + 1);
  }, []);

  const value = useMemo(() => ({ state, signIn, signOut, retry }), [state, signIn, signOut, retry]);
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthApi {
  const value = useContext(AuthContext);
  if (!value) throw new Error("useAuth outside AuthProvider");
  return value;
}

/** The signed-in user (only under RequireAuth). */
export function useMe(): User {
  const { state } = useAuth();
  if (state.status !== "signed-in") throw new Error("useMe while not signed in");
  return state.user;
}

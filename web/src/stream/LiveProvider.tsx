// One live stream per tab for engineers and admins (viewers may not subscribe: DESIGN invariant 6).
import { useQueryClient } from "@tanstack/react-query";
import { createContext, type ReactNode, useContext, useEffect, useState } from "react";
import { API } from "../api/client";
import { useAuth } from "../auth/AuthContext";
import { isEngineerOrAdmin } from "../auth/roles";
import { announceTokenExpired, readToken } from "../auth/token";
import { applyStreamEvent } from "./cache";
import { openStream } from "./reader";

export type LiveState = "off" | "connecting" | "live" | "reconnecting";

const LiveContext = createContext<LiveState>("off");

export function LiveProvider({ children }: { children: ReactNode }) {
  const { state } = useAuth();
  const queryClient = useQueryClient();
  const [live, setLive] = useState<LiveState>("off");
  const token = state.status === "signed-in" ? state.token : null;
  const canSubscribe = state.status === "signed-in" && isEngineerOrAdmin(state.user.role);

  useEffect(() => {
    if (!token || !canSubscribe) return;
    let heartbeatMs = 25_000;
    const handle = openStream({
      url: `${API}/ai-sessions/escalations/stream`,
      headers: () => {
        const current = readToken();
        return current ? { Authorization: `Bearer ${current}` } : null;
      },
      // Three missed heartbeats mean the connection is dead even if TCP has not noticed.
      idleTimeoutMs: () => 3 * heartbeatMs,
      onMessage: (message) => {
        if (message.event === "ready") {
          const seconds = (JSON.parse(message.data) as { heartbeat_seconds?: number }).heartbeat_seconds;
          if (seconds) heartbeatMs = seconds * 1000;
          setLive("live");
        }
        applyStreamEvent(queryClient, message);
      },
      onState: (s) => {
        if (s === "connecting") setLive((prev) => (prev === "off" ? "connecting" : prev));
        if (s === "retrying") setLive("reconnecting");
        if (s === "stopped") setLive("off");
      },
      onRefused: (status) => {
        if (status === 401) announceTokenExpired();
      },
    });
    return () => {
      handle.close();
      setLive("off");
    };
  }, [token, canSubscribe, queryClient]);

  return <LiveContext.Provider value={live}>{children}</LiveContext.Provider>;
}

export function useLiveState(): LiveState {
  return useContext(LiveContext);
}

// Pick up (claim) an escalation: the handoff's claim, or the legacy /pickup for an escalation
// without a handoff row. One code path for the queue and the pickup screen.
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { post } from "../api/client";
import { keys } from "../api/queries";
import type { Handoff, Session } from "../api/types";
import { rememberSession } from "../sessions/recent";
import { useMe } from "../auth/AuthContext";

export interface PickUpTarget {
  sessionId: string;
  handoffId: string | null;
}

export function usePickUp() {
  const queryClient = useQueryClient();
  const me = useMe();
  return useMutation({
    mutationFn: ({ sessionId, handoffId }: PickUpTarget): Promise<Handoff | Session> =>
      handoffId
        ? post<Handoff>(`/ai-sessions/${sessionId}/handoffs/${handoffId}/claim`)
        : post<Session>(`/ai-sessions/${sessionId}/pickup`),
    onSuccess: (_result, { sessionId }) => rememberSession(me.id, sessionId),
    onSettled: (_result, _error, { sessionId }) => {
      void queryClient.invalidateQueries({ queryKey: keys.queue });
      void queryClient.invalidateQueries({ queryKey: keys.session(sessionId) });
    },
  });
}

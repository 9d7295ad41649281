// Pick up (claim) an escalation: the handoff's claim, or the legacy /pickup for an escalation
// without a handoff row. One code path for the queue and the pickup screen.
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { post } from "../api/client";
import { keys, sessionChanged } from "../api/queries";
import type { Handoff, Session } from "../api/types";

export interface PickUpTarget {
  sessionId: string;
  handoffId: string | null;
}

export function usePickUp() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ sessionId, handoffId }: PickUpTarget): Promise<Handoff | Session> =>
      handoffId
        ? post<Handoff>(`/ai-sessions/${sessionId}/handoffs/${handoffId}/claim`)
        : post<Session>(`/ai-sessions/${sessionId}/pickup`),
    onSettled: (_result, _error, { sessionId }) => {
      void queryClient.invalidateQueries({ queryKey: keys.queue });
      sessionChanged(queryClient, sessionId);
    },
  });
}

// Release: hand a claimed escalation back to the queue (the claimer, or an owner/admin).
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { post } from "../api/client";
import { keys, sessionChanged } from "../api/queries";
import type { Handoff } from "../api/types";

export function useRelease() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ sessionId, handoffId }: { sessionId: string; handoffId: string }) =>
      post<Handoff>(`/ai-sessions/${sessionId}/handoffs/${handoffId}/release`),
    // Success or refusal (409: released or moved on elsewhere), the screen re-reads what is true now.
    onSettled: (_result, _error, { sessionId }) => {
      void queryClient.invalidateQueries({ queryKey: keys.queue });
      sessionChanged(queryClient, sessionId);
    },
  });
}

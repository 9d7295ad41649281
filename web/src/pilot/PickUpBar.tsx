// Who holds the escalation, and what the signed-in person may do about it: Pick up while it waits,
// Release (after a confirmation) while they hold it, or an owner/admin while anyone does.
import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef, useState } from "react";
import { keys } from "../api/queries";
import type { HandoffContext, User } from "../api/types";
import { useMe } from "../auth/AuthContext";
import { isEngineerOrAdmin, isOwnerOrAdmin } from "../auth/roles";
import { ErrorMessage } from "../components/ErrorMessage";
import { when } from "../components/time";
import { usePickUp } from "./usePickUp";
import { useRelease } from "./useRelease";

const AWAITING = new Set(["escalated", "requesting_escalation"]);

function ConfirmRelease({ holder, onConfirm, onCancel }: { holder: string; onConfirm: () => void; onCancel: () => void }) {
  const confirm = useRef<HTMLButtonElement>(null);
  useEffect(() => confirm.current?.focus(), []);
  return (
    <div className="confirm" role="group" aria-labelledby="release-question">
      <p id="release-question">
        Release it back to the queue? {holder === "you" ? "You" : holder} will no longer hold it; it goes back to the
        escalator, and everyone is reminded again on the escalation policy.
      </p>
      <div className="toolbar">
        <button type="button" className="danger" ref={confirm} onClick={onConfirm}>
          Yes, release it
        </button>
        <button type="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </div>
  );
}

export function PickUpBar({ context, users, focus }: { context: HandoffContext; users: User[]; focus: boolean }) {
  const me = useMe();
  const queryClient = useQueryClient();
  const pickUp = usePickUp();
  const release = useRelease();
  const [confirming, setConfirming] = useState(false);
  const { session, handoff } = context;
  const name = (id: string | null) => (id === me.id ? "you" : (users.find((u) => u.id === id)?.name ?? "a teammate"));
  const escalation = handoff?.intent === "escalate" ? handoff : null;
  const claimedBy = escalation?.claimed_by ?? null;
  const awaiting = AWAITING.has(session.status) && !claimedBy;
  const canRelease =
    escalation !== null && claimedBy !== null && session.status === "picked_up" && (claimedBy === me.id || isOwnerOrAdmin(me.role));
  const take = () => {
    release.reset();
    pickUp.mutate(
      { sessionId: session.id, handoffId: escalation?.id ?? null },
      { onError: () => void queryClient.invalidateQueries({ queryKey: keys.session(session.id) }) },
    );
  };
  const giveBack = () => {
    setConfirming(false);
    pickUp.reset();
    if (escalation) release.mutate({ sessionId: session.id, handoffId: escalation.id });
  };
  return (
    <div className="pickup-bar" aria-live="polite">
      {awaiting && isEngineerOrAdmin(me.role) && session.owner_id !== me.id && (
        <button type="button" className="primary big" onClick={take} disabled={pickUp.isPending} autoFocus={focus}>
          {pickUp.isPending ? "Picking up…" : release.isSuccess ? "Pick up again" : "Pick up"}
        </button>
      )}
      {awaiting && release.isSuccess && <p role="status">Released: it is back in the queue.</p>}
      {awaiting && !isEngineerOrAdmin(me.role) && (
        <p className="notice">Waiting for a senior to pick it up. You have read-only access.</p>
      )}
      {awaiting && session.owner_id === me.id && <p className="notice">Escalated: waiting for a senior to pick it up.</p>}
      {claimedBy && escalation?.claimed_at && (
        <p className="held">
          Picked up by <strong>{name(claimedBy)}</strong> {when(escalation.claimed_at)}
        </p>
      )}
      {!claimedBy && session.status === "picked_up" && session.picked_up_by && (
        <p className="held">
          Picked up by <strong>{name(session.picked_up_by)}</strong>
        </p>
      )}
      {canRelease && !confirming && (
        <button type="button" onClick={() => setConfirming(true)} disabled={release.isPending}>
          {release.isPending ? "Releasing…" : "Release"}
        </button>
      )}
      {canRelease && confirming && (
        <ConfirmRelease holder={name(claimedBy)} onConfirm={giveBack} onCancel={() => setConfirming(false)} />
      )}
      <ErrorMessage error={pickUp.error} prefix="Could not pick up" />
      <ErrorMessage error={release.error} prefix="Could not release" />
    </div>
  );
}

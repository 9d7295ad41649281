// The bell: notifications of the signed-in user, mark read one by one or all at once. Any type the
// notifier sends shows its title, body and link as given (new types need no console release).
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { Link } from "react-router";
import { post } from "../api/client";
import { keys, notificationsQuery } from "../api/queries";
import { ErrorMessage } from "../components/ErrorMessage";
import { when } from "../components/time";
import type { Notification } from "../api/types";
import { kindLabel, linkTarget } from "../notifications/display";

function Title({ item }: { item: Notification }) {
  const target = linkTarget(item.link, window.location.origin);
  if (!target) return <>{item.title}</>;
  if ("internal" in target) return <Link to={target.internal}>{item.title}</Link>;
  return (
    <a href={target.external} target="_blank" rel="noopener noreferrer">
      {item.title}
    </a>
  );
}

export function NotificationsPage() {
  const queryClient = useQueryClient();
  const [unreadOnly, setUnreadOnly] = useState(false);
  const list = useQuery(notificationsQuery(unreadOnly));
  const refresh = () => queryClient.invalidateQueries({ queryKey: keys.notifications });
  const markRead = useMutation({ mutationFn: (id: string) => post(`/notifications/${id}/read`), onSettled: refresh });
  const markAll = useMutation({ mutationFn: () => post("/notifications/read-all"), onSettled: refresh });
  const items = list.data?.items ?? [];
  return (
    <section>
      <div className="page-head">
        <h1>Notifications</h1>
        <div className="toolbar">
          <label className="choice">
            <input type="checkbox" checked={unreadOnly} onChange={(e) => setUnreadOnly(e.target.checked)} />
            Unread only
          </label>
          <button type="button" onClick={() => markAll.mutate()} disabled={markAll.isPending || !list.data?.unread_count}>
            Mark all read
          </button>
        </div>
      </div>
      <ErrorMessage error={list.error ?? markRead.error ?? markAll.error} />
      {list.isPending && <p role="status">Loading…</p>}
      {list.isSuccess && items.length === 0 && <p className="empty">No notifications.</p>}
      <ul className="notifications">
        {items.map((n) => (
          <li key={n.id} className={n.read_at ? "read" : "unread"}>
            <div>
              <p className="title">
                {!n.read_at && <span className="dot" aria-label="Unread" />}
                {kindLabel(n.type) && <span className="badge kind">{kindLabel(n.type)}</span>} <Title item={n} />
              </p>
              <p className="prewrap">{n.body}</p>
              <p className="subtle">{when(n.created_at)}</p>
            </div>
            {!n.read_at && (
              <button type="button" onClick={() => markRead.mutate(n.id)} aria-label={`Mark read: ${n.title}`}>
                Mark read
              </button>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}

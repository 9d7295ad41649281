// The frame of every signed-in screen: navigation with the live queue badge and bell count.
import { useQuery } from "@tanstack/react-query";
import { Link, NavLink, Outlet } from "react-router";
import { queueCountQuery, unreadCountQuery } from "../api/queries";
import { useAuth, useMe } from "../auth/AuthContext";
import { isEngineerOrAdmin, isOwnerOrAdmin } from "../auth/roles";
import { useLiveState } from "../stream/LiveProvider";

const LIVE_WORDS = { off: "", connecting: "Connecting…", live: "Live", reconnecting: "Reconnecting…" };

function Count({ value, label }: { value: number | undefined; label: string }) {
  if (!value) return null;
  return (
    <span className="count" aria-label={`${value} ${label}`}>
      {value}
    </span>
  );
}

export function Layout() {
  const me = useMe();
  const { signOut } = useAuth();
  const live = useLiveState();
  const senior = isEngineerOrAdmin(me.role);
  const queueCount = useQuery({ ...queueCountQuery, enabled: senior });
  const unread = useQuery(unreadCountQuery);
  return (
    <div className="app">
      <header className="topbar">
        <Link className="brand" to="/queue">
          FlowPilot
        </Link>
        <nav aria-label="Main">
          <NavLink to="/queue">
            Queue <Count value={queueCount.data?.count} label="awaiting pickup" />
          </NavLink>
          <NavLink to="/sessions">Sessions</NavLink>
          <NavLink to="/notifications">
            Notifications <Count value={unread.data?.count} label="unread" />
          </NavLink>
          {isOwnerOrAdmin(me.role) && <NavLink to="/analytics">Analytics</NavLink>}
          <NavLink to="/settings">Settings</NavLink>
        </nav>
        <div className="who">
          {senior && (
            <span className={`live live-${live}`} role="status" aria-live="polite">
              {LIVE_WORDS[live]}
            </span>
          )}
          <span className="me">
            {me.name} <span className="role">({me.role})</span>
          </span>
          <button type="button" className="link" onClick={signOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main">
        <Outlet />
      </main>
    </div>
  );
}

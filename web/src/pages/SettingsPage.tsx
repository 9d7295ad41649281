// Settings in sections. Owners and admins get users' access, integrations and delivery records;
// everyone gets their own notification preferences; owners and admins set the escalation policy.
import { type ReactNode } from "react";
import { NavLink, useParams } from "react-router";
import type { Role } from "../api/types";
import { useMe } from "../auth/AuthContext";
import { isOwnerOrAdmin } from "../auth/roles";
import { DeliveriesSection } from "../settings/DeliveriesSection";
import { IntegrationsSection } from "../settings/IntegrationsSection";
import { UsersSection } from "../settings/UsersSection";
import { AccountSection } from "../settings/AccountSection";
import { PreferencesSection } from "../settings/PreferencesSection";
import { PolicySection } from "../settings/PolicySection";

interface Section {
  slug: string;
  label: string;
  allowed: (role: Role) => boolean;
  render: () => ReactNode;
}

const everyone = () => true;

const SECTIONS: Section[] = [
  { slug: "account", label: "Your account", allowed: everyone, render: () => <AccountSection /> },
  { slug: "notifications", label: "Notification preferences", allowed: everyone, render: () => <PreferencesSection /> },
  { slug: "users", label: "Users", allowed: everyone, render: () => <UsersSection /> },
  { slug: "escalation-policy", label: "Escalation policy", allowed: isOwnerOrAdmin, render: () => <PolicySection /> },
  { slug: "integrations", label: "Integrations", allowed: isOwnerOrAdmin, render: () => <IntegrationsSection /> },
  { slug: "deliveries", label: "Deliveries", allowed: isOwnerOrAdmin, render: () => <DeliveriesSection /> },
];

export function SettingsPage() {
  const me = useMe();
  const { section = "account" } = useParams();
  const visible = SECTIONS.filter((s) => s.allowed(me.role));
  const current = visible.find((s) => s.slug === section) ?? visible[0];
  return (
    <section className="settings">
      <h1>Settings</h1>
      <nav aria-label="Settings sections" className="tabs">
        {visible.map((s) => (
          <NavLink key={s.slug} to={`/settings/${s.slug}`} className={s === current ? "active" : undefined}>
            {s.label}
          </NavLink>
        ))}
      </nav>
      {current?.render()}
    </section>
  );
}

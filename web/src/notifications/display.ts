// How a bell row is shown. Types come from the notifier and grow over time (re-escalation rounds,
// releases): a known type gets a short label, any type shows its title, body and link as given.

const KINDS: Record<string, string> = {
  handoff_escalated: "Escalation",
  handoff_claimed: "Picked up",
  psa_push_failed: "PSA note failed",
  handoff_reescalated: "Reminder",
  handoff_unclaimed: "Still unclaimed",
  handoff_released: "Released",
};

/** A short label for a notification type, or null for a type this console does not know yet. */
export function kindLabel(type: string): string | null {
  return Object.hasOwn(KINDS, type) ? (KINDS[type] ?? null) : null;
}

export type LinkTarget = { internal: string } | { external: string } | null;

/** Where a notification's link goes: a console path, another http(s) site, or nowhere (any other scheme). */
export function linkTarget(link: string | null | undefined, origin: string): LinkTarget {
  if (!link) return null;
  if (link.startsWith("/") && !link.startsWith("//")) return { internal: link };
  let url: URL;
  try {
    url = new URL(link);
  } catch {
    return null;
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") return null;
  if (url.origin === origin) return { internal: `${url.pathname}${url.search}${url.hash}` };
  return { external: url.href };
}

// The sessions a person worked in this browser (created, picked up or opened). The contract has no
// "list my sessions" endpoint, so the Sessions screen remembers their ids and reads each one.

const LIMIT = 30;
const key = (userId: string) => `flowpilot.sessions.${userId}`;

export function recentSessions(userId: string): string[] {
  try {
    const ids = JSON.parse(window.localStorage.getItem(key(userId)) ?? "[]") as unknown;
    return Array.isArray(ids) ? ids.filter((id): id is string => typeof id === "string") : [];
  } catch {
    return [];
  }
}

export function rememberSession(userId: string, sessionId: string): void {
  const ids = [sessionId, ...recentSessions(userId).filter((id) => id !== sessionId)].slice(0, LIMIT);
  window.localStorage.setItem(key(userId), JSON.stringify(ids));
}

export function forgetSession(userId: string, sessionId: string): void {
  const ids = recentSessions(userId).filter((id) => id !== sessionId);
  window.localStorage.setItem(key(userId), JSON.stringify(ids));
}

// The way back after signing in: only a path of this site (never another origin).

export function safeNext(next: string | null): string {
  if (!next || !next.startsWith("/") || next.startsWith("//") || next.startsWith("/\\")) return "/queue";
  if (next.startsWith("/login") || next.startsWith("/signup")) return "/queue";
  return next;
}

export function loginPath(next: string, expired = false): string {
  const params = new URLSearchParams({ next });
  if (expired) params.set("expired", "1");
  return `/login?${params.toString()}`;
}

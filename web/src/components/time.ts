// Ages and times as a senior reads them at a glance.

export function age(iso: string, now: number = Date.now()): string {
  const seconds = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours} h ${minutes % 60} min`;
  return `${Math.floor(hours / 24)} days`;
}

export function when(iso: string): string {
  return new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

/** A span of time as people say it: "0.4 s", "45 s", "10 min", "1 min 30 s", "2 h", "1 h 30 min", "3 days 4 h". */
export function durationWords(totalSeconds: number): string {
  // Under ten seconds a tenth still tells fast pickups apart.
  if (totalSeconds < 9.95) return `${Math.max(0, Math.round(totalSeconds * 10) / 10)} s`;
  const s = Math.round(totalSeconds);
  const part = (n: number, unit: string) => (n ? ` ${n} ${unit}` : "");
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min${part(s % 60, "s")}`;
  const minutes = Math.floor(s / 60);
  if (s < 2 * 86400) return `${Math.floor(minutes / 60)} h${part(minutes % 60, "min")}`;
  const hours = Math.floor(minutes / 60);
  return `${Math.floor(hours / 24)} days${part(hours % 24, "h")}`;
}

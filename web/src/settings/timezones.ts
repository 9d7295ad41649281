// Time zones the picker offers: the browser's IANA list (Intl), always with UTC and the saved zone.

/** The zone this browser runs in (an IANA name), or null when it does not say. */
export function browserZone(): string | null {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || null;
  } catch {
    return null;
  }
}

/** Every zone to offer, sorted; `keep` (the saved and the browser's zones) is always among them. */
export function zoneChoices(keep: (string | null)[], supported: () => string[] = supportedZones): string[] {
  const zones = new Set(supported());
  zones.add("UTC");
  for (const zone of keep) if (zone) zones.add(zone);
  return [...zones].sort();
}

function supportedZones(): string[] {
  try {
    return Intl.supportedValuesOf("timeZone");
  } catch {
    return []; // an older browser: UTC and the kept zones still make a usable list
  }
}

/** The time now on a zone's wall clock ("14:05"), or "" for a zone the browser does not know. */
export function clockIn(zone: string, now: Date = new Date()): string {
  try {
    return new Intl.DateTimeFormat(undefined, { timeZone: zone, hour: "2-digit", minute: "2-digit", hourCycle: "h23" }).format(now);
  } catch {
    return "";
  }
}

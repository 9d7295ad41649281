// "Reminded twice (of 3) · last 4 min ago": an unclaimed escalation's reminder rounds, in the queue and
// on the pickup screen alike (red once the owners and admins were told).
import { age } from "../components/time";
import { type Reminders, reminderWords } from "./reminders";

export function RemindersNote({ reminders, now, as: Tag = "span" }: { reminders: Reminders; now: number; as?: "span" | "p" }) {
  return (
    <Tag className={reminders.final ? "reminders final" : "reminders"}>
      {reminderWords(reminders)} · {now - Date.parse(reminders.at) < 10_000 ? "just now" : `last ${age(reminders.at, now)} ago`}
    </Tag>
  );
}

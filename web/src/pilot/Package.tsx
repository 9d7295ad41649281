// The AI escalation package: what was tried, likely causes, what to do next.
import type { EscalationPackage } from "../api/types";

function List({ title, items, ordered }: { title: string; items: string[] | undefined; ordered?: boolean }) {
  if (!items || items.length === 0) return null;
  const Tag = ordered ? "ol" : "ul";
  return (
    <>
      <h3>{title}</h3>
      <Tag>
        {items.map((item, i) => (
          <li key={i}>{item}</li>
        ))}
      </Tag>
    </>
  );
}

export function PackagePanel({ pkg, awaiting }: { pkg: EscalationPackage | null; awaiting: boolean }) {
  if (!pkg) {
    return (
      <section className="panel package" aria-labelledby="package-title">
        <h2 id="package-title">Escalation package</h2>
        <p className="subtle" role="status">
          {awaiting ? "Being prepared… it appears here as soon as it is ready." : "No escalation package for this session."}
        </p>
      </section>
    );
  }
  const c = pkg.content;
  return (
    <section className="panel package" aria-labelledby="package-title" data-ready="true">
      <h2 id="package-title">Escalation package</h2>
      <p className="levels">
        {c.urgency && <span className={`badge level-${c.urgency}`}>Assessed urgency: {c.urgency}</span>}
        {c.risk && <span className={`badge level-${c.risk}`}>Risk: {c.risk}</span>}
        <span className="subtle">{pkg.generated_by === "ai" ? `AI (${pkg.model ?? "model"})` : "Template"}</span>
      </p>
      {c.summary && <p className="summary">{c.summary}</p>}
      {c.steps_tried && c.steps_tried.length > 0 && (
        <>
          <h3>Tried so far</h3>
          <ul>
            {c.steps_tried.map((s, i) => (
              <li key={i}>
                <strong>{s.step}</strong> — {s.outcome}
              </li>
            ))}
          </ul>
        </>
      )}
      <List title="Likely causes" items={c.hypotheses} />
      <List title="Suggested next steps" items={c.suggested_next_steps} ordered />
      <List title="Open questions" items={c.open_questions} />
      {c.current_state && (
        <>
          <h3>Where it stands</h3>
          <p>{c.current_state}</p>
        </>
      )}
    </section>
  );
}

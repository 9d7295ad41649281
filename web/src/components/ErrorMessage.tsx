// An API error in words, announced to screen readers.
import { describeError } from "../api/errors";

export function ErrorMessage({ error, prefix }: { error: unknown; prefix?: string }) {
  if (!error) return null;
  return (
    <p className="error" role="alert">
      {prefix ? `${prefix}: ` : ""}
      {describeError(error)}
    </p>
  );
}

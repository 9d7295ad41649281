import { Link } from "react-router";

export function NotFoundPage() {
  return (
    <section>
      <h1>Page not found</h1>
      <p>
        There is nothing at this address. <Link to="/queue">Go to the queue</Link>.
      </p>
    </section>
  );
}

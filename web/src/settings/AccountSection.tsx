import { useMe } from "../auth/AuthContext";

export function AccountSection() {
  const me = useMe();
  return (
    <section aria-labelledby="account-title">
      <h2 id="account-title">Your account</h2>
      <dl className="facts">
        <dt>Name</dt>
        <dd>{me.name}</dd>
        <dt>Email</dt>
        <dd>{me.email}</dd>
        <dt>Role</dt>
        <dd>{me.role}</dd>
      </dl>
    </section>
  );
}

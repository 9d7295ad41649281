// Teammates: everyone sees the list; owners and admins add people, change roles, deactivate.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useState } from "react";
import { patch, post } from "../api/client";
import { keys, usersQuery } from "../api/queries";
import type { Role, User } from "../api/types";
import { useMe } from "../auth/AuthContext";
import { isOwnerOrAdmin } from "../auth/roles";
import { DataTable } from "../components/DataTable";
import { ErrorMessage } from "../components/ErrorMessage";
import { Field, fieldError } from "../components/Field";

const ROLES: Role[] = ["owner", "admin", "engineer", "viewer"];
const EMPTY = { name: "", email: "", role: "engineer" as Role, password: "" };

function AddUser() {
  const queryClient = useQueryClient();
  const [form, setForm] = useState(EMPTY);
  const add = useMutation({
    mutationFn: () => post<User>("/users", form),
    onSuccess: () => {
      setForm(EMPTY);
      void queryClient.invalidateQueries({ queryKey: keys.users });
    },
  });
  const set = (name: keyof typeof EMPTY) => (e: { target: { value: string } }) =>
    setForm((f) => ({ ...f, [name]: e.target.value }));
  const err = (name: string) => fieldError(add.error, name);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    add.mutate();
  };
  return (
    <form className="panel" onSubmit={submit} aria-labelledby="add-user-title">
      <h3 id="add-user-title">Add a teammate</h3>
      <div className="row">
        <Field label="Name" error={err("name")}>
          {(p) => <input {...p} required value={form.name} onChange={set("name")} />}
        </Field>
        <Field label="Email" error={err("email")}>
          {(p) => <input {...p} type="email" required value={form.email} onChange={set("email")} />}
        </Field>
      </div>
      <div className="row">
        <Field label="Role" error={err("role")}>
          {(p) => (
            <select {...p} value={form.role} onChange={set("role")}>
              {ROLES.map((r) => (
                <option key={r}>{r}</option>
              ))}
            </select>
          )}
        </Field>
        <Field label="Initial password" error={err("password")} hint="At least 8 characters; share it privately.">
          {(p) => <input {...p} type="password" autoComplete="new-password" required value={form.password} onChange={set("password")} />}
        </Field>
      </div>
      <ErrorMessage error={add.error} />
      <button type="submit" disabled={add.isPending}>
        Add teammate
      </button>
    </form>
  );
}

function UserRow({ user, manage }: { user: User; manage: boolean }) {
  const me = useMe();
  const queryClient = useQueryClient();
  const change = useMutation({
    mutationFn: (body: { role?: Role; is_active?: boolean }) => patch<User>(`/users/${user.id}`, body),
    onSettled: () => queryClient.invalidateQueries({ queryKey: keys.users }),
  });
  return (
    <tr className={user.is_active ? "" : "inactive"}>
      <td>
        {user.name}
        {user.id === me.id && " (you)"}
      </td>
      <td>{user.email}</td>
      <td>
        {manage ? (
          <select
            aria-label={`Role of ${user.name}`}
            value={user.role}
            disabled={change.isPending}
            onChange={(e) => change.mutate({ role: e.target.value as Role })}
          >
            {ROLES.map((r) => (
              <option key={r}>{r}</option>
            ))}
          </select>
        ) : (
          user.role
        )}
      </td>
      <td>{user.is_active ? "Active" : "Deactivated"}</td>
      {manage && (
        <td>
          {user.id !== me.id && (
            <button type="button" disabled={change.isPending} onClick={() => change.mutate({ is_active: !user.is_active })}>
              {user.is_active ? "Deactivate" : "Reactivate"}
            </button>
          )}
          <ErrorMessage error={change.error} />
        </td>
      )}
    </tr>
  );
}

export function UsersSection() {
  const me = useMe();
  const manage = isOwnerOrAdmin(me.role);
  const users = useQuery(usersQuery);
  return (
    <section aria-labelledby="users-title">
      <h2 id="users-title">Users</h2>
      <ErrorMessage error={users.error} />
      <DataTable columns={["Name", "Email", "Role", "Status", ...(manage ? ["Access"] : [])]}>
        {(users.data ?? []).map((u) => (
          <UserRow key={u.id} user={u} manage={manage} />
        ))}
      </DataTable>
      {manage && <AddUser />}
    </section>
  );
}

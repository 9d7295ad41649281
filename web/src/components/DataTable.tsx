// A table that scrolls sideways on narrow screens, with one heading row; the caller gives the body rows.
import type { ReactNode } from "react";

export function DataTable({ columns, caption, children }: { columns: string[]; caption?: string; children: ReactNode }) {
  return (
    <div className="table-wrap">
      <table>
        {caption && <caption className="subtle">{caption}</caption>}
        <thead>
          <tr>
            {columns.map((column) => (
              <th scope="col" key={column}>
                {column}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}

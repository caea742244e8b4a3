'use client';
/** Pieces of the data tables (className "data") shared by the top-functions, compare, snapshot and PID tables. */
import type { CSSProperties, HTMLAttributes, ReactNode } from 'react';
import { escapeRegex } from '../lib/search';
import { useViewStore } from './providers';

/** A table with a header row in a scrolling box (.table-scroll); `box` goes to the box (data-testid, style…). */
export function DataTable({ head, children, ...box }: { head: ReactNode; children: ReactNode } & HTMLAttributes<HTMLDivElement>) {
  return (
    <div className="table-scroll" {...box}>
      <table className="data">
        <thead>
          <tr>{head}</tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}

/** Rows without a header in a box at most 220 px high that scrolls. */
export function ScrollRows({ style, children }: { style?: CSSProperties; children: ReactNode }) {
  return (
    <div style={{ maxHeight: 220, overflow: 'auto', ...style }}>
      <table className="data">
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}

/** The row of a table that has nothing to show. */
export function EmptyRow({ colSpan, children }: { colSpan: number; children: ReactNode }) {
  return (
    <tr>
      <td colSpan={colSpan} className="muted">
        {children}
      </td>
    </tr>
  );
}

/** A function's name cell; clicking the name searches the flame graph for exactly that function (in the sandwich view: shows its sandwich). */
export function FunctionCell({ name, children }: { name: string; children?: ReactNode }) {
  const store = useViewStore();
  return (
    <td className="name trunc" title={name}>
      <a
        href="#"
        onClick={(e) => {
          e.preventDefault();
          if (store.getState().mode === 'sandwich') store.getState().showSandwich(name);
          else store.getState().setQuery(`^${escapeRegex(name)}$`);
        }}
      >
        {name}
      </a>
      {children}
    </td>
  );
}

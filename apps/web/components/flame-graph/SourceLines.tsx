'use client';
/**
 * Frame details: the hottest source lines of the selected function (`file:line` with its share of
 * the function's samples), like `perf annotate --stdio` summarised per line. Lines come from DWARF
 * (native code built with -g) and from CPython's frames (the line each sample ran). File names are
 * untrusted: rendered as React text only.
 */
import { useMemo } from 'react';
import type { Profile } from '@bpfscope/viz';
import { fmtPct, fmtValue } from '../../lib/format';
import { sourceLinesOf } from '../../lib/source-lines';
import { DataTable, EmptyRow } from '../table';

/** the file's last two path components (the full path is the cell's title) */
function shortFile(file: string): string {
  const parts = file.split('/');
  return parts.length > 2 ? `…/${parts.slice(-2).join('/')}` : file;
}

export function SourceLines({ profile, fn }: { profile: Profile; fn: string }) {
  const s = useMemo(() => sourceLinesOf(profile, fn), [profile, fn]);
  return (
    <section aria-label={`Source lines of ${fn}`} data-testid="source-lines">
      <h3>
        Hottest source lines of <span className="mono">{fn}</span>
      </h3>
      <DataTable
        head={
          <>
            <th>Line</th>
            <th className="num">Share</th>
          </>
        }
      >
        {s.rows.map((r) => (
          <tr key={r.where} data-testid="source-line">
            <td className="mono" title={r.where}>
              {`${shortFile(r.file)}:${r.line}`}
            </td>
            <td className="num" title={fmtValue(r.weight, profile.unit)}>
              {fmtPct(r.share)}
            </td>
          </tr>
        ))}
        {s.rows.length > 0 && s.unknown > 0 && <EmptyRow colSpan={2}>{`line unknown: ${fmtPct(s.total ? s.unknown / s.total : 0)}`}</EmptyRow>}
        {s.rows.length === 0 && (
          <EmptyRow colSpan={2}>
            {s.profileHasLines
              ? 'No line information for this function (no debug info for its code).'
              : 'This profile has no source lines (debug info was not found, or it was imported from a format without lines, or a transform changed its stacks).'}
          </EmptyRow>
        )}
      </DataTable>
    </section>
  );
}

'use client';
/**
 * /compare/<base>/<target>: differential flame graph (widths from the "after" side, red where it
 * grew, blue where it shrank), normalized by default, both directions; the frames found on one
 * side only; a top-functions delta table. biolatency pairs: both distributions and their difference.
 * The frame menu's transforms (focus, exclude, merge, collapse recursion) apply to both sides alike,
 * and the inverted view inverts both; the sandwich view is not offered here.
 */
import { useMemo } from 'react';
import { topFunctions, topFunctionsDiff, type Profile } from '@bpfscope/viz';
import { ViewStoreProvider, useView, useViewStore } from '../providers';
import { useSnapshot } from '../../lib/use-snapshot';
import { hostSlice } from '../../lib/fleet';
import type { SnapshotMeta } from '../../lib/api';
import { FlameGraph } from '../flame-graph/FlameGraph';
import { FlameToolbar } from '../flame-graph/FlameToolbar';
import { ViewControls, useFrameMenu } from '../flame-graph/ViewControls';
import { useTransformed } from '../flame-graph/FlameView';
import { profileForMode, type ViewMode } from '../../lib/transforms';
import { isLatencyProfile } from '../flame-graph/ProfileView';
import { LatencyCompare } from './LatencyCompare';
import { fmtPct, fmtValue } from '../../lib/format';
import { toolLabel } from '../../lib/tools';
import { totalText } from '../snapshots/SnapshotMetaPanel';
import { DataTable, FunctionCell, ScrollRows } from '../table';

function Side({ label, meta }: { label: string; meta: SnapshotMeta }) {
  return (
    <div className="card grow" style={{ minWidth: 260 }}>
      <div className="small muted">{label}</div>
      <a href={`/s/${encodeURIComponent(meta.id)}`}>
        <strong>{meta.name}</strong>
      </a>
      <div className="small muted">
        {toolLabel(meta.tool)} · {meta.host || 'unknown host'} · {totalText(meta)}
      </div>
    </div>
  );
}

/** Function names present in `a` but not in `b`, heaviest first. */
function onlyIn(a: Profile, b: Profile): { name: string; total: number }[] {
  const inB = new Set(b.frames.map((f) => f.name));
  const total = new Map<string, number>(); // by name: one row when kinds differ
  for (const r of topFunctions(a)) if (!inB.has(r.name)) total.set(r.name, (total.get(r.name) ?? 0) + r.total);
  return [...total].map(([name, t]) => ({ name, total: t })).sort((x, y) => y.total - x.total);
}

function OnlyList({
  title,
  rows,
  total,
  unit,
  testid,
}: {
  title: string;
  rows: { name: string; total: number }[];
  total: number;
  unit: Profile['unit'];
  testid: string;
}) {
  return (
    <div className="card grow" style={{ minWidth: 280 }} data-testid={testid} data-count={rows.length}>
      <h3>
        {title} <span className="muted small">({rows.length})</span>
      </h3>
      {rows.length === 0 ? (
        <p className="muted small">None.</p>
      ) : (
        <ScrollRows>
          {rows.slice(0, 200).map((r) => (
            <tr key={r.name}>
              <FunctionCell name={r.name} />
              <td className="num" title={fmtValue(r.total, unit)}>
                {fmtPct(total ? r.total / total : 0)}
              </td>
            </tr>
          ))}
        </ScrollRows>
      )}
    </div>
  );
}

function DeltaTable({ base, target, normalize }: { base: Profile; target: Profile; normalize: boolean }) {
  const rows = useMemo(() => topFunctionsDiff(base, target, { normalize, limit: 300 }), [base, target, normalize]);
  const t = target.total || 1;
  return (
    <section aria-label="Top functions delta">
      <h3>Top functions: change</h3>
      <DataTable
        data-testid="compare-delta-table"
        head={
          <>
            <th>Function</th>
            <th className="num" title="self share before → after">
              Self
            </th>
            <th className="num">Δ self</th>
            <th className="num">Δ total</th>
          </>
        }
      >
        {rows.map((r) => (
          <tr key={`${r.kind}:${r.name}`} data-only={r.only ?? ''}>
            <FunctionCell name={r.name}>{r.only && <span className="small muted"> ({r.only === 'base' ? 'gone' : 'new'})</span>}</FunctionCell>
            <td className="num small">
              {fmtPct(r.baseSelf / t)} → {fmtPct(r.targetSelf / t)}
            </td>
            <td className={`num ${r.deltaSelf > 0 ? 'grew' : r.deltaSelf < 0 ? 'shrank' : ''}`} title={fmtValue(r.deltaSelf, target.unit)}>
              {r.deltaSelf > 0 ? '+' : ''}
              {fmtPct(r.deltaSelf / t)}
            </td>
            <td className={`num ${r.deltaTotal > 0 ? 'grew' : r.deltaTotal < 0 ? 'shrank' : ''}`} title={fmtValue(r.deltaTotal, target.unit)}>
              {r.deltaTotal > 0 ? '+' : ''}
              {fmtPct(r.deltaTotal / t)}
            </td>
          </tr>
        ))}
      </DataTable>
    </section>
  );
}

const COMPARE_MODES: readonly ViewMode[] = ['flame', 'inverted'];

function DiffFlame({
  base: rawBase,
  target: rawTarget,
  baseMeta,
  targetMeta,
}: {
  base: Profile;
  target: Profile;
  baseMeta: SnapshotMeta;
  targetMeta: SnapshotMeta;
}) {
  const store = useViewStore();
  const absolute = useView((s) => s.absolute);
  const reversed = useView((s) => s.reversed);
  const transforms = useView((s) => s.transforms);
  const mode: ViewMode = useView((s) => (s.mode === 'inverted' ? 'inverted' : 'flame'));
  const menu = useFrameMenu({ sandwich: false });
  const tb = useTransformed(rawBase, transforms);
  const tt = useTransformed(rawTarget, transforms);
  const base = tb.p;
  const target = tt.p;
  const normalize = !absolute;
  // "before" → "after": widths from the after side, colours from the change against before
  const before = reversed ? target : base;
  const after = reversed ? base : target;
  const drawnBefore = useMemo(() => profileForMode(before, mode), [before, mode]);
  const drawnAfter = useMemo(() => profileForMode(after, mode), [after, mode]);
  const beforeMeta = reversed ? targetMeta : baseMeta;
  const afterMeta = reversed ? baseMeta : targetMeta;
  const onlyBefore = useMemo(() => onlyIn(before, after), [before, after]);
  const onlyAfter = useMemo(() => onlyIn(after, before), [before, after]);

  return (
    <div className="stack-v">
      <div className="row">
        <Side label={reversed ? 'Before (target)' : 'Before (base)'} meta={beforeMeta} />
        <span aria-hidden="true" style={{ fontSize: 20 }}>
          →
        </span>
        <Side label={reversed ? 'After (base)' : 'After (target)'} meta={afterMeta} />
      </div>
      <div className="viewer">
        <div style={{ minWidth: 0 }}>
          <ViewControls modes={COMPARE_MODES} status={menu.status} />
          {(tb.error || tt.error) && (
            <div className="error" role="alert">
              {tb.error || tt.error}
            </div>
          )}
          <FlameToolbar>
            <button
              type="button"
              className="btn small"
              data-testid="compare-normalize"
              aria-pressed={normalize}
              onClick={() => store.getState().setAbsolute(!absolute)}
              title="Normalized compares shares (captures of different lengths or rates); absolute compares raw counts"
            >
              {normalize ? 'Normalized' : 'Absolute'}
            </button>
            <button
              type="button"
              className="btn small"
              data-testid="compare-direction"
              data-direction={reversed ? 'target-to-base' : 'base-to-target'}
              onClick={() => store.getState().setReversed(!reversed)}
              title="Swap before and after"
            >
              {reversed ? 'target → base' : 'base → target'}
            </button>
            <span className="small">
              <span className="grew">■ grew</span> <span className="shrank">■ shrank</span>
            </span>
          </FlameToolbar>
          {/* inverted, only the roots (leaves) have self time: colour by the total change there */}
          <FlameGraph
            key={mode}
            profile={drawnAfter}
            baseline={drawnBefore}
            normalize={normalize}
            palette="diff"
            diffColorBy={mode === 'inverted' ? 'total' : 'self'}
            onFrameMenu={menu.openFrame}
            data-testid={`graph-${mode}`}
          />
        </div>
        <DeltaTable base={before} target={after} normalize={normalize} />
      </div>
      {menu.element}
      <div className="row" style={{ alignItems: 'stretch' }}>
        <OnlyList title="Only before" rows={onlyBefore} total={before.total} unit={before.unit} testid="compare-only-base" />
        <OnlyList title="Only after" rows={onlyAfter} total={after.total} unit={after.unit} testid="compare-only-target" />
      </div>
    </div>
  );
}

export function CompareView({
  baseId,
  targetId,
  baseMeta,
  targetMeta,
  host,
  vs,
}: {
  baseId: string;
  targetId: string;
  baseMeta: SnapshotMeta;
  targetMeta: SnapshotMeta;
  /** a multi-host snapshot: compare this host (of the base)… */
  host?: string;
  /** …against this host of the target, or "rest" (every other host). */
  vs?: string;
}) {
  const rawB = useSnapshot(baseId);
  const rawT = useSnapshot(targetId);
  const sliced = !!(host && vs);
  const bData = useMemo(() => (sliced && rawB.data ? { ...rawB.data, profile: hostSlice(rawB.data.profile, host!) } : rawB.data), [rawB.data, sliced, host]);
  const tData = useMemo(
    () => (sliced && rawT.data ? { ...rawT.data, profile: hostSlice(rawT.data.profile, vs!, host) } : rawT.data),
    [rawT.data, sliced, vs, host],
  );
  const b = { ...rawB, data: bData };
  const t = { ...rawT, data: tData };
  const error = b.error || t.error;
  const mixed =
    b.data && t.data && isLatencyProfile(b.data.profile) !== isLatencyProfile(t.data.profile)
      ? 'One of these snapshots is a latency capture (biolatency) and the other holds stacks; they cannot be compared.'
      : null;
  return (
    <div className="stack-v">
      <h1>Compare</h1>
      {sliced && (
        <div className="muted small" data-testid="compare-hosts">
          host <span className="mono">{host}</span> against {vs === 'rest' ? 'every other host' : <span className="mono">{vs}</span>}
        </div>
      )}
      {error && (
        <div className="error" role="alert">
          {error}
        </div>
      )}
      {mixed && (
        <div className="error" role="alert">
          {mixed}
        </div>
      )}
      {!error && (!b.data || !t.data) && <div className="placeholder">Loading both snapshots…</div>}
      {b.data && t.data && !mixed && (
        <ViewStoreProvider syncUrl>
          {isLatencyProfile(b.data.profile) ? (
            <LatencyCompare base={b.data.profile} target={t.data.profile} baseMeta={baseMeta} targetMeta={targetMeta} />
          ) : (
            <DiffFlame base={b.data.profile} target={t.data.profile} baseMeta={baseMeta} targetMeta={targetMeta} />
          )}
        </ViewStoreProvider>
      )}
    </div>
  );
}

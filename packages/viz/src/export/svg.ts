/**
 * A standalone SVG flame graph (no scripts): title, one rectangle per visible frame with a text
 * label and a <title> tooltip (name, value, share). Opens in any browser without the app. Every
 * string is XML-escaped; characters XML cannot carry are replaced by U+FFFD.
 */
import type { FrameKind, Profile, Unit } from '../model/types.js';
import { buildTree, type CallTree } from '../model/tree.js';
import { diff, type DiffOptions } from '../ops/diff.js';

export interface SvgOptions {
  title?: string;
  subtitle?: string;
  /** total image width in px (default 1200). */
  width?: number;
  /** frame height in px (default 16). */
  frameHeight?: number;
  fontSize?: number;
  /** icicle (root at top) instead of flame (root at bottom). */
  inverted?: boolean;
  /** 'hot' (on-CPU, default) or 'cold' (off-CPU: blues). */
  palette?: 'hot' | 'cold';
  /** frames narrower than this many px are not drawn (default 0.1). */
  minWidthPx?: number;
  /** label of the root (default "all"). */
  rootName?: string;
}

const UNIT_LABEL: Record<Unit, string> = {
  samples: 'samples',
  count: 'count',
  microseconds: 'µs',
  nanoseconds: 'ns',
  milliseconds: 'ms',
  bytes: 'bytes',
};

/** Escape text for XML content and attribute values; drop characters XML 1.0 forbids. */
export function escapeXml(s: string): string {
  return s
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g, '\uFFFD')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** Deterministic 0..1 hash of a name (stable colours across renders). */
function hash01(name: string, seed: number): number {
  let h = 2166136261 ^ seed;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 16777619);
  }
  return ((h >>> 0) % 1000) / 1000;
}

export function frameColor(name: string, kind: FrameKind | 'root', opts: { palette?: 'hot' | 'cold'; waker?: boolean } = {}): string {
  const v1 = hash01(name, 1), v2 = hash01(name, 2), v3 = hash01(name, 3);
  const rgb = (r: number, g: number, b: number) => `rgb(${Math.round(r)},${Math.round(g)},${Math.round(b)})`;
  if (kind === 'root') return rgb(200, 200, 200);
  if (kind === 'separator') return rgb(160, 160, 160);
  if (kind === 'comm') return rgb(150 + 30 * v1, 150 + 30 * v1, 195 + 40 * v2);
  if (kind === 'unknown') return rgb(185 + 30 * v1, 185 + 30 * v1, 170 + 20 * v2);
  if (opts.waker)
    return opts.palette === 'cold'
      ? rgb(150 + 50 * v1, 110 + 50 * v2, 225 + 30 * v3) // waker part on an off-CPU chain: violet
      : rgb(40 + 60 * v1, 120 + 70 * v2, 200 + 55 * v3); // waker part: blue/teal
  if (opts.palette === 'cold') {
    if (kind === 'kernel') return rgb(60 + 50 * v1, 130 + 60 * v2, 235);
    return rgb(0, 80 + 110 * v1, 190 + 60 * v2);
  }
  switch (kind) {
    case 'kernel':
      return rgb(225 + 30 * v3, 135 + 55 * v1, 40 * v2); // orange
    case 'user':
      return rgb(205 + 50 * v3, 35 + 60 * v1, 35 + 30 * v2); // red
    case 'jit':
      return rgb(50 + 60 * v3, 180 + 50 * v1, 50 + 50 * v2);
    case 'inline':
      return rgb(80 + 40 * v3, 190 + 40 * v1, 190 + 40 * v1);
    default:
      return rgb(205 + 50 * v3, 230 * v1, 55 * v2);
  }
}

function fmt(n: number): string {
  return Number.isInteger(n) ? n.toLocaleString('en-US') : n.toLocaleString('en-US', { maximumFractionDigits: 3 });
}

export function toSvg(profile: Profile, opts: SvgOptions = {}): string {
  return treeToSvg(buildTree(profile), profile.total, profile.unit, { title: opts.title ?? profile.meta.name ?? 'Flame Graph', ...opts });
}

/** Per-node overrides for treeToSvg (differential graphs). */
export interface SvgNodeStyle {
  /** widths per node (default tree.total). */
  values?: Float64Array;
  fill?: (node: number) => string;
  tooltip?: (node: number, name: string) => string;
}

export function treeToSvg(tree: CallTree, grandTotal: number, unit: Unit, opts: SvgOptions = {}, style: SvgNodeStyle = {}): string {
  const val = style.values ?? tree.total;
  const W = opts.width ?? 1200;
  const fh = opts.frameHeight ?? 16;
  const fs = opts.fontSize ?? 12;
  const pad = 10;
  const top = 52;
  const bottom = 24;
  const minPx = opts.minWidthPx ?? 0.1;
  const charW = fs * 0.59;
  const total = val[0];
  const scale = total > 0 ? (W - 2 * pad) / total : 0;
  const n = tree.count;
  const x = new Float64Array(n);
  const cursor = new Float64Array(n);
  // visible nodes and their depth extent
  let maxDepth = 0;
  const visible: number[] = [];
  for (let i = 0; i < n; ) {
    if (val[i] * scale < minPx && i !== 0) {
      cursor[tree.parent[i]] += val[i]; // not drawn, but its width stays in the layout
      i += tree.size[i];
      continue;
    }
    if (i > 0) {
      const p = tree.parent[i];
      x[i] = cursor[p];
      cursor[p] += val[i];
    }
    cursor[i] = x[i];
    visible.push(i);
    if (tree.depth[i] > maxDepth) maxDepth = tree.depth[i];
    i++;
  }
  const H = top + (maxDepth + 1) * fh + bottom;
  const yOf = (d: number) => (opts.inverted ? top + d * fh : H - bottom - (d + 1) * fh);
  const title = opts.title ?? 'Flame Graph';
  const unitLabel = UNIT_LABEL[unit];
  const out: string[] = [];
  out.push(
    `<?xml version="1.0" encoding="UTF-8" standalone="no"?>`,
    `<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Verdana, 'DejaVu Sans', sans-serif">`,
    `<rect x="0" y="0" width="${W}" height="${H}" fill="#f8f8f4"/>`,
    `<text x="${W / 2}" y="24" font-size="${fs + 5}" text-anchor="middle" fill="#000">${escapeXml(title)}</text>`,
    `<text x="${W / 2}" y="42" font-size="${fs}" text-anchor="middle" fill="#555">${escapeXml(
      opts.subtitle ?? `total ${fmt(grandTotal)} ${unitLabel}${tree.pruned ? ` (pruned: ${tree.pruned.removedNodes} small frames folded into parents)` : ''}`,
    )}</text>`,
  );
  for (const i of visible) {
    const name = i === 0 ? opts.rootName ?? 'all' : tree.frames[tree.frame[i]].name;
    const kind = i === 0 ? 'root' : tree.frames[tree.frame[i]].kind;
    const w = val[i] * scale;
    const rx = pad + x[i] * scale;
    const ry = yOf(tree.depth[i]);
    const share = grandTotal > 0 ? (100 * val[i]) / grandTotal : 0;
    const tip = style.tooltip
      ? style.tooltip(i, name)
      : `${name} (${fmt(val[i])} ${unitLabel}, ${share.toFixed(2)}%${tree.self[i] ? `, self ${fmt(tree.self[i])}` : ''})`;
    const fill = style.fill ? style.fill(i) : frameColor(name, kind, { palette: opts.palette, waker: tree.waker[i] === 1 && kind !== 'separator' && kind !== 'comm' });
    out.push(`<g><title>${escapeXml(tip)}</title><rect x="${rx.toFixed(2)}" y="${ry}" width="${w.toFixed(2)}" height="${fh - 1}" rx="2" fill="${fill}"/>`);
    const maxChars = Math.floor((w - 6) / charW);
    if (maxChars >= 3) {
      const label = name.length <= maxChars ? name : name.slice(0, maxChars - 2) + '..';
      out.push(`<text x="${(rx + 3).toFixed(2)}" y="${ry + fh - 4.5}" font-size="${fs}" fill="#000">${escapeXml(label)}</text>`);
    }
    out.push('</g>');
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}

/**
 * A differential flame graph (Brendan Gregg's semantics): widths from the target (or the base with
 * widthsFrom: 'base'), colour from the change of each frame's total: red grew, blue shrank, white
 * unchanged, intensity relative to the largest change. Tooltips give both values and the delta.
 */
export function toDiffSvg(base: Profile, target: Profile, opts: SvgOptions & DiffOptions = {}): string {
  const d = diff(base, target, opts);
  const max = d.maxAbsDelta || 1;
  const unitLabel = UNIT_LABEL[target.unit];
  const widthTotal = d.widthsFrom === 'target' ? d.targetTotal : d.baseTotal * d.scale;
  return treeToSvg(
    d.tree,
    widthTotal,
    target.unit,
    {
      title: opts.title ?? 'Differential Flame Graph',
      subtitle:
        opts.subtitle ??
        `widths: ${d.widthsFrom}; red = grew, blue = shrank${opts.normalize ? ' (normalized: base scaled to the target total)' : ''}; base ${fmt(d.baseTotal)} → target ${fmt(d.targetTotal)} ${unitLabel}`,
      ...opts,
    },
    {
      values: d.width,
      fill: (i) => {
        if (i === 0) return 'rgb(200,200,200)';
        const x = Math.min(1, Math.abs(d.delta[i]) / max);
        const c = Math.round(255 - 190 * x);
        return d.delta[i] > 0 ? `rgb(255,${c},${c})` : d.delta[i] < 0 ? `rgb(${c},${c},255)` : 'rgb(250,250,250)';
      },
      tooltip: (i, name) => {
        const sign = d.delta[i] > 0 ? '+' : '';
        const pct = d.base[i] > 0 ? ` (${sign}${((100 * d.delta[i]) / d.base[i]).toFixed(1)}%)` : d.target[i] > 0 ? ' (new)' : '';
        return `${name}: base ${fmt(d.base[i])}, target ${fmt(d.target[i])} ${unitLabel}, ${sign}${fmt(d.delta[i])}${pct}`;
      },
    },
  );
}

/**
 * A standalone SVG flame graph (no scripts): title, one rectangle per visible frame with a text
 * label and a <title> tooltip (name, value, share). Opens in any browser without the app. Every
 * string is XML-escaped; characters XML cannot carry are replaced by U+FFFD. Colours come from
 * the palette the canvas renderer uses (../palette.ts), so a downloaded SVG looks like the screen.
 */
import type { Profile, Unit } from '../model/types.js';
import { buildTree, type CallTree } from '../model/tree.js';
import { diff, type DiffOptions } from '../ops/diff.js';
import { diffColor, nodeColor, paletteForTool, ROOT_COLOR, type PaletteName } from '../palette.js';

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
  /**
   * the canvas palette to colour with; default: the one the console uses for the profile's tool
   * (offcputime → offcpu, wakeup chains → wakeup, else cpu). 'hot' and 'cold' are the older names
   * of 'cpu' and 'offcpu'.
   */
  palette?: Exclude<PaletteName, 'diff'> | 'hot' | 'cold';
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

function paletteOf(opt: SvgOptions['palette'], tool: Profile['meta']['tool']): Exclude<PaletteName, 'diff'> {
  if (opt === 'hot') return 'cpu';
  if (opt === 'cold') return 'offcpu';
  return opt ?? paletteForTool(tool);
}

function fmt(n: number): string {
  return Number.isInteger(n) ? n.toLocaleString('en-US') : n.toLocaleString('en-US', { maximumFractionDigits: 3 });
}

export function toSvg(profile: Profile, opts: SvgOptions = {}): string {
  return treeToSvg(buildTree(profile), profile.total, profile.unit, {
    title: opts.title ?? profile.meta.name ?? 'Flame Graph',
    ...opts,
    palette: paletteOf(opts.palette, profile.meta.tool),
  });
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
  const palette = paletteOf(opts.palette, undefined);
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
    const name = i === 0 ? (opts.rootName ?? 'all') : tree.frames[tree.frame[i]].name;
    const w = val[i] * scale;
    const rx = pad + x[i] * scale;
    const ry = yOf(tree.depth[i]);
    const share = grandTotal > 0 ? (100 * val[i]) / grandTotal : 0;
    const tip = style.tooltip
      ? style.tooltip(i, name)
      : `${name} (${fmt(val[i])} ${unitLabel}, ${share.toFixed(2)}%${tree.self[i] ? `, self ${fmt(tree.self[i])}` : ''})`;
    const fill = style.fill ? style.fill(i) : nodeColor(tree, i, palette);
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
      fill: (i) => (i === 0 ? ROOT_COLOR : diffColor(d.delta[i], max)),
      tooltip: (i, name) => {
        const sign = d.delta[i] > 0 ? '+' : '';
        const pct = d.base[i] > 0 ? ` (${sign}${((100 * d.delta[i]) / d.base[i]).toFixed(1)}%)` : d.target[i] > 0 ? ' (new)' : '';
        return `${name}: base ${fmt(d.base[i])}, target ${fmt(d.target[i])} ${unitLabel}, ${sign}${fmt(d.delta[i])}${pct}`;
      },
    },
  );
}

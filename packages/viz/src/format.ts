/**
 * Value formatting for labels, tables, tooltips and the details line: the one implementation the
 * canvas renderers and the web console use. Pure (no DOM, no Node).
 */
import type { Microseconds, Milliseconds, Unit } from './model/types.js';

/** 1234.6 → "1,235" */
export function formatInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/** A share 0..1 as a percentage: "0%", "<0.01%", "4.56%", "45.6%". */
export function formatPercent(share: number): string {
  if (!Number.isFinite(share)) return '–';
  const p = share * 100;
  if (p === 0) return '0%';
  if (Math.abs(p) < 0.01) return (p < 0 ? '-' : '') + '<0.01%';
  return `${p.toFixed(Math.abs(p) < 10 ? 2 : 1)}%`;
}

/** A value in a profile unit: "1,234 samples", "12.3 ms", "5 KiB", "7". */
export function formatValue(v: number, unit: Unit): string {
  switch (unit) {
    case 'samples':
      return `${formatInt(v)} ${Math.round(v) === 1 ? 'sample' : 'samples'}`;
    case 'microseconds':
      return formatTime(v);
    case 'nanoseconds':
      return formatTime(v / 1000);
    case 'milliseconds':
      return formatTime(v * 1000);
    case 'bytes':
      return formatBytes(v);
    default:
      return formatInt(v);
  }
}

/** µs → "850 µs" / "12.5 ms" / "3.2 s" */
export function formatTime(us: Microseconds): string {
  const a = Math.abs(us);
  if (a < 1000) return `${formatNumber(us)} µs`;
  if (a < 1e6) return `${formatNumber(us / 1000)} ms`;
  return `${formatNumber(us / 1e6)} s`;
}

/** ms → like formatTime */
export function formatMs(ms: Milliseconds): string {
  return formatTime(ms * 1000);
}

export function formatBytes(b: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = b;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${formatNumber(v)} ${units[i]}`;
}

/** three significant digits or the integer part: 123 → "123", 12.34 → "12.3", 1.5 → "1.5" */
function formatNumber(v: number): string {
  const a = Math.abs(v);
  if (a >= 100) return Math.round(v).toLocaleString('en-US');
  if (a >= 10) return v.toFixed(1);
  return v.toFixed(2).replace(/\.?0+$/, '') || '0';
}

/** epoch ms (or an ISO string) → "2026-11-30 03:20:54 UTC"; "–" when absent. */
export function formatDate(epochMs: number | string | undefined): string {
  if (epochMs === undefined || epochMs === null || epochMs === '') return '–';
  const d = new Date(epochMs);
  if (Number.isNaN(d.getTime())) return String(epochMs);
  return d
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, ' UTC');
}

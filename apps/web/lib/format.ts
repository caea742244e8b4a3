/** Number and unit formatting for labels, tables and the details line. Pure. */
import type { Unit } from '@bpfscope/viz';

export function fmtInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

export function fmtPct(share: number): string {
  if (!Number.isFinite(share)) return '–';
  const p = share * 100;
  if (p === 0) return '0%';
  if (Math.abs(p) < 0.01) return (p < 0 ? '-' : '') + '<0.01%';
  return `${p.toFixed(Math.abs(p) < 10 ? 2 : 1)}%`;
}

/** Human-readable value in a profile unit: "1,234 samples", "12.3 ms", "5 events". */
export function fmtValue(v: number, unit: Unit): string {
  switch (unit) {
    case 'samples':
      return `${fmtInt(v)} ${Math.round(v) === 1 ? 'sample' : 'samples'}`;
    case 'microseconds':
      return fmtDurationUs(v);
    case 'nanoseconds':
      return fmtDurationUs(v / 1000);
    case 'milliseconds':
      return fmtDurationUs(v * 1000);
    case 'bytes':
      return fmtBytes(v);
    default:
      return fmtInt(v);
  }
}

export function fmtDurationUs(us: number): string {
  const a = Math.abs(us);
  if (a < 1000) return `${fmtNum(us)} µs`;
  if (a < 1e6) return `${fmtNum(us / 1000)} ms`;
  return `${fmtNum(us / 1e6)} s`;
}

export function fmtMs(ms: number): string {
  return fmtDurationUs(ms * 1000);
}

export function fmtBytes(b: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = b;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${fmtNum(v)} ${units[i]}`;
}

function fmtNum(v: number): string {
  const a = Math.abs(v);
  if (a >= 100) return Math.round(v).toLocaleString('en-US');
  if (a >= 10) return v.toFixed(1);
  return v.toFixed(2).replace(/\.?0+$/, '') || '0';
}

export function fmtDate(epochMs: number | string | undefined): string {
  if (epochMs === undefined || epochMs === null || epochMs === '') return '–';
  const d = new Date(epochMs);
  if (Number.isNaN(d.getTime())) return String(epochMs);
  return d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC');
}

/** bcc's log2 slot labels: slot 0 is "0 -> 1", slot i is "2^i -> 2^(i+1)-1". */
export function slotRange(i: number): [number, number] {
  if (i === 0) return [0, 1];
  return [2 ** i, 2 ** (i + 1) - 1];
}

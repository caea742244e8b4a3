/**
 * /proc/PID/maps parsed into a sorted table. User-space addresses on x86-64 are below 2^47, so
 * they are kept as plain numbers.
 */
import { readFileSync } from 'node:fs';

export interface Mapping {
  start: number;
  end: number;
  /** "r-xp" */
  perms: string;
  exec: boolean;
  /** file offset of `start` */
  offset: number;
  /** "fe:00" */
  dev: string;
  inode: number;
  /** path as the process sees it ("/usr/lib/x86_64-linux-gnu/libc.so.6", "[vdso]", "" for anonymous) */
  path: string;
  /** the file was deleted or replaced after it was mapped */
  deleted: boolean;
}

/** True for a mapping backed by a regular file (not [heap], [vdso], anonymous, memfd...). */
export function isFileMapping(m: Mapping): boolean {
  return m.inode !== 0 && m.path.startsWith('/');
}

export class ProcMaps {
  readonly pid: number;
  readonly mappings: Mapping[];
  private readonly starts: Float64Array;

  constructor(pid: number, mappings: Mapping[]) {
    this.pid = pid;
    this.mappings = mappings.slice().sort((a, b) => a.start - b.start);
    this.starts = new Float64Array(this.mappings.length);
    for (let i = 0; i < this.mappings.length; i++) this.starts[i] = this.mappings[i].start;
  }

  /** Read /proc/PID/maps (procRoot defaults to /proc). Throws ENOENT-style errors for gone processes. */
  static read(pid: number, procRoot = '/proc'): ProcMaps {
    if (!Number.isInteger(pid) || pid <= 0) throw new Error(`invalid pid ${pid}: expected a positive integer`);
    const text = readFileSync(`${procRoot}/${pid}/maps`, 'utf8');
    return new ProcMaps(pid, ProcMaps.parse(text));
  }

  /** Parse the text of a maps file. Lines that do not parse are skipped. */
  static parse(text: string): Mapping[] {
    const out: Mapping[] = [];
    for (const line of text.split('\n')) {
      if (!line) continue;
      // start-end perms offset dev inode [path]
      const dash = line.indexOf('-');
      const f1 = line.indexOf(' ', dash + 1);
      if (dash <= 0 || f1 < 0) continue;
      const f2 = line.indexOf(' ', f1 + 1);
      const f3 = line.indexOf(' ', f2 + 1);
      const f4 = line.indexOf(' ', f3 + 1);
      if (f2 < 0 || f3 < 0 || f4 < 0) continue;
      let f5 = line.indexOf(' ', f4 + 1);
      if (f5 < 0) f5 = line.length;
      const start = parseInt(line.slice(0, dash), 16);
      const end = parseInt(line.slice(dash + 1, f1), 16);
      const perms = line.slice(f1 + 1, f2);
      const offset = parseInt(line.slice(f2 + 1, f3), 16);
      const dev = line.slice(f3 + 1, f4);
      const inode = parseInt(line.slice(f4 + 1, f5), 10);
      if (!Number.isFinite(start) || !Number.isFinite(end) || !Number.isFinite(offset) || !Number.isFinite(inode)) continue;
      let path = line.slice(f5).replace(/^ +/, '');
      let deleted = false;
      if (path.endsWith(' (deleted)')) {
        deleted = true;
        path = path.slice(0, -' (deleted)'.length);
      }
      out.push({ start, end, perms, exec: perms[2] === 'x', offset, dev, inode, path, deleted });
    }
    return out;
  }

  /** Index of the mapping containing addr, or -1. */
  findIndex(addr: number): number {
    const s = this.starts;
    let lo = 0;
    let hi = s.length - 1;
    if (hi < 0 || addr < s[0]) return -1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (s[mid] <= addr) lo = mid;
      else hi = mid - 1;
    }
    return addr < this.mappings[lo].end ? lo : -1;
  }

  find(addr: number): Mapping | undefined {
    const i = this.findIndex(addr);
    return i < 0 ? undefined : this.mappings[i];
  }
}

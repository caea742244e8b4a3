/**
 * perf-PID.map files written by JITs (Node --perf-basic-prof, Java perf-map-agent, ...):
 * one "START SIZE name" line per code region, hex numbers with or without 0x. The file is read
 * incrementally: refresh() parses only what was appended since the last read. When regions
 * overlap (code moved or re-compiled), the entry written last wins.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

export interface PerfMapEntry {
  start: number;
  size: number;
  name: string;
}

export class PerfMap {
  readonly path: string;
  private readonly startsList: number[] = [];
  private readonly sizes: number[] = [];
  private readonly names: string[] = [];
  private readOffset = 0;
  private partial = '';
  private sorted?: { starts: Float64Array; order: Uint32Array };
  /** last time refresh() looked at the file (ms) */
  private lastCheck = 0;

  constructor(path: string) {
    this.path = path;
  }

  /** Build from text (tests, synthetic maps). */
  static fromText(text: string, path = '<text>'): PerfMap {
    const m = new PerfMap(path);
    m.addText(text.endsWith('\n') ? text : text + '\n');
    return m;
  }

  get size(): number {
    return this.startsList.length;
  }

  /**
   * Read what was appended since the last call. Returns false when the file does not exist.
   * minIntervalMs rate-limits stat calls (a busy symbolizer calls this per stack).
   */
  refresh(minIntervalMs = 0): boolean {
    const now = Date.now();
    if (minIntervalMs > 0 && now - this.lastCheck < minIntervalMs) return true;
    this.lastCheck = now;
    let fd: number;
    try {
      fd = openSync(this.path, 'r');
    } catch {
      return false;
    }
    try {
      const size = fstatSync(fd).size;
      if (size < this.readOffset) {
        // rewritten from scratch (pid reuse): start over
        this.reset();
      }
      if (size > this.readOffset) {
        const len = size - this.readOffset;
        const buf = Buffer.allocUnsafe(len);
        let done = 0;
        while (done < len) {
          const n = readSync(fd, buf, done, len - done, this.readOffset + done);
          if (n <= 0) break;
          done += n;
        }
        this.readOffset += done;
        this.addText(buf.toString('utf8', 0, done));
      }
      return true;
    } finally {
      closeSync(fd);
    }
  }

  private reset(): void {
    this.startsList.length = 0;
    this.sizes.length = 0;
    this.names.length = 0;
    this.readOffset = 0;
    this.partial = '';
    this.sorted = undefined;
  }

  private addText(text: string): void {
    const all = this.partial + text;
    const lastNl = all.lastIndexOf('\n');
    if (lastNl < 0) {
      this.partial = all;
      return;
    }
    this.partial = all.slice(lastNl + 1);
    const body = all.slice(0, lastNl);
    let added = false;
    for (const line of body.split('\n')) {
      const s1 = line.indexOf(' ');
      if (s1 <= 0) continue;
      const s2 = line.indexOf(' ', s1 + 1);
      if (s2 < 0) continue;
      const start = parseInt(line.slice(0, s1), 16);
      const size = parseInt(line.slice(s1 + 1, s2), 16);
      if (!Number.isFinite(start) || !Number.isFinite(size) || size <= 0) continue;
      let name = line.slice(s2 + 1);
      if (name.endsWith('\r')) name = name.slice(0, -1);
      this.startsList.push(start);
      this.sizes.push(size);
      this.names.push(name);
      added = true;
    }
    if (added) this.sorted = undefined;
  }

  private index(): { starts: Float64Array; order: Uint32Array } {
    if (!this.sorted) {
      const n = this.startsList.length;
      const order = new Uint32Array(n);
      for (let i = 0; i < n; i++) order[i] = i;
      const st = this.startsList;
      order.sort((a, b) => st[a] - st[b] || a - b);
      const starts = new Float64Array(n);
      for (let i = 0; i < n; i++) starts[i] = st[order[i]];
      this.sorted = { starts, order };
    }
    return this.sorted;
  }

  /** The region containing addr (latest definition wins), or undefined. */
  lookup(addr: number): (PerfMapEntry & { offset: number }) | undefined {
    const { starts, order } = this.index();
    let lo = 0;
    let hi = starts.length - 1;
    if (hi < 0 || addr < starts[0]) return undefined;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (starts[mid] <= addr) lo = mid;
      else hi = mid - 1;
    }
    let best = -1;
    const stop = Math.max(0, lo - 32);
    for (let j = lo; j >= stop; j--) {
      const e = order[j];
      if (addr < this.startsList[e] + this.sizes[e] && e > best) best = e;
    }
    if (best < 0) return undefined;
    const start = this.startsList[best];
    return { start, size: this.sizes[best], name: this.names[best], offset: addr - start };
  }
}

/**
 * ELF object → unwind table: finds the CFI sections (.eh_frame of the object, .debug_frame of the
 * object or of its separate debug file found by build-id / .gnu_debuglink) and builds the rows
 * (cfi.ts). Synchronous: runs in the worker thread (worker.ts), or directly in tests and benches.
 * Every file access goes through `root` (e.g. /proc/PID/root) when one is given.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { inflateSync } from 'node:zlib';
import { openDebugFile } from '../symbolize/debugfile.js';
import { ElfFile, type ElfSection } from '../symbolize/elf.js';
import { buildUnwindRows, ehFrameFromHdr, type CfiSection } from './cfi.js';
import type { UnwindTable } from './types.js';

const SHF_COMPRESSED = 0x800;
const ELFCOMPRESS_ZLIB = 1;
const ELFCOMPRESS_ZSTD = 2;
/** Larger CFI sections (or their declared decompressed size) are not read: a bound on the worker's memory. */
const MAX_CFI_BYTES = 512 * 1024 * 1024;

export interface GenerateOptions {
  /** prefix for every file access (containers: /proc/PID/root) */
  root?: string;
  /** directories searched for separate debug files, as the process sees them (default ['/usr/lib/debug']) */
  debugDirs?: string[];
  /** do not look for separate debug files */
  noDebugFiles?: boolean;
}

/** Generate the table of the ELF object at `path` (as seen inside `root`). Never throws. */
export function generateTable(path: string, opts: GenerateOptions = {}): UnwindTable {
  const root = opts.root ?? '';
  let elf: ElfFile;
  try {
    elf = ElfFile.open(root + path, { name: path });
  } catch (e) {
    return emptyTable(`${path}: ${(e as Error).message}`, 'unreadable-object');
  }
  try {
    return generateFromElf(elf, path, opts);
  } finally {
    elf.close();
  }
}

/** Generate the table of the vDSO of a running process (read from /proc/PID/mem). Never throws. */
export function generateVdsoTable(pid: number, procRoot = '/proc'): UnwindTable {
  let image: Buffer;
  try {
    image = readVdsoImage(pid, procRoot);
  } catch (e) {
    return emptyTable(`[vdso] of pid ${pid}: ${(e as Error).message}`, 'unreadable-object');
  }
  let elf: ElfFile;
  try {
    elf = ElfFile.fromBuffer(image, '[vdso]');
  } catch (e) {
    return emptyTable(`[vdso] of pid ${pid}: ${(e as Error).message}`, 'unreadable-object');
  }
  return generateFromElf(elf, '[vdso]', { noDebugFiles: true });
}

/** The [vdso] mapping's bytes of a process. Throws with a clear message. */
export function readVdsoImage(pid: number, procRoot = '/proc'): Buffer {
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`invalid pid ${pid}: expected a positive integer`);
  const maps = readFileText(`${procRoot}/${pid}/maps`);
  const line = maps.split('\n').find((l) => l.endsWith(' [vdso]'));
  if (!line) throw new Error('the process has no [vdso] mapping');
  const [range] = line.split(' ');
  const [a, b] = range.split('-').map((x) => parseInt(x, 16));
  const size = b - a;
  if (!(size > 0 && size <= 1 << 20)) throw new Error(`[vdso] mapping of unexpected size ${size}`);
  const fd = openSync(`${procRoot}/${pid}/mem`, 'r');
  try {
    const buf = Buffer.alloc(size);
    let done = 0;
    while (done < size) {
      const n = readSync(fd, buf, done, size - done, a + done);
      if (n <= 0) break;
      done += n;
    }
    if (done < 64) throw new Error(`could not read the [vdso] image from ${procRoot}/${pid}/mem`);
    return buf.subarray(0, done);
  } finally {
    closeSync(fd);
  }
}

function readFileText(p: string): string {
  const fd = openSync(p, 'r');
  try {
    const chunks: Buffer[] = [];
    for (;;) {
      const b = Buffer.alloc(65536);
      const n = readSync(fd, b, 0, b.length, null);
      if (n <= 0) break;
      chunks.push(b.subarray(0, n));
    }
    return Buffer.concat(chunks).toString('latin1');
  } finally {
    closeSync(fd);
  }
}

export function emptyTable(error: string, reason: string, buildId?: string): UnwindTable {
  return { buildId, rows: new Uint8Array(0), count: 0, source: 'none', reasons: { [reason]: 1 }, error };
}

/** Build the table of an opened ELF object (the caller closes it). Never throws. */
export function generateFromElf(elf: ElfFile, path: string, opts: GenerateOptions = {}): UnwindTable {
  const reasons: Record<string, number> = {};
  const sections: CfiSection[] = [];
  const sources: string[] = [];
  let error: string | undefined;
  try {
    if (elf.machine !== 62) {
      return emptyTable(`${path}: not an x86-64 object (e_machine ${elf.machine}); unwind tables are x86-64 only`, 'unsupported-machine', elf.buildId);
    }
    const eh = elf.section('.eh_frame');
    const ehData = eh ? sectionBytes(elf, eh, reasons) : undefined;
    if (eh && ehData) {
      sections.push({ kind: 'eh_frame', data: ehData, vaddr: eh.addr });
      sources.push('eh_frame');
    } else if (elf.sections.length === 0 && elf.ehFrameHdr) {
      // no section headers (e.g. sstrip'ed): .eh_frame through PT_GNU_EH_FRAME → .eh_frame_hdr
      const viaHdr = ehFrameViaProgramHeader(elf);
      if (viaHdr) {
        sections.push(viaHdr);
        sources.push('eh_frame');
        reasons['eh-frame-via-program-header'] = 1;
      }
    }
    let dbgSec = elf.section('.debug_frame') ?? elf.section('.zdebug_frame');
    let dbgElf: ElfFile | undefined;
    if (!(dbgSec && dbgSec.type !== 8) && !opts.noDebugFiles) {
      dbgElf = findDebugFile(elf, path, opts);
      if (dbgElf) dbgSec = dbgElf.section('.debug_frame') ?? dbgElf.section('.zdebug_frame');
    }
    if (dbgSec) {
      const data = sectionBytes(dbgElf ?? elf, dbgSec, reasons);
      if (data) {
        sections.push({ kind: 'debug_frame', data, vaddr: 0 });
        sources.push('debug_frame');
      }
    }
    dbgElf?.close();
  } catch (e) {
    error = `${path}: ${(e as Error).message}`;
    reasons['unreadable-object'] = (reasons['unreadable-object'] ?? 0) + 1;
  }
  if (sections.length === 0) {
    if (!error) reasons['no-cfi'] = 1;
    return {
      buildId: elf.buildId,
      rows: new Uint8Array(0),
      count: 0,
      source: 'none',
      reasons,
      error: error ?? `${path}: no .eh_frame or .debug_frame (frame pointers only)`,
    };
  }
  const got = elf.section('.got');
  const text = elf.section('.text');
  const r = buildUnwindRows(sections, { gotAddr: got?.addr, textAddr: text?.addr });
  for (const [k, v] of Object.entries(r.reasons)) reasons[k] = (reasons[k] ?? 0) + v;
  const err = error ?? (r.error ? `${path}: ${r.error}` : undefined);
  return { buildId: elf.buildId, rows: r.rows, count: r.count, source: sources.join('+'), reasons, error: err };
}

/** .eh_frame located from .eh_frame_hdr: from its start to the end of the last FDE the header lists. */
function ehFrameViaProgramHeader(elf: ElfFile): CfiSection | undefined {
  const h = elf.ehFrameHdr!;
  if (h.filesz < 8 || h.filesz > 1 << 28) return undefined;
  const info = ehFrameFromHdr(elf.readBytes(h.offset, h.filesz), h.vaddr);
  const seg = elf.segments.find((s) => info.ehFrameVaddr >= s.vaddr && info.ehFrameVaddr < s.vaddr + s.filesz);
  if (!seg) throw new Error(`.eh_frame_hdr points at 0x${info.ehFrameVaddr.toString(16)}, outside the file's segments`);
  const segEnd = seg.vaddr + seg.filesz;
  let end = segEnd;
  if (info.lastFdeVaddr !== undefined && info.lastFdeVaddr >= info.ehFrameVaddr && info.lastFdeVaddr + 4 <= segEnd) {
    const lenBuf = elf.readBytes(info.lastFdeVaddr - seg.vaddr + seg.offset, Math.min(12, segEnd - info.lastFdeVaddr));
    let len = lenBuf.readUInt32LE(0);
    let hdrLen = 4;
    if (len === 0xffffffff && lenBuf.length >= 12) {
      len = Number(lenBuf.readBigUInt64LE(4));
      hdrLen = 12;
    }
    end = Math.min(segEnd, info.lastFdeVaddr + hdrLen + len);
  }
  const size = end - info.ehFrameVaddr;
  if (size <= 0 || size > 1 << 30) return undefined;
  return { kind: 'eh_frame', data: elf.readBytes(info.ehFrameVaddr - seg.vaddr + seg.offset, size), vaddr: info.ehFrameVaddr };
}

/** The bytes of a CFI section, decompressed when needed; undefined (with a reason) when unusable. */
function sectionBytes(elf: ElfFile, s: ElfSection, reasons: Record<string, number>): Uint8Array | undefined {
  if (s.size > MAX_CFI_BYTES) {
    reasons['cfi-section-too-large'] = (reasons['cfi-section-too-large'] ?? 0) + 1;
    return undefined;
  }
  const raw = elf.sectionData(s);
  if (!raw) return undefined;
  try {
    if (s.flags & SHF_COMPRESSED) {
      if (raw.length < 24) throw new Error('compressed section header truncated');
      const type = raw.readUInt32LE(0);
      const size = Number(raw.readBigUInt64LE(8));
      if (type === ELFCOMPRESS_ZSTD) {
        reasons['compressed-zstd-unsupported'] = (reasons['compressed-zstd-unsupported'] ?? 0) + 1;
        return undefined;
      }
      if (type !== ELFCOMPRESS_ZLIB) throw new Error(`compression type ${type}`);
      if (size > MAX_CFI_BYTES) throw new Error(`declared size ${size}`);
      return inflateSync(raw.subarray(24), { maxOutputLength: Math.max(size, 1) });
    }
    if (s.name.startsWith('.zdebug')) {
      if (raw.length < 12 || raw.toString('latin1', 0, 4) !== 'ZLIB') throw new Error('bad .zdebug header');
      const size = Number(raw.readBigUInt64BE(4));
      if (size > MAX_CFI_BYTES) throw new Error(`declared size ${size}`);
      return inflateSync(raw.subarray(12), { maxOutputLength: Math.max(size, 1) });
    }
  } catch (_e) {
    reasons['bad-compressed-section'] = (reasons['bad-compressed-section'] ?? 0) + 1;
    return undefined;
  }
  return raw;
}

/** A separate debug file with a .debug_frame: by build-id, else .gnu_debuglink (symbolize/debugfile.ts). */
function findDebugFile(elf: ElfFile, path: string, opts: GenerateOptions): ElfFile | undefined {
  return openDebugFile(elf, path, { root: opts.root, debugDirs: opts.debugDirs }, (dbg) => {
    const s = dbg.section('.debug_frame') ?? dbg.section('.zdebug_frame');
    return !!s && s.type !== 8 && s.size > 0;
  })?.file;
}

/**
 * BpfObject: open → configure (rodata settings, map sizes, which programs) → load → attach → destroy.
 * Links are owned by file descriptors of this process (never pinned), so a killed process leaves
 * nothing attached: the kernel frees programs, links and maps when the last fd closes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import koffi from 'koffi';
import * as L from './ffi/libbpf.js';
import { errno, close as closeFd } from './ffi/libc.js';
import { BpfError, extractVerifierLog } from './errors.js';
import { assertPrivileged, hasKernelBtf, BTF_PATH } from './privileges.js';

const PKG_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const BUILD_DIR = path.join(PKG_DIR, 'build');

/** Path of build/<tool>.bpf.o; builds it with build-bpf.sh when missing. */
export function objectPath(tool: string): string {
  const p = path.join(BUILD_DIR, `${tool}.bpf.o`);
  if (!fs.existsSync(p)) {
    const script = path.join(PKG_DIR, 'build-bpf.sh');
    try {
      execFileSync('bash', [script], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (e) {
      const stderr = (e as { stderr?: Buffer }).stderr?.toString() ?? '';
      throw new BpfError({
        errno: 2,
        code: 'ENOOBJ',
        message: `BPF object ${p} is missing and building it failed; run packages/bpf/build-bpf.sh (needs clang, bpftool, libbpf-dev): ${stderr.trim()}`,
      });
    }
    if (!fs.existsSync(p)) {
      throw new BpfError({ errno: 2, code: 'ENOOBJ', message: `BPF object ${p} not found; no src/c/${tool}.bpf.c?` });
    }
  }
  return p;
}

export interface BpfMap {
  readonly name: string;
  readonly fd: number;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
}

export type AttachMode = 'tp_btf' | 'raw_tp';

/* struct bpf_prog_info (linux/bpf.h): its size and the offsets of run_time_ns and run_cnt */
const BPF_PROG_INFO_SIZE = 232;
const PROG_INFO_RUN_TIME_NS = 192;
const PROG_INFO_RUN_CNT = 200;

export interface LoadOptions {
  /** bytes written at offset 0 of .rodata (the tool's `const volatile` cfg struct) before load */
  rodata?: Buffer;
  /** map name → max_entries, set before load */
  maxEntries?: Record<string, number>;
  /** extra per-program switch (name without _btf/_raw suffix) */
  enable?: (baseName: string) => boolean;
  /** force an attach mode (default: tp_btf when the kernel has BTF, raw_tp otherwise / as fallback;
   * the environment variable BPFSCOPE_ATTACH_MODE=raw_tp forces the fallback for every tool) */
  mode?: AttachMode;
  /** load this object file instead of build/<tool>.bpf.o */
  file?: string;
  /** fentry/fexit programs: program name → the kernel function it attaches to (set before load) */
  attachTargets?: Record<string, string>;
  /** share these maps (by name) with an already loaded object of the same program file, .bss
   * included (counters such as the CFI walker's stack ids must be one for the set); .rodata
   * (each object's configuration) and .data are not shared */
  reuseMapsOf?: BpfObject;
}

interface Prog {
  ptr: unknown;
  name: string;
  section: string;
}

export class BpfObject {
  private obj: unknown;
  readonly tool: string;
  readonly mode: AttachMode;
  private links: unknown[] = [];
  private fds: number[] = [];
  private maps = new Map<string, BpfMap>();
  private progs: Prog[] = [];
  private closed = false;

  private constructor(tool: string, obj: unknown, mode: AttachMode, progs: Prog[]) {
    this.tool = tool;
    this.obj = obj;
    this.mode = mode;
    this.progs = progs;
    for (let m = L.bpf_object__next_map(obj, null); m; m = L.bpf_object__next_map(obj, m)) {
      const name = L.bpf_map__name(m) as string;
      this.maps.set(name, {
        name,
        fd: L.bpf_map__fd(m) as number,
        keySize: L.bpf_map__key_size(m) as number,
        valueSize: L.bpf_map__value_size(m) as number,
        maxEntries: L.bpf_map__max_entries(m) as number,
      });
    }
  }

  /** Open, configure and load build/<tool>.bpf.o; tp_btf programs first, raw_tp on failure. */
  static load(tool: string, opts: LoadOptions = {}): BpfObject {
    assertPrivileged();
    const file = opts.file ?? objectPath(tool);
    const envMode = process.env.BPFSCOPE_ATTACH_MODE;
    const forced = opts.mode ?? (envMode === 'raw_tp' || envMode === 'tp_btf' ? envMode : undefined);
    const first: AttachMode = forced ?? (hasKernelBtf() ? 'tp_btf' : 'raw_tp');
    try {
      return BpfObject.loadMode(tool, file, opts, first);
    } catch (e) {
      if (forced || first === 'raw_tp' || (e instanceof BpfError && e.isPermission)) throw e;
      try {
        return BpfObject.loadMode(tool, file, opts, 'raw_tp');
      } catch {
        throw e; // the tp_btf failure explains more
      }
    }
  }

  private static loadMode(tool: string, file: string, opts: LoadOptions, mode: AttachMode): BpfObject {
    if (mode === 'tp_btf' && !hasKernelBtf()) {
      throw new BpfError({
        errno: 2,
        code: 'ENOBTF',
        message: `kernel BTF not found at ${BTF_PATH}: this kernel was built without CONFIG_DEBUG_INFO_BTF, which CO-RE programs need`,
      });
    }
    const { result, log } = captureOrThrow(() => {
      const obj = L.bpf_object__open_file(file, null);
      if (!obj) throw BpfError.fromErrno(errno(), `open BPF object ${file}`);
      let ok = false;
      try {
        const progs: Prog[] = [];
        for (let p = L.bpf_object__next_program(obj, null); p; p = L.bpf_object__next_program(obj, p)) {
          const name = L.bpf_program__name(p) as string;
          const section = L.bpf_program__section_name(p) as string;
          const suffix = name.endsWith('_btf') ? 'tp_btf' : name.endsWith('_raw') ? 'raw_tp' : null;
          const base = suffix ? name.slice(0, -4) : name;
          const on = (suffix === null || suffix === mode) && (opts.enable ? opts.enable(base) : true);
          L.bpf_program__set_autoload(p, on);
          if (on) progs.push({ ptr: p, name, section });
        }
        if (opts.maxEntries) {
          for (const [mapName, n] of Object.entries(opts.maxEntries)) {
            const m = L.bpf_object__find_map_by_name(obj, mapName);
            if (!m) throw new BpfError({ errno: 2, code: 'ENOENT', message: `${tool}: no map named ${mapName}` });
            const r = L.bpf_map__set_max_entries(m, n) as number;
            if (r < 0) throw BpfError.fromErrno(-r, `${tool}: set max_entries of ${mapName} to ${n}`);
          }
        }
        if (opts.rodata) writeRodata(tool, obj, opts.rodata);
        if (opts.reuseMapsOf) {
          for (let m = L.bpf_object__next_map(obj, null); m; m = L.bpf_object__next_map(obj, m)) {
            const name = L.bpf_map__name(m) as string;
            if (name.includes('.') && !name.endsWith('.bss')) continue;
            const r = L.bpf_map__reuse_fd(m, opts.reuseMapsOf.map(name).fd) as number;
            if (r < 0) throw BpfError.fromErrno(-r, `${tool}: share map ${name}`);
          }
        }
        for (const [progName, fn] of Object.entries(opts.attachTargets ?? {})) {
          const p = progs.find((x) => x.name === progName);
          if (!p) continue;
          const r = L.bpf_program__set_attach_target(p.ptr, 0, fn) as number;
          if (r < 0) throw BpfError.fromErrno(-r, `${tool}: set the attach target of ${progName} to ${fn}`);
        }
        const r = L.bpf_object__load(obj) as number;
        if (r < 0) throw BpfError.fromErrno(-r, `load BPF programs of ${tool} (${mode})`);
        ok = true;
        return new BpfObject(tool, obj, mode, progs);
      } finally {
        if (!ok) L.bpf_object__close(obj);
      }
    });
    void log;
    return result;
  }

  map(name: string): BpfMap {
    const m = this.maps.get(name);
    if (!m) throw new BpfError({ errno: 2, code: 'ENOENT', message: `${this.tool}: no map named ${name}` });
    return m;
  }

  /** Attach every loaded tracing program (tp_btf / raw_tp), or those `only` picks by name.
   * perf_event programs: attachPerfEvent. */
  attachAll(only?: (name: string) => boolean): void {
    for (const p of this.progs) {
      if (p.section.startsWith('perf_event')) continue;
      if (only && !only(p.name)) continue;
      const link = L.bpf_program__attach(p.ptr);
      if (!link) throw BpfError.fromErrno(errno(), `${this.tool}: attach ${p.name} (${p.section})`);
      this.links.push(link);
    }
  }

  /** Attach the perf_event program `name` to perf event fd `pfd`; the link then owns (closes) pfd. */
  attachPerfEvent(name: string, pfd: number): void {
    const p = this.progs.find((x) => x.name === name);
    if (!p) throw new BpfError({ errno: 2, code: 'ENOENT', message: `${this.tool}: no program named ${name}` });
    const link = L.bpf_program__attach_perf_event(p.ptr, pfd);
    if (!link) throw BpfError.fromErrno(errno(), `${this.tool}: attach ${name} to perf event`);
    this.links.push(link);
  }

  /** The loaded program `name` (libbpf's bpf_program *), for the attach helpers of src/attach.ts. */
  program(name: string): unknown {
    const p = this.progs.find((x) => x.name === name);
    if (!p) throw new BpfError({ errno: 2, code: 'ENOENT', message: `${this.tool}: no loaded program named ${name}` });
    return p.ptr;
  }

  /**
   * What the kernel's bpf_stats say this object's programs cost so far: run time and runs summed over
   * its loaded programs (both 0 unless kernel.bpf_stats_enabled is 1).
   */
  programStats(): { runTimeNs: number; runCount: number } {
    const info = Buffer.alloc(BPF_PROG_INFO_SIZE);
    const len = [BPF_PROG_INFO_SIZE];
    let runTimeNs = 0;
    let runCount = 0;
    for (const p of this.progs) {
      const fd = L.bpf_program__fd(p.ptr) as number;
      if (fd < 0) continue;
      info.fill(0);
      len[0] = BPF_PROG_INFO_SIZE;
      if ((L.bpf_obj_get_info_by_fd(fd, info, len) as number) < 0) continue;
      runTimeNs += Number(info.readBigUInt64LE(PROG_INFO_RUN_TIME_NS));
      runCount += Number(info.readBigUInt64LE(PROG_INFO_RUN_CNT));
    }
    return { runTimeNs, runCount };
  }

  /** Take ownership of a bpf_link * (destroyed with the object). */
  ownLink(link: unknown): void {
    this.links.push(link);
  }

  /** Take ownership of a link fd made without libbpf (closed with the object). */
  ownFd(fd: number): void {
    this.fds.push(fd);
  }

  /** Detach, close every fd. Idempotent. */
  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    for (const l of this.links) L.bpf_link__destroy(l);
    this.links = [];
    for (const fd of this.fds) closeFd(fd);
    this.fds = [];
    L.bpf_object__close(this.obj);
    this.obj = null;
  }
}

function captureOrThrow<T>(fn: () => T): { result: T; log: string } {
  try {
    return L.captureLibbpfLog(fn, { debug: false });
  } catch (e) {
    const log = (e as { libbpfLog?: string }).libbpfLog ?? '';
    if (e instanceof BpfError) {
      const verifierLog = extractVerifierLog(log);
      let message = e.message;
      if (verifierLog) {
        // EACCES/EINVAL from the verifier is not a permission problem: say what happened
        const last = verifierLog.trim().split('\n').slice(-3).join(' | ');
        const what = e.message.split(':')[0];
        message = `${what}: the kernel verifier rejected a program (${e.code}); full log in verifierLog; last lines: ${last}`;
      }
      const err = new BpfError({
        errno: e.errno,
        code: e.code,
        message,
        verifierLog,
        libbpfLog: log || undefined,
        cause: e,
      });
      throw err;
    }
    throw e;
  }
}

function writeRodata(tool: string, obj: unknown, bytes: Buffer): void {
  let rodata: unknown = null;
  for (let m = L.bpf_object__next_map(obj, null); m; m = L.bpf_object__next_map(obj, m)) {
    if ((L.bpf_map__name(m) as string).endsWith('.rodata')) rodata = m;
  }
  if (!rodata) throw new BpfError({ errno: 2, code: 'ENOENT', message: `${tool}: BPF object has no .rodata (no settings)` });
  const psize = [0];
  const ptr = L.bpf_map__initial_value(rodata, psize);
  const size = Number(psize[0]);
  if (!ptr || size < bytes.length) {
    throw new BpfError({ errno: 22, code: 'EINVAL', message: `${tool}: .rodata is ${size} bytes, settings need ${bytes.length}; rebuild with build-bpf.sh` });
  }
  const image = Buffer.from(koffi.view(ptr, size) as ArrayBuffer);
  const copy = Buffer.alloc(size);
  image.copy(copy);
  bytes.copy(copy, 0);
  const r = L.bpf_map__set_initial_value(rodata, copy, size) as number;
  if (r < 0) throw BpfError.fromErrno(-r, `${tool}: write settings (.rodata)`);
}

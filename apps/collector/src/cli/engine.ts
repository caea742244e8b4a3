/**
 * What the CLI needs from @bpfscope/bpf, loaded lazily (so `--help` and usage errors never load
 * libbpf) and checked, so a missing engine export is a clear error rather than a TypeError.
 * Tests inject a fake Engine that returns hand-made deltas.
 */
import { readFileSync } from 'node:fs';
import type {
  BiolatencyOptions,
  HistogramDelta,
  OffcpuOptions,
  OffwaketimeOptions,
  ProfileOptions,
  StackDelta,
  Symbolizer,
  ToolHandle,
  WakeuptimeOptions,
} from '@bpfscope/bpf';

type MaybePromise<T> = T | Promise<T>;

export interface Engine {
  openProfile(opts: ProfileOptions, sym: Symbolizer): MaybePromise<ToolHandle<StackDelta>>;
  openOffcputime(opts: OffcpuOptions, sym: Symbolizer): MaybePromise<ToolHandle<StackDelta>>;
  openWakeuptime(opts: WakeuptimeOptions, sym: Symbolizer): MaybePromise<ToolHandle<StackDelta>>;
  openOffwaketime(opts: OffwaketimeOptions, sym: Symbolizer): MaybePromise<ToolHandle<StackDelta>>;
  openBiolatency(opts: BiolatencyOptions): MaybePromise<ToolHandle<HistogramDelta>>;
  createSymbolizer(): MaybePromise<Symbolizer>;
  /** Throws, or returns false / {ok:false,…}, when the process may not load BPF programs. */
  checkPrivileges?(): unknown;
}

const REQUIRED = ['openProfile', 'openOffcputime', 'openWakeuptime', 'openOffwaketime', 'openBiolatency', 'createSymbolizer'] as const;

export class EngineUnavailableError extends Error {}

export async function loadEngine(): Promise<Engine> {
  // a variable specifier keeps TypeScript from requiring every export at compile time: the engine
  // is developed in parallel and checked here at run time instead
  const spec = '@bpfscope/bpf';
  const m = (await import(spec)) as Record<string, unknown>;
  const missing = REQUIRED.filter((k) => typeof m[k] !== 'function');
  if (missing.length) {
    throw new EngineUnavailableError(`the BPF engine (@bpfscope/bpf) does not provide ${missing.join(', ')}; update or rebuild packages/bpf`);
  }
  return m as unknown as Engine;
}

export const PRIVILEGE_SENTENCE =
  'needs root, or CAP_BPF + CAP_PERFMON, to load BPF programs: run it as root (for example with sudo).';

const CAP_SYS_ADMIN = 21n;
const CAP_PERFMON = 38n;
const CAP_BPF = 39n;

/** Does this process hold what loading tracing BPF programs needs? (root, or CAP_BPF+CAP_PERFMON, or CAP_SYS_ADMIN) */
export function hasTracingPrivileges(): boolean {
  if (process.geteuid?.() === 0) return true;
  try {
    const m = /^CapEff:\s*([0-9a-f]+)$/im.exec(readFileSync('/proc/self/status', 'utf8'));
    if (!m) return false;
    const caps = BigInt('0x' + m[1]);
    const has = (c: bigint) => ((caps >> c) & 1n) === 1n;
    return has(CAP_SYS_ADMIN) || (has(CAP_BPF) && has(CAP_PERFMON));
  } catch {
    return false;
  }
}

/** Interpret the engine's checkPrivileges() result: true when allowed. */
export function privilegesOk(engine: Engine): boolean {
  if (typeof engine.checkPrivileges !== 'function') return true;
  let r: unknown;
  try {
    r = engine.checkPrivileges();
  } catch (e) {
    if (isPermissionError(e)) return false;
    throw e;
  }
  if (r === false) return false;
  if (r && typeof r === 'object' && 'ok' in r && (r as { ok: unknown }).ok === false) return false;
  return true;
}

const EPERM = 1;
const EACCES = 13;

/** A BpfError (or any error) that means "not allowed": errno EPERM/EACCES. */
export function isPermissionError(e: unknown): boolean {
  if (!e || typeof e !== 'object') return false;
  // a BpfError knows better: the verifier also rejects programs with EACCES, and that is no privilege problem
  if ('isPermission' in e && typeof (e as { isPermission: unknown }).isPermission === 'boolean') return (e as { isPermission: boolean }).isPermission;
  const o = e as { errno?: unknown; code?: unknown };
  const errno = typeof o.errno === 'number' ? Math.abs(o.errno) : undefined;
  return errno === EPERM || errno === EACCES || o.code === 'EPERM' || o.code === 'EACCES';
}

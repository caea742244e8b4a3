/**
 * @bpfscope/bpf: the tool openers, the symbolizer factory and their types. Internals (BpfObject,
 * maps, perf events, the ELF reader, demangling) are not part of the API; tests and benches import
 * them by path. `@bpfscope/bpf/privileges` is the privilege check without loading libbpf.
 */
export { openProfile } from './tools/profile.js';
export { stripTracer } from './tools/stacks.js';
export { openOffcputime } from './tools/offcputime.js';
export { openWakeuptime } from './tools/wakeuptime.js';
export { openOffwaketime } from './tools/offwaketime.js';
export { openBiolatency } from './tools/biolatency.js';
export type {
  ToolName,
  LossStats,
  StackRecord,
  StackDelta,
  HistogramDelta,
  ToolHandle,
  CommonStackOptions,
  ProfileOptions,
  OffcpuOptions,
  WakeuptimeOptions,
  OffwaketimeOptions,
  BiolatencyOptions,
  UnwindMode,
  AnyEventToolName,
  AnyEventHandle,
  ProbeToolHandle,
  ProbeToolOptions,
  FunccountOptions,
  StackcountOptions,
  FunclatencyOptions,
  RunqlatOptions,
  AttachedProbes,
  CountDelta,
  LatencyDelta,
} from './tools/types.js';
export { UNWIND_MODES } from './tools/types.js';
export type { UnwindInfo } from './unwind/procs.js';
export { setUnwindTableSource, TABLE_WAIT_PIDS_MS, TABLE_WAIT_ALL_MS } from './unwind/session.js';
export { createSymbolizer } from './symbolize/symbolizer.js';
export type { SymbolizerOptions, SymbolizerStats } from './symbolize/symbolizer.js';
export type { SymbolizedFrame, Symbolizer } from './symbolize/types.js';
export { BpfError } from './errors.js';
export { checkPrivileges, hasKernelBtf, type PrivilegeReport } from './privileges.js';
export { probeSystem, type SystemProbe, type ToolProbe } from './probe.js';
export { openFunccount, openStackcount, openFunclatency } from './tools/anyfunc.js';
export { openRunqlat } from './tools/runqlat.js';
export {
  resolveProbes,
  searchProbes,
  parsePattern,
  kernelFunctions,
  tracepoints,
  userFunctions,
  findLibrary,
  closeMatches,
  DEFAULT_PROBE_LIMIT,
} from './tools/probes.js';
export type { Probe, ProbeSet, ProbeKind, ResolveOptions, ProbeSearch } from './tools/probes.js';

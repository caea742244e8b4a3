/** probeSystem(): what this machine can do (BTF, privileges, libbpf, which tools load). */
import fs from 'node:fs';
import os from 'node:os';
import { BpfObject, type AttachMode } from './object.js';
import { BpfError } from './errors.js';
import { checkPrivileges, hasKernelBtf, type PrivilegeReport } from './privileges.js';
import { libbpfVersion } from './ffi/libbpf.js';
import { TOOL_NAMES, type ToolName } from './tools/types.js';

export interface ToolProbe {
  ok: boolean;
  /** attach flavour the tool loaded with */
  mode?: AttachMode;
  error?: { code: string; errno: number; message: string };
}

export interface SystemProbe {
  kernel: string;
  btf: boolean;
  libbpf: string;
  privileges: PrivilegeReport;
  /** only filled when privileged (loading needs privileges) */
  tools: Partial<Record<ToolName, ToolProbe>>;
}

/** Loads (without attaching) each tool's BPF object to see which work here; cheap (~tens of ms). */
export function probeSystem(opts: { tools?: boolean } = {}): SystemProbe {
  const privileges = checkPrivileges();
  const probe: SystemProbe = {
    kernel: os.release(),
    btf: hasKernelBtf(),
    libbpf: libbpfVersion(),
    privileges,
    tools: {},
  };
  if (opts.tools === false || !privileges.ok) return probe;
  for (const t of TOOL_NAMES) {
    try {
      const o = BpfObject.load(t);
      probe.tools[t] = { ok: true, mode: o.mode };
      o.destroy();
    } catch (e) {
      const err = e instanceof BpfError ? e : new BpfError({ errno: 0, message: String(e) });
      probe.tools[t] = { ok: false, error: { code: err.code, errno: err.errno, message: err.message } };
    }
  }
  return probe;
}

/** true when a kernel perf_event_paranoid setting is readable (informational). */
export function perfEventParanoid(): number | undefined {
  try {
    return Number(fs.readFileSync('/proc/sys/kernel/perf_event_paranoid', 'utf8').trim());
  } catch {
    return undefined;
  }
}

/** Privilege and system checks: can this process load and attach BPF programs? */
import fs from 'node:fs';
import { BpfError, PRIVILEGES_SENTENCE } from './errors.js';

const CAP_SYS_ADMIN = 21n;
const CAP_PERFMON = 38n;
const CAP_BPF = 39n;

export interface PrivilegeReport {
  uid: number;
  root: boolean;
  capSysAdmin: boolean;
  capBpf: boolean;
  capPerfmon: boolean;
  /** enough to load and attach every tool */
  ok: boolean;
  /** human sentence when !ok */
  message?: string;
}

function effectiveCaps(): bigint {
  try {
    const m = fs.readFileSync('/proc/self/status', 'utf8').match(/^CapEff:\s*([0-9a-f]+)/m);
    return m ? BigInt('0x' + m[1]) : 0n;
  } catch {
    return 0n;
  }
}

export function checkPrivileges(): PrivilegeReport {
  const caps = effectiveCaps();
  const has = (c: bigint) => (caps & (1n << c)) !== 0n;
  const uid = process.geteuid ? process.geteuid() : -1;
  const capSysAdmin = has(CAP_SYS_ADMIN);
  const capBpf = has(CAP_BPF);
  const capPerfmon = has(CAP_PERFMON);
  const ok = capSysAdmin || (capBpf && capPerfmon);
  const report: PrivilegeReport = { uid, root: uid === 0, capSysAdmin, capBpf, capPerfmon, ok };
  if (!ok) report.message = `bpfscope ${PRIVILEGES_SENTENCE} (running as uid ${uid} without them)`;
  return report;
}

/** Throw the clear privileges error (EPERM) unless this process may load BPF programs. */
export function assertPrivileged(): void {
  const p = checkPrivileges();
  if (!p.ok) throw new BpfError({ errno: 1, code: 'EPERM', message: p.message! });
}

export const BTF_PATH = '/sys/kernel/btf/vmlinux';

export function hasKernelBtf(): boolean {
  try {
    fs.accessSync(BTF_PATH, fs.constants.R_OK);
    return true;
  } catch {
    return false;
  }
}

export function onlineCpus(): number[] {
  const text = fs.readFileSync('/sys/devices/system/cpu/online', 'utf8').trim();
  const cpus: number[] = [];
  for (const part of text.split(',')) {
    const [a, b] = part.split('-').map(Number);
    for (let c = a; c <= (b ?? a); c++) cpus.push(c);
  }
  return cpus;
}

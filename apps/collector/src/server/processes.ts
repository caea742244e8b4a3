/** /proc helpers: does a PID exist, and the process list for a PID picker. */
import { existsSync, readdirSync, readFileSync } from 'node:fs';

export function pidExists(pid: number): boolean {
  return Number.isSafeInteger(pid) && pid > 0 && existsSync(`/proc/${pid}`);
}

export interface ProcessEntry {
  pid: number;
  comm: string;
  cmdline: string;
}

/** Every process (up to `max`), sorted by pid. comm/cmdline are untrusted text, sent as JSON strings only. */
export function listProcesses(max = 10000, cmdlineMax = 512): ProcessEntry[] {
  const out: ProcessEntry[] = [];
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return out;
  }
  const pids = names
    .filter((n) => /^\d+$/.test(n))
    .map(Number)
    .sort((a, b) => a - b);
  for (const pid of pids) {
    if (out.length >= max) break;
    try {
      const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').replace(/\n$/, '');
      let cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0+$/, '').replace(/\0/g, ' ');
      if (cmdline.length > cmdlineMax) cmdline = cmdline.slice(0, cmdlineMax) + '…';
      out.push({ pid, comm, cmdline });
    } catch {
      /* exited meanwhile */
    }
  }
  return out;
}

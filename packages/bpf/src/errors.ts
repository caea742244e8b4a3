/** Typed errors of the BPF engine: errno, its code name, a human sentence, the verifier log. */
import os from 'node:os';

const CODES: Record<number, string> = Object.fromEntries(Object.entries(os.constants.errno).map(([name, n]) => [n as number, name]));
CODES[524] = 'ENOTSUPP';

export function errnoName(errno: number): string {
  return CODES[Math.abs(errno)] ?? `E${Math.abs(errno)}`;
}

export const PRIVILEGES_SENTENCE = 'needs root, or CAP_BPF + CAP_PERFMON (run it with sudo, or grant the capabilities with setcap/ambient capabilities)';

function sentenceFor(errno: number, what: string): string {
  switch (Math.abs(errno)) {
    case 1: // EPERM
    case 13: // EACCES
      return `${what}: permission denied; bpfscope ${PRIVILEGES_SENTENCE}`;
    case 2:
      return `${what}: not found (ENOENT)`;
    case 7:
      return `${what}: argument list too long (E2BIG): the kernel rejected a size, often a map or a program too large`;
    case 12:
      return `${what}: out of memory (ENOMEM); raise the memlock limit (ulimit -l) or lower map sizes`;
    case 16:
      return `${what}: device or resource busy (EBUSY)`;
    case 22:
      return `${what}: invalid argument (EINVAL); the kernel may lack a feature this program needs`;
    case 95:
    case 524:
      return `${what}: not supported by this kernel (${errnoName(errno)})`;
    default:
      return `${what}: ${errnoName(errno)} (errno ${Math.abs(errno)})`;
  }
}

export class BpfError extends Error {
  /** positive errno (0 when not an OS error) */
  readonly errno: number;
  /** code name: EPERM, ENOENT, ENOBTF (no kernel BTF), ENOOBJ (BPF object not built)… */
  readonly code: string;
  /** the kernel verifier's log when a program failed to load */
  readonly verifierLog?: string;
  /** other libbpf messages gathered during the failing call */
  readonly libbpfLog?: string;

  constructor(opts: { errno: number; code?: string; message: string; verifierLog?: string; libbpfLog?: string; cause?: unknown }) {
    super(opts.message, opts.cause !== undefined ? { cause: opts.cause } : undefined);
    this.name = 'BpfError';
    this.errno = Math.abs(opts.errno);
    this.code = opts.code ?? (opts.errno ? errnoName(opts.errno) : 'EBPFSCOPE');
    if (opts.verifierLog) this.verifierLog = opts.verifierLog;
    if (opts.libbpfLog) this.libbpfLog = opts.libbpfLog;
  }

  /** Error for a failed OS/libbpf call: `what` says what we were doing ("load profile"). */
  static fromErrno(errno: number, what: string, extra: { verifierLog?: string; libbpfLog?: string } = {}): BpfError {
    return new BpfError({ errno, message: sentenceFor(errno, what), ...extra });
  }

  get isPermission(): boolean {
    return (this.errno === 1 || this.errno === 13) && !this.verifierLog;
  }
}

/** Extract the verifier log from libbpf's messages ("-- BEGIN PROG LOAD LOG --" … "-- END PROG LOAD LOG --"). */
export function extractVerifierLog(libbpfLog: string): string | undefined {
  const m = libbpfLog.match(/-- BEGIN PROG LOAD LOG --\n([\s\S]*?)-- END PROG LOAD LOG --/);
  return m ? m[1] : undefined;
}

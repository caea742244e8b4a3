/** perf_event_open through libc syscall(): software cpu-clock sampling events, one per CPU. */
import { syscall, close, errno, SYS_perf_event_open } from './ffi/libc.js';
import { BpfError } from './errors.js';

const PERF_TYPE_SOFTWARE = 1;
const PERF_COUNT_SW_CPU_CLOCK = 0;
const PERF_FLAG_FD_CLOEXEC = 8;
const ATTR_SIZE = 128; // PERF_ATTR_SIZE_VER7

/** Open a cpu-clock sampling event at `hz` on `cpu` (all tasks); returns the fd. */
export function openCpuClock(cpu: number, hz: number): number {
  const attr = Buffer.alloc(ATTR_SIZE);
  attr.writeUInt32LE(PERF_TYPE_SOFTWARE, 0); // type
  attr.writeUInt32LE(ATTR_SIZE, 4); // size
  attr.writeBigUInt64LE(BigInt(PERF_COUNT_SW_CPU_CLOCK), 8); // config
  attr.writeBigUInt64LE(BigInt(hz), 16); // sample_freq
  attr.writeBigUInt64LE(1n << 10n, 40); // flags: freq=1 (bit 10)
  const fd = Number(syscall(SYS_perf_event_open, 'void *', attr, 'int', -1, 'int', cpu, 'int', -1, 'unsigned long', PERF_FLAG_FD_CLOEXEC));
  if (fd < 0) {
    const e = errno();
    throw BpfError.fromErrno(e, `perf_event_open (cpu-clock, ${hz} Hz) on CPU ${cpu}`);
  }
  return fd;
}

export function closeFd(fd: number): void {
  close(fd);
}

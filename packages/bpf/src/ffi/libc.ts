/** Raw libc declarations (koffi), 1:1 with the C prototypes. */
import koffi from 'koffi';

export const libc = koffi.load('libc.so.6');

/** long syscall(long number, ...): variadic, call with (nr, 'type', value, ...). */
export const syscall = libc.func('long syscall(long number, ...)');
/** syscall with three fixed int arguments (membarrier): unlike the variadic one it has `.async`,
 * which runs the call on the libuv threadpool while the event loop goes on */
export const syscall3 = libc.func('long syscall(long number, int a, unsigned int b, int c)');
export const close = libc.func('int close(int fd)');
export const vsnprintf = libc.func('int vsnprintf(_Out_ uint8_t *buf, size_t size, void *fmt, void *ap)');
export const strerror = libc.func('const char *strerror(int errnum)');

export const SYS_perf_event_open = 298; // x86_64
export const SYS_bpf = 321; // x86_64

export function errno(): number {
  return koffi.errno();
}

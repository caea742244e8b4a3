/**
 * Raw libbpf declarations (koffi) against the system libbpf.so.1 (Debian libbpf1 1.1.x),
 * 1:1 with /usr/include/bpf/{libbpf,bpf}.h. Pointer-returning functions return null and set errno;
 * int-returning functions return a negative errno (libbpf 1.x semantics).
 */
import koffi from 'koffi';
import { vsnprintf } from './libc.js';

let lib: koffi.IKoffiLib;
try {
  lib = koffi.load('libbpf.so.1');
} catch (e) {
  throw new Error(`cannot load the system libbpf (libbpf.so.1): ${(e as Error).message}. Install it with: apt-get install -y libbpf1`);
}

/** opaque pointers (bpf_object *, bpf_program *, bpf_map *, bpf_link *) */
export type Ptr = unknown;

export const libbpf_major_version = lib.func('uint32_t libbpf_major_version(void)');
export const libbpf_minor_version = lib.func('uint32_t libbpf_minor_version(void)');
export const libbpf_num_possible_cpus = lib.func('int libbpf_num_possible_cpus(void)');

const PrintFn = koffi.proto('int bpfscope_libbpf_print_fn(int level, void *fmt, void *ap)');
export const libbpf_set_print = lib.func('void *libbpf_set_print(bpfscope_libbpf_print_fn *fn)');

export const bpf_object__open_file = lib.func('void *bpf_object__open_file(const char *path, void *opts)');
export const bpf_object__load = lib.func('int bpf_object__load(void *obj)');
export const bpf_object__close = lib.func('void bpf_object__close(void *obj)');
export const bpf_object__next_program = lib.func('void *bpf_object__next_program(void *obj, void *prog)');
export const bpf_object__next_map = lib.func('void *bpf_object__next_map(void *obj, void *map)');
export const bpf_object__find_map_by_name = lib.func('void *bpf_object__find_map_by_name(void *obj, const char *name)');

export const bpf_program__name = lib.func('const char *bpf_program__name(void *prog)');
export const bpf_program__section_name = lib.func('const char *bpf_program__section_name(void *prog)');
export const bpf_program__set_autoload = lib.func('int bpf_program__set_autoload(void *prog, bool autoload)');
export const bpf_program__autoload = lib.func('bool bpf_program__autoload(void *prog)');
export const bpf_program__attach = lib.func('void *bpf_program__attach(void *prog)');
export const bpf_program__attach_perf_event = lib.func('void *bpf_program__attach_perf_event(void *prog, int pfd)');
export const bpf_program__attach_kprobe_opts = lib.func('void *bpf_program__attach_kprobe_opts(void *prog, const char *func_name, void *opts)');
export const bpf_program__attach_kprobe_multi_opts = lib.func('void *bpf_program__attach_kprobe_multi_opts(void *prog, const char *pattern, void *opts)');
export const bpf_program__attach_uprobe_opts = lib.func(
  'void *bpf_program__attach_uprobe_opts(void *prog, int pid, const char *binary_path, size_t func_offset, void *opts)',
);
export const bpf_program__set_attach_target = lib.func('int bpf_program__set_attach_target(void *prog, int attach_prog_fd, const char *attach_func_name)');
export const bpf_obj_get_info_by_fd = lib.func('int bpf_obj_get_info_by_fd(int bpf_fd, void *info, _Inout_ uint32_t *info_len)');
export const bpf_program__fd = lib.func('int bpf_program__fd(void *prog)');
export const bpf_link__destroy = lib.func('int bpf_link__destroy(void *link)');

export const bpf_map__name = lib.func('const char *bpf_map__name(void *map)');
export const bpf_map__fd = lib.func('int bpf_map__fd(void *map)');
export const bpf_map__reuse_fd = lib.func('int bpf_map__reuse_fd(void *map, int fd)');
export const bpf_map__set_max_entries = lib.func('int bpf_map__set_max_entries(void *map, uint32_t max_entries)');
export const bpf_map__max_entries = lib.func('uint32_t bpf_map__max_entries(void *map)');
export const bpf_map__key_size = lib.func('uint32_t bpf_map__key_size(void *map)');
export const bpf_map__value_size = lib.func('uint32_t bpf_map__value_size(void *map)');
export const bpf_map__initial_value = lib.func('void *bpf_map__initial_value(void *map, _Out_ size_t *psize)');
export const bpf_map__set_initial_value = lib.func('int bpf_map__set_initial_value(void *map, void *data, size_t size)');

export const bpf_map_lookup_elem = lib.func('int bpf_map_lookup_elem(int fd, void *key, void *value)');
export const bpf_map_update_elem = lib.func('int bpf_map_update_elem(int fd, void *key, void *value, uint64_t flags)');
export const bpf_map_delete_elem = lib.func('int bpf_map_delete_elem(int fd, void *key)');
export const bpf_map_get_next_key = lib.func('int bpf_map_get_next_key(int fd, void *key, void *next_key)');
export const bpf_map_update_batch = lib.func('int bpf_map_update_batch(int fd, const void *keys, const void *values, void *count, void *opts)');
/** opts: struct bpf_map_create_opts (48 bytes: sz, btf ids, inner_map_fd @24, map_flags @28, ...) or null */
export const bpf_map_create = lib.func(
  'int bpf_map_create(int map_type, const char *map_name, uint32_t key_size, uint32_t value_size, uint32_t max_entries, void *opts)',
);
export const bpf_map_lookup_and_delete_batch = lib.func(
  'int bpf_map_lookup_and_delete_batch(int fd, void *in_batch, void *out_batch, void *keys, void *values, void *count, void *opts)',
);

/* ---- log capture: every libbpf message goes to the active sink (load-time verifier log) ---- */
const LIBBPF_DEBUG = 2;
let sink: string[] | null = null;
let debugWanted = false;
const fmtBuf = Buffer.alloc(64 * 1024);
const printCb = koffi.register((level: number, fmt: unknown, ap: unknown): number => {
  if (level === LIBBPF_DEBUG && !debugWanted) return 0;
  const n = vsnprintf(fmtBuf, fmtBuf.length, fmt, ap) as number;
  if (n <= 0) return 0;
  const text = fmtBuf.toString('utf8', 0, Math.min(n, fmtBuf.length - 1));
  if (sink) sink.push(text);
  else if (process.env.BPFSCOPE_LIBBPF_DEBUG) process.stderr.write(`libbpf: ${text}`);
  return 0;
}, koffi.pointer(PrintFn));
libbpf_set_print(printCb);

/** Run fn while collecting libbpf's messages (including the verifier log at debug level when asked). */
export function captureLibbpfLog<T>(fn: () => T, opts: { debug?: boolean } = {}): { result: T; log: string } {
  const prevSink = sink;
  const prevDebug = debugWanted;
  const lines: string[] = [];
  sink = lines;
  debugWanted = !!opts.debug;
  try {
    const result = fn();
    return { result, log: lines.join('') };
  } catch (e) {
    (e as { libbpfLog?: string }).libbpfLog = lines.join('');
    throw e;
  } finally {
    sink = prevSink;
    debugWanted = prevDebug;
  }
}

export function libbpfVersion(): string {
  return `${libbpf_major_version()}.${libbpf_minor_version()}`;
}

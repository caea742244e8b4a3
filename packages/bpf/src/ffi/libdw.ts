/**
 * Raw elfutils libdw declarations (koffi) against the system libdw.so.1 (Debian libdw1 0.188),
 * 1:1 with <elfutils/libdw.h>. Loaded on first use: without libdw, DWARF (inline frames, source
 * lines) is off and symbolization keeps ELF symbols.
 *
 * Handles (Dwarf *, Dwarf_Files *, Dwarf_Line *) are opaque pointers. Dwarf_Die (4 pointer-sized
 * words) and Dwarf_Attribute (3 words) are value structs the caller allocates: Buffers of
 * DIE_SIZE / ATTR_SIZE bytes passed as pointers.
 */
import koffi from 'koffi';

export type Ptr = unknown;

/** sizeof(Dwarf_Die) on 64-bit: { void *addr; Dwarf_CU *cu; Dwarf_Abbrev *abbrev; long padding__; } */
export const DIE_SIZE = 32;
/** sizeof(Dwarf_Attribute) on 64-bit: { unsigned code, form; unsigned char *valp; Dwarf_CU *cu; } */
export const ATTR_SIZE = 24;

export const DWARF_C_READ = 0;
export const DW_TAG_lexical_block = 0x0b;
export const DW_TAG_compile_unit = 0x11;
export const DW_TAG_inlined_subroutine = 0x1d;
export const DW_TAG_subprogram = 0x2e;
export const DW_TAG_partial_unit = 0x3c;
export const DW_TAG_skeleton_unit = 0x4a;
export const DW_AT_name = 0x03;
export const DW_AT_call_file = 0x58;
export const DW_AT_call_line = 0x59;
export const DW_AT_linkage_name = 0x6e;
export const DW_AT_MIPS_linkage_name = 0x2007;

export interface LibDw {
  dwarf_begin(fd: number, cmd: number): Ptr;
  dwarf_end(dw: Ptr): number;
  dwarf_errno(): number;
  dwarf_errmsg(err: number): string | null;
  dwarf_nextcu(dw: Ptr, off: number, next: BigUint64Array, hdrSize: BigUint64Array, abbrevOff: null, addrSize: null, offSize: null): number;
  dwarf_offdie(dw: Ptr, off: number, die: Buffer): Ptr;
  dwarf_ranges(die: Buffer, offset: number, base: BigUint64Array, start: BigUint64Array, end: BigUint64Array): bigint;
  dwarf_getscopes(cudie: Buffer, pc: number, scopes: [Ptr]): number;
  dwarf_getscopes_die(die: Buffer, scopes: [Ptr]): number;
  dwarf_tag(die: Buffer): number;
  dwarf_attr(die: Buffer, name: number, attr: Buffer): Ptr;
  dwarf_attr_integrate(die: Buffer, name: number, attr: Buffer): Ptr;
  dwarf_formstring(attr: Buffer): string | null;
  dwarf_formudata(attr: Buffer, val: BigUint64Array): number;
  dwarf_getsrcfiles(cudie: Buffer, files: [Ptr], n: BigUint64Array): number;
  dwarf_filesrc(files: Ptr, idx: number, mtime: null, len: null): string | null;
  dwarf_getsrc_die(cudie: Buffer, addr: number): Ptr;
  dwarf_lineno(line: Ptr, lineno: Int32Array): number;
  dwarf_linesrc(line: Ptr, mtime: null, len: null): string | null;
  free(p: Ptr): void;
  /** copy n bytes at p (e.g. the Dwarf_Die array dwarf_getscopes returns) */
  read(p: Ptr, n: number): Buffer;
  /**
   * The data libelf holds for section `index` of the ELF file under a Dwarf handle (libdw
   * decompresses the .debug_* sections it reads at dwarf_begin), as a view of that memory, not a
   * copy: valid until dwarf_end(dw), the caller drops it before. Undefined when there is none or its
   * size is not `size`.
   */
  sectionData(dw: Ptr, index: number, size: number): Buffer | undefined;
}

let cached: LibDw | null | undefined;
let loadError: Error | undefined;

/** libdw, or null when it cannot be loaded (loadLibDwError() says why). */
export function libdw(): LibDw | null {
  if (cached !== undefined) return cached;
  try {
    const lib = koffi.load('libdw.so.1');
    const libc = koffi.load('libc.so.6');
    const f = (proto: string) => lib.func(proto);
    const libelf = koffi.load('libelf.so.1');
    const ElfData = koffi.struct('bpfscope_Elf_Data', {
      d_buf: 'void *',
      d_type: 'int',
      d_version: 'unsigned int',
      d_size: 'size_t',
      d_off: 'int64_t',
      d_align: 'size_t',
    });
    const dwarf_getelf = f('void *dwarf_getelf(void *dwarf)');
    const elf_getscn = libelf.func('void *elf_getscn(void *elf, size_t index)');
    const elf_getdata = libelf.func('void *elf_getdata(void *scn, void *data)');
    cached = {
      dwarf_begin: f('void *dwarf_begin(int fildes, int cmd)'),
      dwarf_end: f('int dwarf_end(void *dwarf)'),
      dwarf_errno: f('int dwarf_errno(void)'),
      dwarf_errmsg: f('const char *dwarf_errmsg(int err)'),
      dwarf_nextcu: f(
        'int dwarf_nextcu(void *dwarf, uint64_t off, uint64_t *next_off, size_t *header_sizep, uint64_t *abbrev_offsetp, uint8_t *address_sizep, uint8_t *offset_sizep)',
      ),
      dwarf_offdie: f('void *dwarf_offdie(void *dbg, uint64_t offset, void *result)'),
      dwarf_ranges: f('int64_t dwarf_ranges(void *die, int64_t offset, uint64_t *basep, uint64_t *startp, uint64_t *endp)'),
      dwarf_getscopes: f('int dwarf_getscopes(void *cudie, uint64_t pc, _Out_ void **scopes)'),
      dwarf_getscopes_die: f('int dwarf_getscopes_die(void *die, _Out_ void **scopes)'),
      dwarf_tag: f('int dwarf_tag(void *die)'),
      dwarf_attr: f('void *dwarf_attr(void *die, unsigned int search_name, void *result)'),
      dwarf_attr_integrate: f('void *dwarf_attr_integrate(void *die, unsigned int search_name, void *result)'),
      dwarf_formstring: f('const char *dwarf_formstring(void *attrp)'),
      dwarf_formudata: f('int dwarf_formudata(void *attr, uint64_t *return_uval)'),
      dwarf_getsrcfiles: f('int dwarf_getsrcfiles(void *cudie, _Out_ void **files, size_t *nfiles)'),
      dwarf_filesrc: f('const char *dwarf_filesrc(void *file, size_t idx, uint64_t *mtime, uint64_t *length)'),
      dwarf_getsrc_die: f('void *dwarf_getsrc_die(void *cudie, uint64_t addr)'),
      dwarf_lineno: f('int dwarf_lineno(void *line, int *linep)'),
      dwarf_linesrc: f('const char *dwarf_linesrc(void *line, uint64_t *mtime, uint64_t *length)'),
      free: libc.func('void free(void *ptr)'),
      read: (p: Ptr, n: number) => Buffer.from(new Uint8Array(koffi.view(p as never, n) as ArrayBuffer)),
      sectionData: (dw: Ptr, index: number, size: number): Buffer | undefined => {
        const elf = dwarf_getelf(dw);
        const scn = elf ? elf_getscn(elf, index) : null;
        const data = scn ? elf_getdata(scn, null) : null;
        if (!data) return undefined;
        const d = koffi.decode(data, ElfData) as { d_buf: unknown; d_size: number | bigint };
        if (Number(d.d_size) !== size || !d.d_buf || size === 0) return undefined;
        return Buffer.from(koffi.view(d.d_buf as never, size) as ArrayBuffer);
      },
    } as unknown as LibDw;
  } catch (e) {
    loadError = new Error(
      `cannot load elfutils libdw (libdw.so.1): ${(e as Error).message}. Install it with: apt-get install -y libdw1 (inline frames and source lines are off without it)`,
    );
    cached = null;
  }
  return cached;
}

export function loadLibDwError(): Error | undefined {
  libdw();
  return loadError;
}

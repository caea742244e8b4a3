/**
 * CPython layouts by version: the offsets the BPF walker needs to go from _PyRuntime to a thread's
 * current frame and along its frames (struct py_proc, src/c/python.h), and the code-object and
 * string offsets user space needs to name a frame (frames.ts).
 *
 * Only layouts checked against a real build of that version are listed: 3.11 was read with
 * `gdb ptype /o` from the self-built 3.11.7 (debug info) and matches Debian's 3.11.2 (same
 * release series, same headers; the real-kernel test runs both). A version not listed here is
 * reported as unsupported (counted, native frames kept), never walked with guessed offsets.
 * 3.12 (owner == FRAME_OWNED_BY_CSTACK shim frames, PY_ENTRY_CSTACK) and 3.13 (_Py_DebugOffsets
 * at the start of _PyRuntime: the offsets can be read from the binary) fit the same record.
 */

export const PY_NO_OFFSET = 0xffff;
export const PY_ENTRY_IS_ENTRY = 0;
export const PY_ENTRY_CSTACK = 1;
export const PY_ENTRY_ONE = 2;
export const PY_INSTR_PTR = 0;
export const PY_INSTR_INT = 1;

export interface PyWalkLayout {
  runtimeInterpHead: number;
  interpTstateHead: number;
  tstateNext: number;
  tstateThreadId: number;
  tstateFrame: number;
  cframeFrame: number;
  frameCode: number;
  framePrevious: number;
  frameInstr: number;
  frameEntry: number;
  entryKind: number;
  instrKind: number;
}

export interface PyCodeLayout {
  /** bytes to read from the code object's start to cover every field below */
  size: number;
  firstLineNo: number;
  filename: number;
  name: number;
  qualname: number;
  linetable: number;
  /** where the bytecode starts (the instruction offset in a frame marker is from the object's start) */
  code: number;
  /** 'pep657': 3.11+ location table (co_linetable) */
  lineTable: 'pep657';
  /** PyASCIIObject: length, state (bit field: kind bits 2-4, compact 5, ascii 6), data of a compact
   * ASCII string, data of a compact non-ASCII string */
  strLength: number;
  strState: number;
  strAsciiData: number;
  strCompactData: number;
  /** PyBytesObject: ob_size, ob_sval */
  bytesSize: number;
  bytesData: number;
}

export interface PyLayout {
  version: string;
  walk: PyWalkLayout;
  code: PyCodeLayout;
}

const PY311: PyLayout = {
  version: '3.11',
  walk: {
    runtimeInterpHead: 40, // _PyRuntimeState.interpreters.head
    interpTstateHead: 16, // PyInterpreterState.threads.head
    tstateNext: 8,
    tstateThreadId: 152, // PyThreadState.thread_id (pthread_self())
    tstateFrame: 56, // PyThreadState.cframe
    cframeFrame: 8, // _PyCFrame.current_frame
    frameCode: 32, // _PyInterpreterFrame.f_code
    framePrevious: 48,
    frameInstr: 56, // prev_instr
    frameEntry: 68, // is_entry
    entryKind: PY_ENTRY_IS_ENTRY,
    instrKind: PY_INSTR_PTR,
  },
  code: {
    size: 184,
    firstLineNo: 72,
    filename: 112,
    name: 120,
    qualname: 128,
    linetable: 136,
    code: 184, // co_code_adaptive
    lineTable: 'pep657',
    strLength: 16,
    strState: 32,
    strAsciiData: 48,
    strCompactData: 72,
    bytesSize: 16,
    bytesData: 32,
  },
};

const LAYOUTS = new Map<string, PyLayout>([['3.11', PY311]]);

/** The layout of CPython `major.minor`, or undefined (unsupported: counted, native frames kept). */
export function pyLayout(version: string): PyLayout | undefined {
  return LAYOUTS.get(version);
}

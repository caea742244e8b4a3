/**
 * CPython layouts by version: the offsets the BPF walker needs to go from _PyRuntime to a thread's
 * current frame and along its frames (struct py_proc, src/c/python.h), and the code-object and
 * string offsets user space needs to name a frame (frames.ts).
 *
 * Every layout was read with `gdb` (print &((T *)0)->field) from a build of that version with debug
 * info: pyenv's 3.8.18, 3.9.18, 3.10.13, 3.11.7, 3.12.1 and 3.13.0 on these machines (x86-64); the
 * real-kernel test runs each one that is installed. Debian's 3.11.2 has the 3.11 layout (same
 * headers within a release series). 3.13 publishes _Py_DebugOffsets at the start of _PyRuntime:
 * procs.ts reads the offsets from the binary (its cookie and version checked) and this table is
 * only the fallback. A version not listed is reported as unsupported (counted, native frames
 * kept), never walked with guessed offsets.
 *
 * How a _PyEval_EvalFrameDefault call maps to Python frames:
 *   3.8-3.10  one PyFrameObject per call (tstate->frame, f_back, f_lasti)
 *   3.11      _PyInterpreterFrame chain from tstate->cframe->current_frame; a call's frames end at
 *             the one with is_entry set
 *   3.12      the same chain; a call starts with a shim frame owned by the C stack (owner == 3)
 *   3.13      tstate->current_frame (no cframe), shim frames as in 3.12
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
  /** co_qualname (3.11+); 3.8-3.10 have none: the same as name */
  qualname: number;
  linetable: number;
  /** where the bytecode starts (the instruction offset in a frame marker is from the object's start);
   * 0 for 3.8-3.10, whose markers carry f_lasti */
  code: number;
  /** 'pep657': 3.11+ location table (co_linetable); 'lnotab': 3.8/3.9 co_lnotab (the frame's
   * f_lasti in bytes); 'linetable310': 3.10 co_linetable (f_lasti in code units) */
  lineTable: 'pep657' | 'lnotab' | 'linetable310';
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

/** PyASCIIObject and PyBytesObject offsets of 3.8 to 3.11 (3.12 dropped the ASCII object's wstr). */
const PRE312_STRINGS = {
  strLength: 16,
  strState: 32,
  strAsciiData: 48,
  strCompactData: 72,
  bytesSize: 16,
  bytesData: 32,
} as const;

/** 3.8 and 3.9 (identical here) */
const PY38: PyLayout = {
  version: '3.8',
  walk: {
    runtimeInterpHead: 0x20,
    interpTstateHead: 0x8, // PyInterpreterState.tstate_head
    tstateNext: 0x8,
    tstateThreadId: 0xb0,
    tstateFrame: 0x18, // PyThreadState.frame
    cframeFrame: PY_NO_OFFSET,
    frameCode: 0x20, // PyFrameObject.f_code
    framePrevious: 0x18, // f_back
    frameInstr: 0x68, // f_lasti (bytes)
    frameEntry: 0,
    entryKind: PY_ENTRY_ONE,
    instrKind: PY_INSTR_INT,
  },
  code: {
    size: 0x80,
    firstLineNo: 0x28,
    filename: 0x68,
    name: 0x70,
    qualname: 0x70,
    linetable: 0x78, // co_lnotab
    code: 0,
    lineTable: 'lnotab',
    ...PRE312_STRINGS,
  },
};

const PY310: PyLayout = {
  version: '3.10',
  walk: { ...PY38.walk, frameInstr: 0x60 }, // f_lasti (code units)
  code: { ...PY38.code, linetable: 0x78, lineTable: 'linetable310' },
};

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
    ...PRE312_STRINGS,
  },
};

/** 3.12: no wstr in str objects (compact data at 40 / 56) */
const PY312: PyLayout = {
  version: '3.12',
  walk: {
    runtimeInterpHead: 0x28,
    interpTstateHead: 0x48,
    tstateNext: 0x8,
    tstateThreadId: 0x88,
    tstateFrame: 0x38, // cframe
    cframeFrame: 0x0, // _PyCFrame.current_frame
    frameCode: 0x0, // f_code
    framePrevious: 0x8,
    frameInstr: 0x38, // prev_instr
    frameEntry: 0x46, // owner
    entryKind: PY_ENTRY_CSTACK,
    instrKind: PY_INSTR_PTR,
  },
  code: {
    size: 0xc0,
    firstLineNo: 0x44,
    filename: 0x70,
    name: 0x78,
    qualname: 0x80,
    linetable: 0x88,
    code: 0xc0,
    lineTable: 'pep657',
    strLength: 16,
    strState: 32,
    strAsciiData: 40,
    strCompactData: 56,
    bytesSize: 16,
    bytesData: 32,
  },
};

/** 3.13 (fallback when the binary's _Py_DebugOffsets cannot be read) */
const PY313: PyLayout = {
  version: '3.13',
  walk: {
    runtimeInterpHead: 0x278,
    interpTstateHead: 0x1cb0,
    tstateNext: 0x8,
    tstateThreadId: 0x98,
    tstateFrame: 0x48, // current_frame
    cframeFrame: PY_NO_OFFSET,
    frameCode: 0x0, // f_executable
    framePrevious: 0x8,
    frameInstr: 0x38, // instr_ptr
    frameEntry: 0x46, // owner
    entryKind: PY_ENTRY_CSTACK,
    instrKind: PY_INSTR_PTR,
  },
  code: { ...PY312.code, size: 0xc8, code: 0xc8 },
};

const LAYOUTS = new Map<string, PyLayout>([
  ['3.8', PY38],
  ['3.9', { ...PY38, version: '3.9' }],
  ['3.10', PY310],
  ['3.11', PY311],
  ['3.12', PY312],
  ['3.13', PY313],
]);

/** The layout of CPython `major.minor`, or undefined (unsupported: counted, native frames kept). */
export function pyLayout(version: string): PyLayout | undefined {
  return LAYOUTS.get(version);
}

/** bytes of _Py_DebugOffsets (3.13) read from the start of _PyRuntime */
export const DEBUG_OFFSETS_SIZE = 536;

/**
 * The 3.13 layout from the binary's _Py_DebugOffsets (the first bytes of _PyRuntime, as initialized
 * in the file): cookie "xdebugpy", version 3.13 (the struct's own layout changes between minor
 * versions, so only 3.13's is read), not free-threaded. undefined when it does not check out.
 */
export function layoutFromDebugOffsets(b: Buffer): PyLayout | undefined {
  if (b.length < DEBUG_OFFSETS_SIZE || b.toString('latin1', 0, 8) !== 'xdebugpy') return undefined;
  const version = Number(b.readBigUInt64LE(8));
  if (version >>> 24 !== 3 || ((version >>> 16) & 0xff) !== 13) return undefined;
  if (b.readBigUInt64LE(16) !== 0n) return undefined; // free-threaded builds differ (no GIL, other objects)
  const o = (at: number) => {
    const v = Number(b.readBigUInt64LE(at));
    if (v >= PY_NO_OFFSET) throw new Error(`offset ${v} at ${at}`);
    return v;
  };
  try {
    const code = o(344);
    return {
      version: '3.13',
      walk: {
        runtimeInterpHead: o(40),
        interpTstateHead: o(72),
        tstateNext: o(168),
        tstateThreadId: o(192),
        tstateFrame: o(184),
        cframeFrame: PY_NO_OFFSET,
        frameCode: o(240),
        framePrevious: o(232),
        frameInstr: o(248),
        frameEntry: o(264),
        entryKind: PY_ENTRY_CSTACK,
        instrKind: PY_INSTR_PTR,
      },
      code: {
        ...PY313.code,
        size: code,
        code,
        filename: o(280),
        name: o(288),
        qualname: o(296),
        linetable: o(304),
        firstLineNo: o(312),
        bytesSize: o(520),
        bytesData: o(528),
      },
    };
  } catch {
    return undefined;
  }
}

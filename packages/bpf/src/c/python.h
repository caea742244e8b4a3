/* CPython frames in user stacks: what user space (src/python/) tells the CFI walker about a Python
 * process, and how a Python frame is stored among the native pcs of a walked stack. */
#ifndef BPFSCOPE_PYTHON_H
#define BPFSCOPE_PYTHON_H

/* A Python frame in ustack_key.pcs: bit 63 set (never a user address), bits 48..62 the position of
 * the instruction being run in the code object (byte offset from the code object's address, or the
 * frame's f_lasti: see instr_kind), saturated at PY_INSTR_MAX; bits 0..47 the code object's address.
 * User space reads the code object's names, file and line table from the process's memory. */
#define PY_FRAME_MARK (1ULL << 63)
#define PY_INSTR_SHIFT 48
#define PY_INSTR_MAX 0x7fffULL
#define PY_ADDR_MASK ((1ULL << 48) - 1)

/* how the Python frames of one _PyEval_EvalFrameDefault call are delimited */
enum py_entry_kind {
	PY_ENTRY_IS_ENTRY = 0,  /* 3.11: frames up to and including the one with is_entry set */
	PY_ENTRY_CSTACK = 1,    /* 3.12+: frames up to a shim frame owned by the C stack (owner == 3), which is skipped */
	PY_ENTRY_ONE = 2,       /* 3.8-3.10: one PyFrameObject per call */
};
#define PY_OWNED_BY_CSTACK 3

enum py_instr_kind {
	PY_INSTR_PTR = 0,       /* frame_instr holds a pointer into the code object (3.11+) */
	PY_INSTR_INT = 1,       /* frame_instr holds an int (f_lasti, 3.8-3.10) */
};

#define PY_NO_OFFSET 0xffff

/* value of py_procs (key: tgid): 48 bytes */
struct py_proc {
	__u64 runtime;            /* address of _PyRuntime */
	__u64 eval_start;         /* runtime address range of _PyEval_EvalFrameDefault */
	__u64 eval_end;
	__u16 runtime_interp_head; /* _PyRuntime.interpreters.head */
	__u16 interp_tstate_head;  /* PyInterpreterState.threads.head */
	__u16 tstate_next;
	__u16 tstate_thread_id;    /* pthread_self() of the thread: its fs base on x86-64 */
	__u16 tstate_frame;        /* cframe (3.11/3.12), current_frame (3.13), frame (3.8-3.10) */
	__u16 cframe_frame;        /* _PyCFrame.current_frame, or PY_NO_OFFSET (no cframe indirection) */
	__u16 frame_code;
	__u16 frame_previous;
	__u16 frame_instr;
	__u16 frame_entry;         /* is_entry (3.11) or owner (3.12+) */
	__u8 entry_kind;           /* enum py_entry_kind */
	__u8 instr_kind;           /* enum py_instr_kind */
	__u8 supported;            /* 0: a Python whose layout is not known: samples counted (BS_STAT_PY_UNSUPPORTED), native frames kept */
	__u8 pad;
};

#endif

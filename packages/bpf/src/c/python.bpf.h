/*
 * CPython frames for the CFI walker (included by unwind.bpf.h).
 *
 * User space (src/python/) finds Python processes (an object with _PyRuntime and
 * _PyEval_EvalFrameDefault), picks the layout of their version and writes py_procs. At the start of
 * a walk, py_start() finds the thread's PyThreadState (py_threads: tid → tstate, checked on every use
 * against the thread's fs base; else the interpreter's thread list is searched for the tstate whose
 * thread_id, pthread_self(), is the thread's fs base) and reads its current Python frame. While
 * walking, each native _PyEval_EvalFrameDefault frame is replaced by the Python frames that call was
 * running (py_emit: one per walker iteration), so native frames above and below stay in place.
 */
#ifndef BPFSCOPE_PYTHON_BPF_H
#define BPFSCOPE_PYTHON_BPF_H

#include "python.h"

/* threads searched in an interpreter's list for the current one */
#define PY_MAX_THREADS 128
/* a thread with no PyThreadState is searched again after this long */
#define PY_RETRY_NS 50000000ULL

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct py_proc);
} py_procs SEC(".maps");

struct py_thread {
	__u64 tstate;     /* 0: the thread had none when last searched */
	__u64 checked_ns;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct py_thread);
} py_threads SEC(".maps");

struct py_state {
	struct py_proc p;
	__u64 frame;  /* the next Python frame to emit (0: none) */
	__u8 mode;    /* emitting the Python frames of one _PyEval_EvalFrameDefault call */
	__u8 skip;    /* the next native frame is the _PyEval_EvalFrameDefault call just replaced */
	__u8 pad[6];
};

static __always_inline int py_read(__u64 addr, __u64 *v)
{
	return bpf_probe_read_user(v, sizeof(*v), (const void *)addr);
}

/* the PyThreadState of the thread whose pthread_self() is fsbase, or 0 */
static __always_inline __u64 py_find_tstate(struct py_proc *p, __u32 tid, __u64 fsbase)
{
	struct py_thread *c = bpf_map_lookup_elem(&py_threads, &tid);
	struct py_thread v = {};
	__u64 ts, id, now = bpf_ktime_get_ns();

	if (c) {
		if (c->tstate && !py_read(c->tstate + p->tstate_thread_id, &id) && id == fsbase)
			return c->tstate;
		if (!c->tstate && now - c->checked_ns < PY_RETRY_NS)
			return 0;
	}
	if (py_read(p->runtime + p->runtime_interp_head, &ts) || !ts)
		return 0;
	if (py_read(ts + p->interp_tstate_head, &ts))
		return 0;
	for (int i = 0; i < PY_MAX_THREADS && ts; i++) {
		if (py_read(ts + p->tstate_thread_id, &id))
			return 0;
		if (id == fsbase)
			break;
		if (py_read(ts + p->tstate_next, &ts))
			return 0;
	}
	if (ts && (py_read(ts + p->tstate_thread_id, &id) || id != fsbase))
		ts = 0;
	v.tstate = ts;
	v.checked_ns = now;
	bpf_map_update_elem(&py_threads, &tid, &v, BPF_ANY);
	return ts;
}

/* Set up the Python part of a walk of `t`'s user stack (tgid is a Python process or not). */
static __always_inline void py_start(struct py_state *py, struct task_struct *t, __u32 tgid)
{
	struct py_proc *p;
	__u64 tstate, f;

	py->frame = 0;
	py->mode = 0;
	py->skip = 0;
	py->p.eval_end = 0; /* no pc is in [eval_start, eval_end) */
	p = bpf_map_lookup_elem(&py_procs, &tgid);
	if (!p)
		return;
	if (!p->supported) {
		stat_inc(BS_STAT_PY_UNSUPPORTED);
		return;
	}
	tstate = py_find_tstate(p, t->pid, t->thread.fsbase);
	if (!tstate || py_read(tstate + p->tstate_frame, &f))
		return;
	if (f && p->cframe_frame != PY_NO_OFFSET && py_read(f + p->cframe_frame, &f))
		return;
	if (!f)
		return;
	py->p = *p;
	py->frame = f;
}

/* Emit the next Python frame of the current _PyEval_EvalFrameDefault call into pcs[n]; returns the
 * number of pcs written (0 or 1). Ends the run (mode = 0, skip = 1) at its entry frame. */
static __always_inline int py_emit(struct py_state *py, __u64 *slot)
{
	struct py_proc *p = &py->p;
	__u64 f = py->frame, code, prev, instr = 0, off = 0;
	__u8 b = 0;
	bool last = false;

	if (py_read(f + p->frame_code, &code) || py_read(f + p->frame_previous, &prev))
		goto fail;
	if (p->entry_kind == PY_ENTRY_CSTACK) {
		if (bpf_probe_read_user(&b, 1, (const void *)(f + p->frame_entry)))
			goto fail;
		if (b == PY_OWNED_BY_CSTACK) {
			/* the shim frame that starts this call: not a Python function */
			py->frame = prev;
			py->mode = 0;
			py->skip = 1;
			return 0;
		}
	} else if (p->entry_kind == PY_ENTRY_IS_ENTRY) {
		if (bpf_probe_read_user(&b, 1, (const void *)(f + p->frame_entry)))
			goto fail;
		last = b != 0;
	} else {
		last = true;
	}
	if (p->instr_kind == PY_INSTR_PTR) {
		if (!py_read(f + p->frame_instr, &instr) && instr > code)
			off = instr - code;
	} else {
		__s32 lasti = 0;
		if (!bpf_probe_read_user(&lasti, sizeof(lasti), (const void *)(f + p->frame_instr)) && lasti > 0)
			off = lasti;
	}
	if (off > PY_INSTR_MAX)
		off = PY_INSTR_MAX;
	*slot = PY_FRAME_MARK | (off << PY_INSTR_SHIFT) | (code & PY_ADDR_MASK);
	py->frame = prev;
	if (last || !prev) {
		py->mode = 0;
		py->skip = 1;
	}
	return 1;
fail:
	/* keep the native frame of this call, stop reading Python frames */
	py->frame = 0;
	py->mode = 0;
	return 0;
}

#endif

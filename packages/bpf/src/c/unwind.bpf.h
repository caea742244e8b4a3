/*
 * CFI user-stack walker (x86-64), included by the stack tools after bpfscope.bpf.h.
 *
 * get_ustack_cfi() walks the user stack of `current` from its user registers (bpf_task_pt_regs: the
 * registers saved at the last kernel entry, the same in a perf_event sample taken in user mode and
 * at a tracepoint) with the unwind tables user space loaded (src/unwind/maps.ts):
 *   unwind_procs    tgid → the process's executable mappings, sorted: [start, end) → (table, bias)
 *   unwind_tables   table index → array of struct unwind_row (unwind.h), sorted by pc
 * One frame per bpf_loop iteration (≤ MAX_STACK_DEPTH): find the mapping (binary search), find the
 * row (binary search, "last row with row.pc <= pc"), compute the CFA, read the return address at
 * CFA - 8 and the caller's rbp. Code without a table walks by frame pointers: by design for JIT and
 * anonymous code (UNWIND_TABLE_FP), counted as "no table" otherwise (not loaded yet, not loadable).
 * A pc of a process or mapping user space does not know yet is reported in unwind_unknown (one
 * pending report per process) so user space rescans that process's mappings.
 *
 * Stacks are stored by content: ustacks maps the whole frame array to an id (allocated from a
 * counter), so two different stacks can never share an id and a collision cannot drop one.
 */
#ifndef BPFSCOPE_UNWIND_BPF_H
#define BPFSCOPE_UNWIND_BPF_H

#include "unwind_walk.h"
#include "python.bpf.h"

#define USER_ADDR_MAX 0x00007fffffffffffULL
#ifndef EINVAL
#define EINVAL 22
#endif

struct unwind_rows_inner {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_INNER_MAP); /* tables of any size share the template */
	__uint(max_entries, 1);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(struct unwind_row)); /* sizes, not BTF types: libbpf 1.1 cannot size inner map BTF */
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, UNWIND_MAX_TABLES);
	__type(key, __u32);
	__array(values, struct unwind_rows_inner);
} unwind_tables SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC); /* memory only for the processes present */
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct unwind_proc);
} unwind_procs SEC(".maps");

/* tgid → a pc no mapping covers (the process or the code is new): user space rescans, deletes */
HASH_MAP(unwind_unknown, 4096, __u32, __u64);

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 16384); /* stackStorageSize */
	__type(key, struct ustack_key);
	__type(value, __u32);
} ustacks SEC(".maps");

/* (table with generation, pc) → row: return addresses repeat, and a hash lookup costs less than
 * the ~20 probes of a binary search through a table of a million rows. One value per key for every
 * CPU (rows never change): a per-CPU LRU map would hand other CPUs a zeroed slot of the key. */
struct unwind_cache_key {
	__u32 table;
	__u32 pc;
};
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct unwind_cache_key);
	__type(value, struct unwind_row);
} unwind_row_cache SEC(".maps");

struct unwind_scratch {
	struct ustack_key key;
	__u64 ip, sp, bp;
	__u32 pid;
	__u8 exact;        /* look the pc up as is: first frame, and the frame a signal interrupted */
	__u8 bp_undefined; /* the caller's rbp is unknown */
	__u8 pad[2];
	/* the mapping of the previous frame (consecutive frames are often in one object) */
	__u64 c_start, c_end, c_bias;
	__u32 c_table, c_rows;
	/* CPython frames (python.bpf.h) replacing _PyEval_EvalFrameDefault frames */
	struct py_state py;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct unwind_scratch);
} unwind_scratch SEC(".maps");

__u32 ustack_next_id = 0;

static __always_inline bool unwind_find_mapping(struct unwind_scratch *s, __u64 ip)
{
	struct unwind_proc *p = bpf_map_lookup_elem(&unwind_procs, &s->pid);
	__u32 lo = 0, hi, c;

	if (!p)
		return false;
	hi = p->n;
	if (hi > UNWIND_MAX_MAPPINGS)
		hi = UNWIND_MAX_MAPPINGS;
	/* first mapping with start > ip */
	for (int k = 0; k < 9 && lo < hi; k++) {
		__u32 mid = (lo + hi) / 2;
		if (mid >= UNWIND_MAX_MAPPINGS)
			return false;
		if (p->m[mid].start <= ip)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return false;
	c = lo - 1;
	if (c >= UNWIND_MAX_MAPPINGS || ip >= p->m[c].end)
		return false;
	s->c_start = p->m[c].start;
	s->c_end = p->m[c].end;
	s->c_bias = p->m[c].bias;
	s->c_table = p->m[c].table;
	s->c_rows = p->m[c].rows;
	return true;
}

/* one halving of the row search: [lo, hi) holds the first row with row.pc > pc */
struct unwind_row_search {
	__u32 table;  /* index in unwind_tables */
	__u32 lo, hi;
	__u32 pc;
	__u32 failed;
};

static long unwind_row_search_step(__u32 i, struct unwind_row_search *c)
{
	struct unwind_row *r;
	void *rows;
	__u32 mid;

	if (c->lo >= c->hi)
		return 1;
	/* the array-of-maps lookup is inlined: cheaper than carrying the inner map pointer */
	rows = bpf_map_lookup_elem(&unwind_tables, &c->table);
	mid = (c->lo + c->hi) / 2;
	r = rows ? bpf_map_lookup_elem(rows, &mid) : NULL;
	if (!r) {
		c->failed = 1;
		return 1;
	}
	if (r->pc <= c->pc)
		c->lo = mid + 1;
	else
		c->hi = mid;
	return 0;
}

/*
 * The last row with row.pc <= pc, or NULL (pc before the first row). The halvings run in bpf_loop:
 * its callback is verified once, where an unrolled loop of 25 halvings inside the frame step made
 * the verifier walk every path of every halving (hundreds of thousands of instructions at load).
 */
static __always_inline struct unwind_row *unwind_find_row(void *rows, __u32 table, __u32 count, __u32 pc)
{
	struct unwind_row_search c = { .table = table, .lo = 0, .hi = count, .pc = pc };
	__u32 idx;

	bpf_loop(25, unwind_row_search_step, &c, 0);
	if (c.failed || c.lo == 0 || c.lo < c.hi)
		return NULL;
	idx = c.lo - 1;
	return bpf_map_lookup_elem(rows, &idx);
}

static __always_inline int unwind_read(__u64 addr, __u64 *v)
{
	return bpf_probe_read_user(v, sizeof(*v), (const void *)addr);
}

/* one frame by frame pointers: [rbp] = caller's rbp, [rbp + 8] = return address */
static __always_inline long unwind_fp_step(struct unwind_scratch *s)
{
	__u64 fr[2];
	__u64 bp = s->bp;

	if (s->bp_undefined || bp == 0 || bpf_probe_read_user(fr, sizeof(fr), (const void *)bp))
		return 1; /* the end of a frame-pointer chain looks like this: not counted */
	if (fr[1] == 0 || fr[1] > USER_ADDR_MAX)
		return 1;
	s->ip = fr[1];
	s->sp = bp + 16;
	s->bp = fr[0];
	s->bp_undefined = fr[0] <= bp; /* a chain must go up the stack */
	s->exact = 0;
	return 0;
}

/* One frame. A global function: the verifier checks it once, on its own, instead of once for
 * every path of the caller that reaches the bpf_loop call (which made loading a tool with the
 * walker take seconds: measured 2.6-3.1 s → 0.7-0.9 s for profile on this machine). Returns 1
 * when the walk is over. */
__noinline long unwind_frame(void)
{
	__u32 zero = 0;
	struct unwind_scratch *s = bpf_map_lookup_elem(&unwind_scratch, &zero);
	struct unwind_row *r;
	struct unwind_cache_key ck;
	void *rows;
	__u64 ip, lpc, cfa, ra, v;
	__u32 n, table;
	__s32 off;

	if (!s)
		return 1;
	n = s->key.len;
	if (n >= MAX_STACK_DEPTH) {
		s->key.flags |= USTACK_TRUNCATED;
		return 1;
	}
	if (s->py.mode) {
		/* the Python frames of the _PyEval_EvalFrameDefault call at ip, one per iteration */
		if (n < MAX_STACK_DEPTH && py_emit(&s->py, &s->key.pcs[n]))
			s->key.len = n + 1;
		return 0;
	}
	ip = s->ip;
	if (s->py.skip) {
		s->py.skip = 0; /* this frame's Python frames are in its place: step over it */
	} else if (s->py.frame && ip >= s->py.p.eval_start && ip < s->py.p.eval_end) {
		s->py.mode = 1;
		return 0;
	} else {
		s->key.pcs[n] = ip;
		s->key.len = n + 1;
	}

	if (ip >= s->c_start && ip < s->c_end) {
		table = s->c_table;
	} else if (unwind_find_mapping(s, ip)) {
		table = s->c_table;
	} else {
		/* a process or code user space has not seen: ask for a rescan (one pending report) */
		bpf_map_update_elem(&unwind_unknown, &s->pid, &ip, BPF_NOEXIST);
		s->key.flags |= USTACK_NO_TABLE;
		return unwind_fp_step(s);
	}
	if (table == UNWIND_TABLE_FP)
		return unwind_fp_step(s);
	if (table == UNWIND_TABLE_PENDING) {
		s->key.flags |= USTACK_NO_TABLE;
		return unwind_fp_step(s);
	}
	/* a return address is the instruction after the call: look up the call itself */
	lpc = ip - s->c_bias - (s->exact ? 0 : 1);
	if (lpc > 0xffffffffULL)
		goto no_rule;
	ck.table = table;
	ck.pc = (__u32)lpc;
	r = bpf_map_lookup_elem(&unwind_row_cache, &ck);
	if (!r) {
		__u32 idx = UNWIND_TABLE_INDEX(table);
		rows = bpf_map_lookup_elem(&unwind_tables, &idx);
		if (!rows) {
			s->key.flags |= USTACK_NO_TABLE;
			return unwind_fp_step(s);
		}
		r = unwind_find_row(rows, idx, s->c_rows, (__u32)lpc);
		if (!r)
			goto no_rule;
		bpf_map_update_elem(&unwind_row_cache, &ck, r, BPF_ANY);
	}
	off = r->cfa_off;
	switch (r->cfa_kind) {
	case UNWIND_CFA_RSP:
		cfa = s->sp + off;
		break;
	case UNWIND_CFA_RBP:
		if (s->bp_undefined)
			goto unsupported;
		cfa = s->bp + off;
		break;
	case UNWIND_CFA_PLT:
		cfa = s->sp + 8 + (((ip & 15) >= 11) ? 8 : 0);
		break;
	case UNWIND_CFA_DEREF_RBP:
		if (s->bp_undefined)
			goto unsupported;
		if (unwind_read(s->bp + off, &cfa))
			goto fault;
		break;
	case UNWIND_CFA_SIGNAL:
		/* rt_sigframe at rsp: the interrupted registers are in its ucontext */
		if (unwind_read(s->sp + UNWIND_SIGFRAME_RBP, &v))
			goto fault;
		s->bp = v;
		if (unwind_read(s->sp + UNWIND_SIGFRAME_RIP, &v))
			goto fault;
		s->ip = v;
		if (unwind_read(s->sp + UNWIND_SIGFRAME_RSP, &v))
			goto fault;
		s->sp = v;
		s->bp_undefined = 0;
		s->exact = 1;
		return s->ip == 0 || s->ip > USER_ADDR_MAX;
	case UNWIND_CFA_STOP:
		s->key.flags |= USTACK_COMPLETE;
		return 1; /* the outermost frame: complete */
	case UNWIND_CFA_INVALID:
		goto no_rule;
	default:
		goto unsupported;
	}
	if (cfa <= s->sp)
		goto unsupported; /* a caller's frame is always above: a bad rule or a corrupt stack */
	if (unwind_read(cfa - 8, &ra))
		goto fault;
	if (r->rbp_kind == UNWIND_RBP_OFFSET) {
		if (unwind_read(cfa + r->rbp_off, &v))
			goto fault;
		s->bp = v;
		s->bp_undefined = 0;
	} else if (r->rbp_kind == UNWIND_RBP_UNDEFINED) {
		s->bp_undefined = 1;
	}
	/* the outermost frame has a STOP row: a rule that leads to no return address is a bad rule
	 * (or a corrupt stack), not the end of the stack */
	if (ra == 0 || ra > USER_ADDR_MAX)
		goto unsupported;
	s->sp = cfa;
	s->ip = ra;
	s->exact = 0;
	return 0;
no_rule:
	/* code the table has no rule for (no FDE, e.g. V8's embedded builtins in node, or a CFI form
	 * the generator could not express): frame pointers, as for code without a table; counted as
	 * "no table" unless the walk still reaches the outermost frame (V8 keeps frame pointers) */
	s->key.flags |= USTACK_NO_RULE;
	return unwind_fp_step(s);
unsupported:
	s->key.flags |= USTACK_UNSUPPORTED;
	return 1;
fault:
	s->key.flags |= USTACK_FAULT;
	return 1;
}

static long unwind_step(__u32 i, void *unused)
{
	return unwind_frame() ? 1 : 0; /* a bpf_loop callback returns 0 or 1 */
}

/*
 * Walk the user stack of `current` and return its id in ustacks (≥ 0), or -EFAULT (kernel thread,
 * no user registers: counted like bpf_get_stackid's) / -ENOMEM (ustacks full, counted).
 * func_entry: the registers are at the first instruction of a function (a uprobe on a symbol), so
 * the return address is at rsp whatever the tables say: the first step needs no table, and a
 * process whose tables are still loading keeps its caller (a frame-pointer step from there would
 * skip it: rbp is still the caller's).
 */
static __always_inline __s32 get_ustack_cfi_at(bool func_entry)
{
	struct task_struct *t = bpf_get_current_task_btf();
	struct pt_regs *regs;
	struct unwind_scratch *s;
	__u32 zero = 0, id, *idp;
	long err;

	if ((t->flags & PF_KTHREAD) || t->tgid == 0) {
		stat_inc(BS_STAT_USTACK_EFAULT);
		return -EFAULT;
	}
	s = bpf_map_lookup_elem(&unwind_scratch, &zero);
	regs = (struct pt_regs *)bpf_task_pt_regs(t);
	if (!s || !regs) {
		stat_inc(BS_STAT_USTACK_OTHER);
		return -EINVAL;
	}
	s->ip = BPF_CORE_READ(regs, ip);
	s->sp = BPF_CORE_READ(regs, sp);
	s->bp = BPF_CORE_READ(regs, bp);
	if (s->ip == 0 || s->ip > USER_ADDR_MAX) {
		stat_inc(BS_STAT_USTACK_EFAULT);
		return -EFAULT;
	}
	s->pid = t->tgid;
	s->exact = 1;
	s->bp_undefined = 0;
	s->c_start = 0;
	s->c_end = 0;
	s->key.len = 0;
	s->key.flags = 0;
	py_start(&s->py, t, s->pid);
	/* the whole key is hashed and compared: no stale frames after len */
	__builtin_memset(s->key.pcs, 0, sizeof(s->key.pcs));
	if (func_entry && !(s->py.frame && s->ip >= s->py.p.eval_start && s->ip < s->py.p.eval_end)) {
		__u64 ra;
		if (unwind_read(s->sp, &ra) == 0 && ra != 0 && ra <= USER_ADDR_MAX) {
			s->key.pcs[0] = s->ip;
			s->key.len = 1;
			s->ip = ra;
			s->sp += 8;
			s->exact = 0;
		}
	}

	/* Python frames take iterations of their own, and each replaced native frame one more */
	bpf_loop(2 * MAX_STACK_DEPTH + 2, unwind_step, NULL, 0);

	if ((s->key.flags & USTACK_NO_TABLE) ||
	    ((s->key.flags & USTACK_NO_RULE) && !(s->key.flags & USTACK_COMPLETE)))
		stat_inc(BS_STAT_UNWIND_NO_TABLE);
	if (s->key.flags & USTACK_UNSUPPORTED)
		stat_inc(BS_STAT_UNWIND_UNSUPPORTED);
	if (s->key.flags & USTACK_FAULT)
		stat_inc(BS_STAT_UNWIND_FAULT);
	if (s->key.flags & USTACK_TRUNCATED)
		stat_inc(BS_STAT_UNWIND_TRUNCATED);

	idp = bpf_map_lookup_elem(&ustacks, &s->key);
	if (idp)
		return *idp;
	id = __sync_fetch_and_add(&ustack_next_id, 1) & 0x7fffffff;
	err = bpf_map_update_elem(&ustacks, &s->key, &id, BPF_NOEXIST);
	if (err == -EEXIST) {
		/* the same stack stored meanwhile on another CPU */
		idp = bpf_map_lookup_elem(&ustacks, &s->key);
		if (idp)
			return *idp;
	}
	if (err) {
		stat_inc(BS_STAT_USTACK_ENOMEM);
		return -ENOMEM;
	}
	return id;
}

static __always_inline __s32 get_ustack_cfi(void)
{
	return get_ustack_cfi_at(false);
}

/*
 * Deferred user stacks of the off-CPU tools (cfg.defer_user, set when a minimum block time filters
 * short blocks): a thread that blocks inside a system call keeps its user registers and stack until
 * the call returns, so its user stack is walked then (raw_syscalls:sys_exit, in its own context) and
 * only for blocks that passed the min/max filter at switch-in, instead of at every switch-out.
 * Blocks outside a system call (preemption, page faults) are walked at switch-out as before.
 * OFFCPU_DEFER(key_type) defines, for a tool with `cfg`, `counts`, `struct start_val { ts; uip; usp;
 * key }`: the pending map, offcpu_defer_user(), offcpu_pending_add() and the sys_exit handler.
 */
#define OFFCPU_PENDING_SLOTS 4
#define NR_EXECVE 59
#define NR_EXECVEAT 322
#ifndef ESRCH
#define ESRCH 3
#endif
#define OFFCPU_DEFER(key_type)									\
struct pending_val {										\
	__u64 uip, usp;										\
	__u32 n;										\
	__u32 pad;										\
	__u64 us[OFFCPU_PENDING_SLOTS];								\
	key_type key[OFFCPU_PENDING_SLOTS];							\
};												\
struct {											\
	__uint(type, BPF_MAP_TYPE_LRU_HASH);							\
	__uint(max_entries, 32768);								\
	__type(key, __u32);									\
	__type(value, struct pending_val);							\
} pending SEC(".maps");										\
struct {											\
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);						\
	__uint(max_entries, 1);									\
	__type(key, __u32);									\
	__type(value, struct pending_val);							\
} pending_zero SEC(".maps");									\
												\
/* prev (current) is in a system call: leave its user stack for the call's return */		\
static __always_inline bool offcpu_defer_user(struct task_struct *prev, struct start_val *v)	\
{												\
	struct pt_regs *regs;									\
	__u8 insn[2];										\
												\
	if (!cfg.defer_user || cfg.kernel_only || (BPF_CORE_READ(prev, flags) & PF_KTHREAD))	\
		return false;									\
	/* prev is still current (and a plain scalar in raw_tp programs) */			\
	regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());			\
	if (!regs || (long)BPF_CORE_READ(regs, orig_ax) < 0)					\
		return false;									\
	v->uip = BPF_CORE_READ(regs, ip);							\
	v->usp = BPF_CORE_READ(regs, sp);							\
	/* orig_ax also holds exception error codes: a system call returns after its syscall insn */ \
	if (v->uip < 2 || bpf_probe_read_user(insn, 2, (void *)(v->uip - 2)) ||			\
	    insn[0] != 0x0f || insn[1] != 0x05)							\
		return false;									\
	v->key.user_stack_id = STACK_DEFERRED;							\
	return true;										\
}												\
												\
static __always_inline void offcpu_pending_add(__u32 tid, struct start_val *sv, __u64 us)	\
{												\
	__u32 zero = 0, n;									\
	struct pending_val *p = bpf_map_lookup_elem(&pending, &tid);				\
	if (p && (p->uip != sv->uip || p->usp != sv->usp)) {					\
		/* left from a call whose exit was not seen: not this call's stack */		\
		bpf_map_delete_elem(&pending, &tid);						\
		p = NULL;									\
	}											\
	if (!p) {										\
		struct pending_val *z = bpf_map_lookup_elem(&pending_zero, &zero);		\
		if (z) {									\
			z->uip = sv->uip;							\
			z->usp = sv->usp;							\
			z->n = 0;								\
			bpf_map_update_elem(&pending, &tid, z, BPF_ANY);			\
			p = bpf_map_lookup_elem(&pending, &tid);				\
		}										\
	}											\
	n = p ? p->n : OFFCPU_PENDING_SLOTS;							\
	if (!p || n >= OFFCPU_PENDING_SLOTS) {							\
		/* blocked more often in one system call than there are slots (or no room): \
		 * counted without a user stack, never dropped */				\
		sv->key.user_stack_id = -ESRCH;							\
		stat_inc(BS_STAT_USTACK_OTHER);							\
		count_add(DRAINED(counts), &sv->key, us);					\
		return;										\
	}											\
	p->us[n] = us;										\
	p->key[n] = sv->key;									\
	p->n = n + 1;										\
}												\
												\
static __always_inline int offcpu_sys_exit(void)						\
{												\
	__u32 tid = (__u32)bpf_get_current_pid_tgid();						\
	struct pending_val *p = bpf_map_lookup_elem(&pending, &tid);				\
	struct pt_regs *regs;									\
	__s32 uid = -ESRCH;									\
	long nr;										\
												\
	if (!p)											\
		return 0;									\
	regs = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());			\
	if (regs) {										\
		nr = BPF_CORE_READ(regs, orig_ax);						\
		/* the same call returning (an exec has new registers: its old stack is gone) */ \
		if (BPF_CORE_READ(regs, ip) == p->uip && BPF_CORE_READ(regs, sp) == p->usp &&	\
		    nr != NR_EXECVE && nr != NR_EXECVEAT)					\
			uid = get_ustack_cfi();							\
	}											\
	if (uid == -ESRCH)									\
		stat_inc(BS_STAT_USTACK_OTHER);							\
	for (int i = 0; i < OFFCPU_PENDING_SLOTS; i++) {					\
		if (i >= p->n)									\
			break;									\
		p->key[i].user_stack_id = uid;							\
		count_add(DRAINED(counts), &p->key[i], p->us[i]);				\
	}											\
	bpf_map_delete_elem(&pending, &tid);							\
	return 0;										\
}												\
												\
TP_BTF_AND_RAW(sys_exit, offcpu_sys_exit(), struct pt_regs *regs, long ret)

/* exec replaces every mapping: forget the old ones now (the same addresses may hold other code)
 * and ask user space to scan the new image */
static __always_inline int unwind_exec(void)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	__u64 zero = 0;

	bpf_map_delete_elem(&unwind_procs, &tgid);
	bpf_map_update_elem(&unwind_unknown, &tgid, &zero, BPF_ANY);
	return 0;
}

/* sched_process_exec_btf / _raw: the loader keeps them only when the walker is on (cfg.unwind) */
TP_BTF_AND_RAW(sched_process_exec, unwind_exec(),
	       struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)

#endif

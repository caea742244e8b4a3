/* Kernel-side helpers shared by the bpfscope BPF programs. */
#ifndef BPFSCOPE_BPF_H
#define BPFSCOPE_BPF_H

#include "bpfscope.h"

#ifndef EEXIST
#define EEXIST 17
#endif
#ifndef ENOMEM
#define ENOMEM 12
#endif
#ifndef EFAULT
#define EFAULT 14
#endif
#define PF_KTHREAD 0x00200000

struct stats_val {
	__u64 v[BS_NR_STATS];
};

/* per-CPU: counting every sched_switch in one shared cache line would bounce it between CPUs */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct stats_val);
} stats SEC(".maps");

/* A hash map definition: `name` maps key_type → value_type, at most max entries. */
#define HASH_MAP(name, max, key_type, value_type)		\
	struct {						\
		__uint(type, BPF_MAP_TYPE_HASH);		\
		__uint(max_entries, max);			\
		__type(key, key_type);				\
		__type(value, value_type);			\
	} name SEC(".maps")

/* pid (tgid) and tid filters, filled by the loader after load when the cfg flag is set. */
HASH_MAP(pid_filter, 1024, __u32, __u8);
HASH_MAP(tid_filter, 1024, __u32, __u8);

/* Maps the stack tools declare (each program its own, under the names the loader looks up). */

/* stack id → stack trace, for bpf_get_stackid */
#define STACKS_MAP(name)						\
	struct {							\
		__uint(type, BPF_MAP_TYPE_STACK_TRACE);			\
		__uint(max_entries, 16384);				\
		__uint(key_size, sizeof(__u32));			\
		__uint(value_size, MAX_STACK_DEPTH * sizeof(__u64));	\
	} name SEC(".maps")

/*
 * A hash map that user space drains (reads and deletes) while programs add to its values: two maps,
 * `name` and `name_alt`, and `name_gen` (one __u32) saying which one programs write to (DRAINED()).
 * Deleting an entry a program has just looked up would lose the program's addition (it lands in
 * the deleted element: BPF_MAP_LOOKUP_AND_DELETE_BATCH copies, then deletes), so user space
 * (maps.ts HashDrainer) flips name_gen, waits for the programs still running to finish (an RCU grace
 * period) and only then drains the map nobody writes to any more: every addition is read once.
 */
#define DRAINED_HASH_MAP(name, max, key_type, value_type)	\
	HASH_MAP(name, max, key_type, value_type);		\
	HASH_MAP(name##_alt, max, key_type, value_type);	\
	struct {						\
		__uint(type, BPF_MAP_TYPE_ARRAY);		\
		__uint(max_entries, 1);				\
		__type(key, __u32);				\
		__type(value, __u32);				\
	} name##_gen SEC(".maps")

static __always_inline void *drained_target(void *map, void *alt, void *gen)
{
	__u32 zero = 0;
	__u32 *g = bpf_map_lookup_elem(gen, &zero);
	return g && (*g & 1) ? alt : map;
}

/* the one of a DRAINED_HASH_MAP's two maps that programs write to now */
#define DRAINED(name) drained_target(&name, &name##_alt, &name##_gen)

/* key → __u64 count (samples or microseconds), drained by user space */
#define COUNTS_MAP(name, key_type) DRAINED_HASH_MAP(name, 65536, key_type, __u64)

/* tid → when (and what) a blocked thread was recorded at switch-out */
#define START_MAP(name, value_type) HASH_MAP(name, 32768, __u32, value_type)

static __always_inline void stat_inc(int idx)
{
	__u32 zero = 0;
	struct stats_val *s = bpf_map_lookup_elem(&stats, &zero);
	if (s && idx >= 0 && idx < BS_NR_STATS)
		s->v[idx]++; /* this CPU's copy; BPF programs do not migrate while running */
}

/*
 * Kernel frames that belong to the tracer, not to what was traced, at the leaf of a kernel stack
 * taken from a raw tracepoint (tp_btf or raw_tp): bpf_get_stackid starts at its caller, the program
 * (a JIT address), then comes the tracepoint's dispatcher, bpf_trace_runN (or, with LTO, the
 * __bpf_trace_<tp> stub it was inlined into). There are always at least these two, so skipping them
 * never hides a traced frame; anything deeper is trimmed by name in user space (stacks.ts stripTracer):
 * __bpf_trace_<tp> when it is not tail-called, and __traceiter_<tp>, through which the tracepoint
 * calls its probes while more than one is attached (another tracer on the same tracepoint). A perf_event program's stack starts at the
 * interrupted registers: nothing to skip there.
 */
#define TP_TRACER_FRAMES 2
#define PERF_EVENT_TRACER_FRAMES 0

/* bpf_get_stackid with its failures counted, never hidden. `kskip`: leaf frames of a kernel stack
 * to leave out (TP_TRACER_FRAMES or PERF_EVENT_TRACER_FRAMES, for the attach type). */
static __always_inline __s32 get_stack(void *ctx, void *map, bool user, __u32 kskip)
{
	long id;
	if (user) {
		/* kernel threads and the idle task have no user stack: say so without asking */
		struct task_struct *t = (struct task_struct *)bpf_get_current_task();
		if ((BPF_CORE_READ(t, flags) & PF_KTHREAD) || BPF_CORE_READ(t, tgid) == 0) {
			stat_inc(BS_STAT_USTACK_EFAULT);
			return -EFAULT;
		}
	}
	id = bpf_get_stackid(ctx, map, user ? BPF_F_USER_STACK : (kskip & BPF_F_SKIP_FIELD_MASK));
	if (id >= 0)
		return id;
	if (id == -EFAULT)
		stat_inc(user ? BS_STAT_USTACK_EFAULT : BS_STAT_KSTACK_EFAULT);
	else if (id == -EEXIST)
		stat_inc(user ? BS_STAT_USTACK_EEXIST : BS_STAT_KSTACK_EEXIST);
	else if (id == -ENOMEM)
		stat_inc(user ? BS_STAT_USTACK_ENOMEM : BS_STAT_KSTACK_ENOMEM);
	else
		stat_inc(user ? BS_STAT_USTACK_OTHER : BS_STAT_KSTACK_OTHER);
	return id;
}

/* The user and kernel stack ids of `current` into user_id and kern_id; STACK_NOT_COLLECTED for the
 * one not asked for (cfg.kernel_only: -K, cfg.user_only: -U). `kskip`: the tracer's own kernel
 * frames for the attach type (TP_TRACER_FRAMES, PERF_EVENT_TRACER_FRAMES). User stacks come from the
 * CFI walker (get_ustack_cfi, unwind.bpf.h: ids of the ustacks map) when cfg.unwind is set, else
 * from bpf_get_stackid's frame-pointer walk (ids of `map`). A macro: any cfg struct, any key. */
#define GET_STACKS(ctx, map, cfg, user_id, kern_id, kskip)						\
	do {												\
		(user_id) = (cfg).kernel_only ? STACK_NOT_COLLECTED :					\
			(cfg).unwind ? get_ustack_cfi() : get_stack(ctx, map, true, 0);			\
		(kern_id) = (cfg).user_only ? STACK_NOT_COLLECTED : get_stack(ctx, map, false, kskip);	\
	} while (0)

/* The entry map[key], created as *init when absent (unless another CPU just created it: BPF_NOEXIST);
 * NULL when the map is full (counted in BS_STAT_MAP_FULL). */
static __always_inline void *lookup_or_init(void *map, const void *key, const void *init)
{
	void *p = bpf_map_lookup_elem(map, key);
	long err;
	if (p)
		return p;
	err = bpf_map_update_elem(map, key, init, BPF_NOEXIST);
	if (err && err != -EEXIST) {
		stat_inc(BS_STAT_MAP_FULL);
		return NULL;
	}
	return bpf_map_lookup_elem(map, key);
}

/* *map[key] += v, creating the entry; a full map is counted in BS_STAT_MAP_FULL. */
static __always_inline void count_add(void *map, void *key, __u64 v)
{
	__u64 zero = 0;
	__u64 *p = lookup_or_init(map, key, &zero);
	if (p)
		__sync_fetch_and_add(p, v);
}

/* floor(log2(v)), 0 for v <= 1: the slot of v in a log2 histogram (bcc's bpf_log2l). */
static __always_inline __u32 log2_u64(__u64 v)
{
	__u32 r = 0, shift;
	shift = (v > 0xffffffffULL) << 5; v >>= shift; r |= shift;
	shift = (v > 0xffff) << 4; v >>= shift; r |= shift;
	shift = (v > 0xff) << 3; v >>= shift; r |= shift;
	shift = (v > 0xf) << 2; v >>= shift; r |= shift;
	shift = (v > 0x3) << 1; v >>= shift; r |= shift;
	r |= (v >> 1);
	return r;
}

/* The log2 histogram slot of v among `nslots`, the last one for anything larger. */
static __always_inline __u32 log2_slot(__u64 v, __u32 nslots)
{
	__u32 slot = log2_u64(v);
	return slot >= nslots ? nslots - 1 : slot;
}

/* task_struct::state was renamed __state in 5.14. */
struct task_struct___pre514 {
	long state;
} __attribute__((preserve_access_index));

static __always_inline long task_state(struct task_struct *t)
{
	if (bpf_core_field_exists(t->__state))
		return BPF_CORE_READ(t, __state);
	return BPF_CORE_READ((struct task_struct___pre514 *)t, state);
}

/* the last switch-out of an exiting task: it will never run again, do not track it */
#define TASK_DEAD_STATE 0x80
static __always_inline bool task_dead(struct task_struct *t)
{
	return task_state(t) & TASK_DEAD_STATE;
}

static __always_inline bool thread_allowed(const volatile struct thread_filter *f, struct task_struct *t)
{
	__u32 tgid = BPF_CORE_READ(t, tgid);
	__u32 tid = BPF_CORE_READ(t, pid);
	if (tid == 0)
		return false; /* idle */
	if (f->filter_pid && !bpf_map_lookup_elem(&pid_filter, &tgid))
		return false;
	if (f->filter_tid && !bpf_map_lookup_elem(&tid_filter, &tid))
		return false;
	if (f->user_threads_only || f->kernel_threads_only) {
		bool kthread = BPF_CORE_READ(t, flags) & PF_KTHREAD;
		if (f->user_threads_only && kthread)
			return false;
		if (f->kernel_threads_only && !kthread)
			return false;
	}
	/* like bcc --state: 0 means exactly "running" (preempted), otherwise a bitmask
	 * (nanosleep sleeps in TASK_INTERRUPTIBLE|TASK_FREEZABLE, so 1 must match it) */
	if (f->state == 0 && task_state(t) != 0)
		return false;
	if (f->state > 0 && !(task_state(t) & f->state))
		return false;
	return true;
}

/*
 * handle_switch(ctx, prev, next) of the off-CPU tools (offcputime, offwaketime), for a program that
 * declares `cfg` (with f, user_only, kernel_only, min_block_us, max_block_us), a
 * `struct start_val { __u64 ts; <key> key; }` whose key begins with pid, tid, user_stack_id,
 * kern_stack_id and comm, and the maps start (START_MAP), counts (COUNTS_MAP) and stacks (STACKS_MAP).
 * prev, leaving the CPU and still `current`, is recorded with the time, its ids, comm and stacks, and
 * init_key(&v.key) sets the rest of its key; next, switched in again, has the microseconds it was
 * blocked added to its key in counts. With the CFI walker's deferred user stacks (OFFCPU_DEFER in
 * unwind.bpf.h: offcpu_defer_user, offcpu_pending_add), a thread blocked in a system call has its
 * user stack walked when that call returns, and only if it blocked at least min_block_us.
 */
#define OFFCPU_NO_INIT(key) ((void)(key))
#define OFFCPU_HANDLE_SWITCH(init_key)								\
static __always_inline int handle_switch(void *ctx, struct task_struct *prev, struct task_struct *next) \
{												\
	__u64 now = bpf_ktime_get_ns();								\
	__u32 tid;										\
	struct start_val *sv;									\
												\
	stat_inc(BS_STAT_EVENTS);								\
	if (!task_dead(prev) && thread_allowed(&cfg.f, prev)) {					\
		struct start_val v = {};							\
		v.ts = now;									\
		v.key.pid = BPF_CORE_READ(prev, tgid);						\
		v.key.tid = BPF_CORE_READ(prev, pid);						\
		bpf_get_current_comm(v.key.comm, sizeof(v.key.comm));				\
		if (!offcpu_defer_user(prev, &v))						\
			GET_STACKS(ctx, &stacks, cfg, v.key.user_stack_id, v.key.kern_stack_id, TP_TRACER_FRAMES); \
		else										\
			v.key.kern_stack_id = cfg.user_only ? STACK_NOT_COLLECTED :		\
				get_stack(ctx, &stacks, false, TP_TRACER_FRAMES);		\
		init_key(&v.key);								\
		tid = v.key.tid;								\
		if (bpf_map_update_elem(&start, &tid, &v, BPF_ANY))				\
			stat_inc(BS_STAT_START_FULL);						\
	}											\
												\
	tid = BPF_CORE_READ(next, pid);								\
	sv = bpf_map_lookup_elem(&start, &tid);							\
	if (!sv)										\
		return 0;									\
	if (now > sv->ts) {									\
		__u64 us = (now - sv->ts) / 1000;						\
		if (us >= cfg.min_block_us && us <= cfg.max_block_us) {			\
			if (sv->key.user_stack_id == STACK_DEFERRED)				\
				offcpu_pending_add(tid, sv, us);				\
			else									\
				count_add(DRAINED(counts), &sv->key, us);			\
		}										\
	}											\
	bpf_map_delete_elem(&start, &tid);							\
	return 0;										\
}

/*
 * One tracepoint handler as two programs: <tp>_btf in SEC("tp_btf/<tp>") and its fallback <tp>_raw
 * in SEC("raw_tp/<tp>"); the loader keeps one of the two (tp_btf first, raw_tp when that fails).
 * `call` is the handler call (ctx and the tracepoint arguments are in scope); then the arguments.
 */
#define TP_BTF_AND_RAW(tp, call, ...)				\
	SEC("tp_btf/" #tp)					\
	int BPF_PROG(tp##_btf, __VA_ARGS__) { return call; }	\
	SEC("raw_tp/" #tp)					\
	int BPF_PROG(tp##_raw, __VA_ARGS__) { return call; }

#endif

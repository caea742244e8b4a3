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

/* pid (tgid) and tid filters, filled by the loader after load when the cfg flag is set. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u8);
} pid_filter SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u8);
} tid_filter SEC(".maps");

static __always_inline void stat_inc(int idx)
{
	__u32 zero = 0;
	struct stats_val *s = bpf_map_lookup_elem(&stats, &zero);
	if (s && idx >= 0 && idx < BS_NR_STATS)
		s->v[idx]++; /* this CPU's copy; BPF programs do not migrate while running */
}

/* bpf_get_stackid with its failures counted, never hidden. */
static __always_inline __s32 get_stack(void *ctx, void *map, bool user)
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
	id = bpf_get_stackid(ctx, map, user ? BPF_F_USER_STACK : 0);
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

/* *map[key] += v, creating the entry; a full map is counted in BS_STAT_MAP_FULL. */
static __always_inline void count_add(void *map, void *key, __u64 v)
{
	__u64 *p = bpf_map_lookup_elem(map, key);
	if (!p) {
		__u64 zero = 0;
		long err = bpf_map_update_elem(map, key, &zero, BPF_NOEXIST);
		if (err && err != -EEXIST) {
			stat_inc(BS_STAT_MAP_FULL);
			return;
		}
		p = bpf_map_lookup_elem(map, key);
		if (!p)
			return;
	}
	__sync_fetch_and_add(p, v);
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

#endif

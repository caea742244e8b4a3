// SPDX-License-Identifier: GPL-2.0
/*
 * wakeuptime: who wakes blocked threads, and how long they were blocked.
 * sched_switch records when an allowed thread blocks; at its wake-up the waker's stacks and comm
 * are taken. The wake-up side uses the sched_waking tracepoint (sched_wakeup_new for new tasks):
 * it fires inside try_to_wake_up() in the waker's context, whereas sched_wakeup can fire on the
 * target CPU from the wake list IPI, where `current` is not the waker.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "wakeuptime.h"
#include "bpfscope.bpf.h"

const volatile struct wakeup_cfg cfg = { .f = { .state = -1 }, .min_block_us = 1, .max_block_us = ~0ULL };

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 32768);
	__type(key, __u32);
	__type(value, __u64);
} start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct wakeup_key);
	__type(value, __u64);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 16384);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, MAX_STACK_DEPTH * sizeof(__u64));
} stacks SEC(".maps");

static __always_inline int handle_switch(struct task_struct *prev)
{
	stat_inc(BS_STAT_EVENTS);
	if (!task_dead(prev) && thread_allowed(&cfg.f, prev)) {
		__u32 tid = BPF_CORE_READ(prev, pid);
		__u64 ts = bpf_ktime_get_ns();
		if (bpf_map_update_elem(&start, &tid, &ts, BPF_ANY))
			stat_inc(BS_STAT_START_FULL);
	}
	return 0;
}

static __always_inline int handle_wake(void *ctx, struct task_struct *p)
{
	__u32 tid = BPF_CORE_READ(p, pid);
	__u64 *tsp = bpf_map_lookup_elem(&start, &tid);
	__u64 now, us;
	struct wakeup_key key = {};

	if (!tsp)
		return 0;
	now = bpf_ktime_get_ns();
	us = now > *tsp ? (now - *tsp) / 1000 : 0;
	bpf_map_delete_elem(&start, &tid);
	if (us < cfg.min_block_us || us > cfg.max_block_us)
		return 0;

	__u64 id = bpf_get_current_pid_tgid();
	key.pid = BPF_CORE_READ(p, tgid);
	key.tid = tid;
	key.waker_pid = id >> 32;
	key.waker_tid = (__u32)id;
	bpf_core_read_str(key.comm, sizeof(key.comm), &p->comm);
	bpf_get_current_comm(key.waker_comm, sizeof(key.waker_comm));
	key.waker_user_stack_id = cfg.kernel_only ? STACK_NOT_COLLECTED : get_stack(ctx, &stacks, true);
	key.waker_kern_stack_id = cfg.user_only ? STACK_NOT_COLLECTED : get_stack(ctx, &stacks, false);
	count_add(&counts, &key, us);
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(sched_switch_btf, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	return handle_switch(prev);
}

SEC("tp_btf/sched_waking")
int BPF_PROG(sched_waking_btf, struct task_struct *p)
{
	return handle_wake(ctx, p);
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(sched_wakeup_new_btf, struct task_struct *p)
{
	return handle_wake(ctx, p);
}

SEC("raw_tp/sched_switch")
int BPF_PROG(sched_switch_raw, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	return handle_switch(prev);
}

SEC("raw_tp/sched_waking")
int BPF_PROG(sched_waking_raw, struct task_struct *p)
{
	return handle_wake(ctx, p);
}

SEC("raw_tp/sched_wakeup_new")
int BPF_PROG(sched_wakeup_new_raw, struct task_struct *p)
{
	return handle_wake(ctx, p);
}

char LICENSE[] SEC("license") = "GPL";

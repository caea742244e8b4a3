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
#include "unwind.bpf.h"

const volatile struct wakeup_cfg cfg = { .f = { .state = -1 }, .min_block_us = 1, .max_block_us = ~0ULL };

START_MAP(start, __u64);
COUNTS_MAP(counts, struct wakeup_key);
STACKS_MAP(stacks);

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
	GET_STACKS(ctx, &stacks, cfg, key.waker_user_stack_id, key.waker_kern_stack_id, TP_TRACER_FRAMES);
	count_add(DRAINED(counts), &key, us);
	return 0;
}

TP_BTF_AND_RAW(sched_switch, handle_switch(prev),
	       bool preempt, struct task_struct *prev, struct task_struct *next)
TP_BTF_AND_RAW(sched_waking, handle_wake(ctx, p), struct task_struct *p)
TP_BTF_AND_RAW(sched_wakeup_new, handle_wake(ctx, p), struct task_struct *p)

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: GPL-2.0
/*
 * offwaketime: the blocked thread's stacks plus the waker's stacks and comm.
 * sched_switch (prev): record the blocked thread's stacks and time.
 * sched_waking (waker context, see wakeuptime.bpf.c): record the waker for that thread.
 * sched_switch (next): the thread runs again; add the blocked time to (target, waker).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "offwaketime.h"
#include "bpfscope.bpf.h"
#include "unwind.bpf.h"

const volatile struct offwake_cfg cfg = { .f = { .state = -1 }, .min_block_us = 1, .max_block_us = ~0ULL };

struct start_val {
	__u64 ts;
	__u64 uip, usp;     /* user registers at switch-out (deferred user stacks) */
	struct offwake_key key; /* target half filled at switch-out, waker half at wake-up */
};

START_MAP(start, struct start_val);
COUNTS_MAP(counts, struct offwake_key);
STACKS_MAP(stacks);
OFFCPU_DEFER(struct offwake_key)

/* the waker half says "not seen" until sched_waking fills it in */
static __always_inline void init_waker(struct offwake_key *k)
{
	k->waker_user_stack_id = STACK_NOT_COLLECTED;
	k->waker_kern_stack_id = STACK_NOT_COLLECTED;
}

OFFCPU_HANDLE_SWITCH(init_waker)

static __always_inline int handle_wake(void *ctx, struct task_struct *p)
{
	__u32 tid = BPF_CORE_READ(p, pid);
	struct start_val *sv = bpf_map_lookup_elem(&start, &tid);
	__u64 id;

	if (!sv)
		return 0;
	id = bpf_get_current_pid_tgid();
	sv->key.waker_pid = id >> 32;
	sv->key.waker_tid = (__u32)id;
	bpf_get_current_comm(sv->key.waker_comm, sizeof(sv->key.waker_comm));
	GET_STACKS(ctx, &stacks, cfg, sv->key.waker_user_stack_id, sv->key.waker_kern_stack_id, TP_TRACER_FRAMES);
	return 0;
}

TP_BTF_AND_RAW(sched_switch, handle_switch(ctx, prev, next),
	       bool preempt, struct task_struct *prev, struct task_struct *next)
TP_BTF_AND_RAW(sched_waking, handle_wake(ctx, p), struct task_struct *p)

char LICENSE[] SEC("license") = "GPL";

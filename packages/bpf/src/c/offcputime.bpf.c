// SPDX-License-Identifier: GPL-2.0
/*
 * offcputime: time threads spend blocked, per (pid, tid, comm, user stack, kernel stack).
 * At sched_switch the thread leaving the CPU (prev, still `current`) has its stacks and the time
 * recorded; when it is switched in again (next) the blocked time is added to its key.
 * tp_btf/sched_switch is used when the kernel has BTF; raw_tp/sched_switch is the fallback.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "offcputime.h"
#include "bpfscope.bpf.h"

const volatile struct offcpu_cfg cfg = { .f = { .state = -1 }, .min_block_us = 1, .max_block_us = ~0ULL };

struct start_val {
	__u64 ts;
	struct offcpu_key key;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 32768);
	__type(key, __u32);
	__type(value, struct start_val);
} start SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct offcpu_key);
	__type(value, __u64);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 16384);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, MAX_STACK_DEPTH * sizeof(__u64));
} stacks SEC(".maps");

static __always_inline int handle_switch(void *ctx, struct task_struct *prev, struct task_struct *next)
{
	__u64 now = bpf_ktime_get_ns();
	__u32 tid;
	struct start_val *sv;

	stat_inc(BS_STAT_EVENTS);
	if (!task_dead(prev) && thread_allowed(&cfg.f, prev)) {
		struct start_val v = {};
		v.ts = now;
		v.key.pid = BPF_CORE_READ(prev, tgid);
		v.key.tid = BPF_CORE_READ(prev, pid);
		bpf_get_current_comm(v.key.comm, sizeof(v.key.comm));
		v.key.user_stack_id = cfg.kernel_only ? STACK_NOT_COLLECTED : get_stack(ctx, &stacks, true);
		v.key.kern_stack_id = cfg.user_only ? STACK_NOT_COLLECTED : get_stack(ctx, &stacks, false);
		tid = v.key.tid;
		if (bpf_map_update_elem(&start, &tid, &v, BPF_ANY))
			stat_inc(BS_STAT_START_FULL);
	}

	tid = BPF_CORE_READ(next, pid);
	sv = bpf_map_lookup_elem(&start, &tid);
	if (!sv)
		return 0;
	if (now > sv->ts) {
		__u64 us = (now - sv->ts) / 1000;
		if (us >= cfg.min_block_us && us <= cfg.max_block_us)
			count_add(&counts, &sv->key, us);
	}
	bpf_map_delete_elem(&start, &tid);
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(sched_switch_btf, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	return handle_switch(ctx, prev, next);
}

SEC("raw_tp/sched_switch")
int BPF_PROG(sched_switch_raw, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	return handle_switch(ctx, prev, next);
}

char LICENSE[] SEC("license") = "GPL";

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
#include "unwind.bpf.h"

const volatile struct offcpu_cfg cfg = { .f = { .state = -1 }, .min_block_us = 1, .max_block_us = ~0ULL };

struct start_val {
	__u64 ts;
	__u64 uip, usp;     /* user registers at switch-out (deferred user stacks) */
	struct offcpu_key key;
};

START_MAP(start, struct start_val);
COUNTS_MAP(counts, struct offcpu_key);
STACKS_MAP(stacks);
OFFCPU_DEFER(struct offcpu_key)

OFFCPU_HANDLE_SWITCH(OFFCPU_NO_INIT)

TP_BTF_AND_RAW(sched_switch, handle_switch(ctx, prev, next),
	       bool preempt, struct task_struct *prev, struct task_struct *next)

char LICENSE[] SEC("license") = "GPL";

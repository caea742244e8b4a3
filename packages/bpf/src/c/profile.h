#ifndef PROFILE_H
#define PROFILE_H
#include "bpfscope.h"

struct profile_cfg {
	__u64 bucket_ns;     /* timeline resolution: samples are counted per bucket of this width */
	__u8 filter_pid;
	__u8 filter_tid;
	__u8 user_only;      /* -U: no kernel stacks */
	__u8 kernel_only;    /* -K: no user stacks */
	__u8 include_idle;   /* -I: keep samples of the idle task (tid 0) */
	__u8 unwind;         /* 1: user stacks by the CFI walker (unwind.bpf.h), 0: frame pointers (bpf_get_stackid) */
	__u8 pad[2];
};

struct profile_key {
	__u32 pid;
	__u32 tid;
	__s32 user_stack_id;
	__s32 kern_stack_id;
	__u64 bucket;        /* bpf_ktime_get_ns() / bucket_ns (CLOCK_MONOTONIC) */
	char comm[TASK_COMM_LEN];
};

#endif

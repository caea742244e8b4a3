#ifndef OFFCPUTIME_H
#define OFFCPUTIME_H
#include "bpfscope.h"

struct offcpu_cfg {
	struct thread_filter f;
	__u64 min_block_us;
	__u64 max_block_us;
	__u8 user_only;      /* -U: no kernel stacks */
	__u8 kernel_only;    /* -K: no user stacks */
	__u8 unwind;              /* 1: user stacks by the CFI walker (unwind.bpf.h), 0: frame pointers */
	__u8 defer_user;          /* 1: walk a blocked system call's user stack when it returns (OFFCPU_DEFER) */
	__u8 pad[4];
};

struct offcpu_key {
	__u32 pid;
	__u32 tid;
	__s32 user_stack_id;
	__s32 kern_stack_id;
	char comm[TASK_COMM_LEN];
};
/* value: __u64 microseconds blocked */

#endif

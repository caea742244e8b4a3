#ifndef OFFWAKETIME_H
#define OFFWAKETIME_H
#include "bpfscope.h"

struct offwake_cfg {
	struct thread_filter f;   /* applies to the blocked (target) thread */
	__u64 min_block_us;
	__u64 max_block_us;
	__u8 user_only;
	__u8 kernel_only;
	__u8 unwind;              /* 1: user stacks by the CFI walker (unwind.bpf.h), 0: frame pointers */
	__u8 defer_user;          /* 1: walk a blocked system call's user stack when it returns (OFFCPU_DEFER) */
	__u8 pad[4];
};

struct offwake_key {
	__u32 pid;                /* blocked target */
	__u32 tid;
	__s32 user_stack_id;
	__s32 kern_stack_id;
	char comm[TASK_COMM_LEN];
	__u32 waker_pid;          /* 0 when the wake-up was not seen */
	__u32 waker_tid;
	__s32 waker_user_stack_id;
	__s32 waker_kern_stack_id;
	char waker_comm[TASK_COMM_LEN];
};
/* value: __u64 microseconds blocked */

#endif

#ifndef WAKEUPTIME_H
#define WAKEUPTIME_H
#include "bpfscope.h"

struct wakeup_cfg {
	struct thread_filter f;   /* applies to the blocked (target) thread */
	__u64 min_block_us;
	__u64 max_block_us;
	__u8 user_only;           /* waker user stack only */
	__u8 kernel_only;         /* waker kernel stack only */
	__u8 unwind;              /* 1: user stacks by the CFI walker (unwind.bpf.h), 0: frame pointers */
	__u8 defer_user;          /* unused: waker stacks are taken in the waker's context */
	__u8 pad[4];
};

struct wakeup_key {
	__u32 pid;                /* blocked target */
	__u32 tid;
	__u32 waker_pid;
	__u32 waker_tid;
	__s32 waker_user_stack_id;
	__s32 waker_kern_stack_id;
	char comm[TASK_COMM_LEN];       /* target */
	char waker_comm[TASK_COMM_LEN];
};
/* value: __u64 microseconds the target was blocked */

#endif

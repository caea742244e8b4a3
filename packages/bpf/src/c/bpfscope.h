/* Shared between every bpfscope BPF program and the TypeScript loader (src/tools/layout.ts). */
#ifndef BPFSCOPE_H
#define BPFSCOPE_H

#define TASK_COMM_LEN 16
#define MAX_STACK_DEPTH 127
/* stack id stored in a key when that stack was not asked for (-U / -K). */
#define STACK_NOT_COLLECTED (-10000)
/* BPF-internal: the user stack will be walked when the blocked system call returns (never drained) */
#define STACK_DEFERRED (-10001)

/* Indices of the per-program counters in the `stats` map (one array entry of BS_NR_STATS u64s). */
enum bpfscope_stat {
	BS_STAT_EVENTS = 0,      /* samples / switches / completions seen by the program */
	BS_STAT_USTACK_EFAULT,   /* no user stack (kernel thread, or none available): normal */
	BS_STAT_USTACK_EEXIST,   /* user stack hash collision: stack lost */
	BS_STAT_USTACK_ENOMEM,   /* stack map full */
	BS_STAT_USTACK_OTHER,
	BS_STAT_KSTACK_EFAULT,   /* no kernel stack (sample taken in user mode): normal */
	BS_STAT_KSTACK_EEXIST,
	BS_STAT_KSTACK_ENOMEM,
	BS_STAT_KSTACK_OTHER,
	BS_STAT_MAP_FULL,        /* an aggregation map was full: event dropped */
	BS_STAT_START_FULL,      /* the per-thread / per-request start map was full: event dropped */
	/* CFI unwinding (unwind.bpf.h), one count per stack: */
	BS_STAT_UNWIND_NO_TABLE,    /* some frames had no table (yet): walked by frame pointers */
	BS_STAT_UNWIND_UNSUPPORTED, /* ended at a pc without a usable rule */
	BS_STAT_UNWIND_FAULT,       /* ended on a read fault */
	BS_STAT_UNWIND_TRUNCATED,   /* deeper than MAX_STACK_DEPTH: root part missing */
	BS_STAT_PY_UNSUPPORTED,     /* a stack of a Python process whose version's layout is not known: native frames only */
	BS_STAT_COMPLETION_UNSEEN,  /* biolatency: a request was issued again while its previous issue was still
				     * waiting for a completion the kernel never delivered to the program */
	BS_NR_STATS = 17,
};

/* Common thread filter of the off-CPU tools (part of their cfg structs). */
struct thread_filter {
	__u8 filter_pid;          /* only pids in the pid_filter map */
	__u8 filter_tid;          /* only tids in the tid_filter map */
	__u8 user_threads_only;
	__u8 kernel_threads_only;
	__s32 state;              /* bcc --state: 0 = preempted (running), >0 = bitmask of the blocked thread's state, -1 = any */
};

#endif

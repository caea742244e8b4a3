#ifndef ANYFUNC_H
#define ANYFUNC_H
#include "bpfscope.h"

/* log2 slots of a latency histogram: slot i covers [2^i, 2^(i+1)-1] (slot 0: [0, 1]); the last
 * slot also holds everything longer. 48 slots of nanoseconds reach ~3 days. */
#define ANYFUNC_MAX_SLOTS 48

/* What the programs aggregate (funccount, stackcount, funclatency share one object). */
#define ANYFUNC_MODE_COUNT 0    /* calls per probe */
#define ANYFUNC_MODE_STACKS 1   /* calls per (probe, stacks) */
#define ANYFUNC_MODE_LATENCY 2  /* entry → return durations per probe (or all probes together) */

struct anyfunc_cfg {
	__u8 mode;           /* ANYFUNC_MODE_* */
	__u8 filter_pid;     /* only tgids in pid_filter */
	__u8 user_only;      /* stacks: -U */
	__u8 kernel_only;    /* stacks: -K */
	__u8 per_pid;        /* stacks: pid and comm in the key (needed to symbolize user stacks) */
	__u8 per_func;       /* latency: one histogram per probe (-F); count/stacks always key by probe */
	__u8 unwind;         /* stacks: user stacks by the CFI walker (unwind.bpf.h), else frame pointers */
	__u8 pad;
	__u32 cpu;           /* 0: every CPU, else only CPU (cpu - 1) */
	__u32 probe;         /* fentry/fexit objects (one per function): the probe index */
	__u64 divisor;       /* latency: ns → the unit (1, 1000, 1000000) */
};

/* counts (mode COUNT): key __u32 probe index (the attach cookie) → __u64 calls */

struct anyfunc_stack_key {
	__u32 probe;         /* attach cookie: index of the probe in the loader's list */
	__u32 pid;           /* tgid when per_pid, else 0 */
	__s32 user_stack_id; /* an id of ustacks (cfg.unwind) or of stacks (frame pointers) */
	__s32 kern_stack_id;
	char comm[TASK_COMM_LEN];
};
/* value: __u64 calls */

struct anyfunc_hist {
	__u64 slots[ANYFUNC_MAX_SLOTS];
	__u64 count;         /* durations added */
	__u64 sum;           /* their sum, in the unit */
};
/* hists: key __u32 probe index (0 when not per_func) → struct anyfunc_hist */

#endif

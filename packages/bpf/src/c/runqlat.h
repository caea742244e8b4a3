#ifndef RUNQLAT_H
#define RUNQLAT_H
#include "bpfscope.h"

#define RUNQLAT_MAX_SLOTS 32

#define RUNQLAT_KEY_NONE 0
#define RUNQLAT_KEY_PID 1   /* -P: per process (tgid) */
#define RUNQLAT_KEY_TID 2   /* -L: per thread */

struct runqlat_cfg {
	__u8 filter_pid;     /* only tgids in pid_filter */
	__u8 key;            /* RUNQLAT_KEY_* */
	__u8 milliseconds;   /* -m */
	__u8 pad[5];
};

struct runqlat_hist {
	__u32 slots[RUNQLAT_MAX_SLOTS];
	char comm[TASK_COMM_LEN]; /* the last thread counted under this key */
};
/* hists: key __u32 (tgid, tid or 0) → struct runqlat_hist */

#endif

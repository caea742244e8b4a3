// SPDX-License-Identifier: GPL-2.0
/*
 * runqlat: run-queue latency — the time from a task being made runnable (sched_wakeup,
 * sched_wakeup_new, or preempted while running at sched_switch) to it running (sched_switch in), as
 * log2 histograms in µs or ms, for everything or per process / per thread. tp_btf programs first,
 * raw_tp as fallback (same arguments).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "runqlat.h"
#include "bpfscope.bpf.h"

const volatile struct runqlat_cfg cfg = {};

/* tid → when it became runnable (ns) */
START_MAP(start, __u64);
DRAINED_HASH_MAP(hists, 10240, __u32, struct runqlat_hist);

static __always_inline int enqueue(struct task_struct *p)
{
	__u32 tid = BPF_CORE_READ(p, pid);
	__u32 tgid = BPF_CORE_READ(p, tgid);
	__u64 ts;

	if (!tid)
		return 0;
	if (cfg.filter_pid && !bpf_map_lookup_elem(&pid_filter, &tgid))
		return 0;
	ts = bpf_ktime_get_ns();
	if (bpf_map_update_elem(&start, &tid, &ts, BPF_ANY))
		stat_inc(BS_STAT_START_FULL);
	return 0;
}

static __always_inline int on_switch(bool preempt, struct task_struct *prev, struct task_struct *next)
{
	__u32 tid, key;
	__u64 *tsp, delta;
	__u32 slot;
	struct runqlat_hist *h;

	/* preempted (even while it was setting itself up to sleep: it stays on the run queue) or
	 * still runnable: it waits on the run queue from now */
	if (preempt || task_state(prev) == 0)
		enqueue(prev);

	tid = BPF_CORE_READ(next, pid);
	tsp = bpf_map_lookup_elem(&start, &tid);
	if (!tsp)
		return 0;
	delta = bpf_ktime_get_ns() - *tsp;
	bpf_map_delete_elem(&start, &tid);
	stat_inc(BS_STAT_EVENTS);
	delta /= cfg.milliseconds ? 1000000 : 1000;
	slot = log2_slot(delta, RUNQLAT_MAX_SLOTS);
	key = cfg.key == RUNQLAT_KEY_PID ? BPF_CORE_READ(next, tgid) : cfg.key == RUNQLAT_KEY_TID ? tid : 0;
	void *hm = DRAINED(hists);
	h = bpf_map_lookup_elem(hm, &key);
	if (!h) {
		/* the comm is read once, when the entry is made */
		struct runqlat_hist zero = {};
		if (cfg.key != RUNQLAT_KEY_NONE)
			BPF_CORE_READ_STR_INTO(&zero.comm, next, comm);
		h = lookup_or_init(hm, &key, &zero);
		if (!h)
			return 0;
	}
	__sync_fetch_and_add(&h->slots[slot], 1);
	return 0;
}

TP_BTF_AND_RAW(sched_wakeup, enqueue(p), struct task_struct *p)
TP_BTF_AND_RAW(sched_wakeup_new, enqueue(p), struct task_struct *p)
TP_BTF_AND_RAW(sched_switch, on_switch(preempt, prev, next), bool preempt, struct task_struct *prev, struct task_struct *next)

char LICENSE[] SEC("license") = "GPL";

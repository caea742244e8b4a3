// SPDX-License-Identifier: GPL-2.0
/*
 * anyfunc: the programs behind funccount, stackcount and funclatency. One object, attached by the
 * loader to whatever the pattern matched, each attachment carrying its probe index as the BPF
 * cookie (bpf_get_attach_cookie): kprobe.multi / kretprobe.multi on kernel functions (one link for
 * all of them), uprobe / uretprobe on user functions, raw tracepoints (link with a cookie), and
 * fentry/fexit (one object per kernel function, sharing the maps) where the kernel has no kprobes
 * or for latency. Everything is aggregated here
 * (a count, a stack key, a log2 histogram); user space drains the maps, nothing is sent per event.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "anyfunc.h"
#include "bpfscope.bpf.h"
#include "unwind.bpf.h"

const volatile struct anyfunc_cfg cfg = { .divisor = 1 };

COUNTS_MAP(counts, __u32);
COUNTS_MAP(stack_counts, struct anyfunc_stack_key);
STACKS_MAP(stacks);
DRAINED_HASH_MAP(hists, 4096, __u32, struct anyfunc_hist);
/* pid_tgid → entry time (ns); a recursive call restarts the clock, like bcc's funclatency */
HASH_MAP(start, 32768, __u64, __u64);

static __always_inline bool allowed(__u64 id)
{
	__u32 tgid = id >> 32;
	if (cfg.filter_pid && !bpf_map_lookup_elem(&pid_filter, &tgid))
		return false;
	if (cfg.cpu && bpf_get_smp_processor_id() != cfg.cpu - 1)
		return false;
	return true;
}

/* Frame-pointer user stack at a uprobe: it fires in the user context of a user process, so the
 * kernel-thread check of the shared get_stack (two kernel reads per event) is not needed. */
static __always_inline __s32 get_ustack_fp_uprobe(void *ctx)
{
	long id = bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK);

	if (id >= 0)
		return id;
	if (id == -EFAULT)
		stat_inc(BS_STAT_USTACK_EFAULT);
	else if (id == -EEXIST)
		stat_inc(BS_STAT_USTACK_EEXIST);
	else if (id == -ENOMEM)
		stat_inc(BS_STAT_USTACK_ENOMEM);
	else
		stat_inc(BS_STAT_USTACK_OTHER);
	return id;
}

/* kskip: the tracer's own leaf frames in kernel stacks (TP_TRACER_FRAMES for raw tracepoints);
 * uentry: a uprobe, at the first instruction of a user function */
static __always_inline int on_entry(void *ctx, __u32 probe, __u32 kskip, bool uentry)
{
	__u64 id = bpf_get_current_pid_tgid();

	stat_inc(BS_STAT_EVENTS);
	if (!allowed(id))
		return 0;
	if (cfg.mode == ANYFUNC_MODE_COUNT) {
		count_add(DRAINED(counts), &probe, 1);
	} else if (cfg.mode == ANYFUNC_MODE_STACKS) {
		struct anyfunc_stack_key key = {};
		key.probe = probe;
		if (cfg.per_pid)
			key.pid = id >> 32;
		bpf_get_current_comm(key.comm, sizeof(key.comm));
		/* user stacks: the CFI walker from the task's user registers (the same at a uprobe, a
		 * kprobe in a system call and a tracepoint) when cfg.unwind, else frame pointers */
		key.user_stack_id = cfg.kernel_only ? STACK_NOT_COLLECTED :
			cfg.unwind ? get_ustack_cfi_at(uentry) :
			uentry ? get_ustack_fp_uprobe(ctx) : get_stack(ctx, &stacks, true, 0);
		key.kern_stack_id = cfg.user_only ? STACK_NOT_COLLECTED : get_stack(ctx, &stacks, false, kskip);
		count_add(DRAINED(stack_counts), &key, 1);
	} else {
		__u64 ts = bpf_ktime_get_ns();
		if (bpf_map_update_elem(&start, &id, &ts, BPF_ANY))
			stat_inc(BS_STAT_START_FULL);
	}
	return 0;
}

static __always_inline int on_return(__u32 probe)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u64 *tsp, delta;
	__u32 key, slot;
	struct anyfunc_hist *h, zero = {};

	tsp = bpf_map_lookup_elem(&start, &id);
	if (!tsp)
		return 0;
	delta = bpf_ktime_get_ns() - *tsp;
	bpf_map_delete_elem(&start, &id);
	delta /= cfg.divisor;
	slot = log2_slot(delta, ANYFUNC_MAX_SLOTS);
	key = cfg.per_func ? probe : 0;
	h = lookup_or_init(DRAINED(hists), &key, &zero);
	if (!h)
		return 0;
	__sync_fetch_and_add(&h->slots[slot], 1);
	__sync_fetch_and_add(&h->count, 1);
	__sync_fetch_and_add(&h->sum, delta);
	return 0;
}

SEC("kprobe.multi")
int kmulti_entry(struct pt_regs *ctx) { return on_entry(ctx, bpf_get_attach_cookie(ctx), 0, false); }

SEC("kretprobe.multi")
int kmulti_return(struct pt_regs *ctx) { return on_return(bpf_get_attach_cookie(ctx)); }

/* one kprobe per function, where the kernel has no kprobe.multi (no CONFIG_FPROBE) */
SEC("kprobe")
int kprobe_entry(struct pt_regs *ctx) { return on_entry(ctx, bpf_get_attach_cookie(ctx), 0, false); }

SEC("kretprobe")
int kprobe_return(struct pt_regs *ctx) { return on_return(bpf_get_attach_cookie(ctx)); }

SEC("uprobe")
int uprobe_entry(struct pt_regs *ctx) { return on_entry(ctx, bpf_get_attach_cookie(ctx), 0, true); }

SEC("uretprobe")
int uprobe_return(struct pt_regs *ctx) { return on_return(bpf_get_attach_cookie(ctx)); }

SEC("raw_tp")
int rawtp_entry(struct bpf_raw_tracepoint_args *ctx) { return on_entry(ctx, bpf_get_attach_cookie(ctx), TP_TRACER_FRAMES, false); }

/* kernel functions through BPF trampolines: one object per function (the loader sets the target
 * and cfg.probe before load, and shares the maps of the first one) */
SEC("fentry")
int BPF_PROG(fentry_entry) { return on_entry(ctx, cfg.probe, 0, false); }

SEC("fexit")
int BPF_PROG(fexit_return) { return on_return(cfg.probe); }

char LICENSE[] SEC("license") = "GPL";

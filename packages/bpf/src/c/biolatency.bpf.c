// SPDX-License-Identifier: GPL-2.0
/*
 * biolatency: block request latency as log2 histograms (µs or ms), optionally per disk / per flags.
 * block_rq_insert (-Q) / block_rq_issue record the start time per request (block_rq_requeue forgets
 * it); block_rq_complete adds the latency to the histogram. tp_btf programs first, raw_tp (same arguments on 6.x) as fallback.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "biolatency.h"
#include "bpfscope.bpf.h"

const volatile struct bio_cfg cfg = {};

HASH_MAP(start, 32768, __u64, __u64);
DRAINED_HASH_MAP(hists, 4096, struct bio_key, struct bio_hist);

static __always_inline __u32 norm_flags(__u32 f)
{
	__u32 out = f & BIO_OP_MASK;
#define MAPF(kbit, ours) if (bpf_core_enum_value_exists(enum req_flag_bits, kbit) && \
		(f & (1u << bpf_core_enum_value(enum req_flag_bits, kbit)))) out |= ours;
	MAPF(__REQ_SYNC, BIO_F_SYNC)
	MAPF(__REQ_META, BIO_F_META)
	MAPF(__REQ_PRIO, BIO_F_PRIO)
	MAPF(__REQ_NOMERGE, BIO_F_NOMERGE)
	MAPF(__REQ_IDLE, BIO_F_IDLE)
	MAPF(__REQ_FUA, BIO_F_FUA)
	MAPF(__REQ_PREFLUSH, BIO_F_PREFLUSH)
	MAPF(__REQ_RAHEAD, BIO_F_RAHEAD)
	MAPF(__REQ_BACKGROUND, BIO_F_BACKGROUND)
	MAPF(__REQ_NOWAIT, BIO_F_NOWAIT)
#undef MAPF
	return out;
}

/* before 5.16 (or so) the disk hung off the request itself */
struct request___old {
	struct gendisk *rq_disk;
} __attribute__((preserve_access_index));

static __always_inline struct gendisk *request_disk(struct request *rq)
{
	if (bpf_core_field_exists(((struct request___old *)rq)->rq_disk))
		return BPF_CORE_READ((struct request___old *)rq, rq_disk);
	return BPF_CORE_READ(rq, q, disk);
}

/*
 * A request starts at its issue (with -Q: at its insert; requests dispatched directly, without an
 * insert, start at their issue). Without -Q, finding a start already there when a request is issued
 * means the kernel never delivered the completion of its previous use to block_rq_complete
 * (requeues delete the start first): on a loaded machine the kernel was seen to skip
 * block_rq_complete for whole stretches of completions, for every consumer of the tracepoint at
 * once (perf as well). Such requests are counted (BS_STAT_COMPLETION_UNSEEN, reported as lost
 * events) instead of silently missing from the histogram, and the new start replaces the stale one.
 */
static __always_inline int trace_start(struct request *rq, bool insert)
{
	__u64 key = (__u64)rq;
	__u64 ts = bpf_ktime_get_ns();
	long err;

	if (cfg.queued) {
		/* the insert time wins; an issue after its insert keeps it */
		err = bpf_map_update_elem(&start, &key, &ts, insert ? BPF_ANY : BPF_NOEXIST);
		if (err && err != -EEXIST)
			stat_inc(BS_STAT_START_FULL);
		return 0;
	}
	err = bpf_map_update_elem(&start, &key, &ts, BPF_NOEXIST);
	if (err == -EEXIST) {
		stat_inc(BS_STAT_COMPLETION_UNSEEN);
		err = bpf_map_update_elem(&start, &key, &ts, BPF_ANY);
	}
	if (err)
		stat_inc(BS_STAT_START_FULL);
	return 0;
}

/* a requeued request starts again when it is inserted / issued again */
static __always_inline int trace_requeue(struct request *rq)
{
	__u64 key = (__u64)rq;
	bpf_map_delete_elem(&start, &key);
	return 0;
}

static __always_inline int trace_done(struct request *rq)
{
	__u64 key = (__u64)rq;
	__u64 *tsp = bpf_map_lookup_elem(&start, &key);
	struct bio_key hk = {};
	struct bio_hist *h, zero = {};
	__u64 now, delta;
	__u32 slot;

	if (!tsp)
		return 0;
	now = bpf_ktime_get_ns();
	delta = now > *tsp ? now - *tsp : 0;
	bpf_map_delete_elem(&start, &key);
	stat_inc(BS_STAT_EVENTS);

	delta /= cfg.milliseconds ? 1000000 : 1000;
	slot = log2_slot(delta, BIO_MAX_SLOTS);
	if (cfg.per_disk) {
		struct gendisk *disk = request_disk(rq);
		if (disk)
			hk.dev = ((__u32)BPF_CORE_READ(disk, major) << 20) | (__u32)BPF_CORE_READ(disk, first_minor);
	}
	if (cfg.per_flag)
		hk.flags = norm_flags(BPF_CORE_READ(rq, cmd_flags));

	h = lookup_or_init(DRAINED(hists), &hk, &zero);
	if (!h)
		return 0;
	__sync_fetch_and_add(&h->slots[slot], 1);
	return 0;
}

TP_BTF_AND_RAW(block_rq_insert, trace_start(rq, true), struct request *rq)
TP_BTF_AND_RAW(block_rq_issue, trace_start(rq, false), struct request *rq)
TP_BTF_AND_RAW(block_rq_requeue, trace_requeue(rq), struct request *rq)
TP_BTF_AND_RAW(block_rq_complete, trace_done(rq), struct request *rq, int error, unsigned int nr_bytes)

char LICENSE[] SEC("license") = "GPL";

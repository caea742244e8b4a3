// SPDX-License-Identifier: GPL-2.0
/*
 * profile: sample stacks of every CPU with a perf_event software cpu-clock at F Hz.
 *
 * Time of each sample: counts are keyed by (pid, tid, comm, stacks, time bucket) so the kernel
 * aggregates samples within a bucket (default 10 ms) and user space drains them with one batch
 * operation per interval, with no wake-up per sample. A ring buffer would cost one 40-byte record
 * and a user-space read per sample; with buckets the cost only grows with the number of distinct
 * (stack, 10 ms) pairs, which is never above the number of samples and usually far below on
 * CPU-bound loads (the same stack repeats within a bucket at high F on many CPUs).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "profile.h"
#include "bpfscope.bpf.h"

const volatile struct profile_cfg cfg = { .bucket_ns = 10000000 };

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, struct profile_key);
	__type(value, __u64);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 16384);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, MAX_STACK_DEPTH * sizeof(__u64));
} stacks SEC(".maps");

SEC("perf_event")
int do_sample(struct bpf_perf_event_data *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32, tid = (__u32)id;
	struct profile_key key = {};

	stat_inc(BS_STAT_EVENTS);
	if (!cfg.include_idle && tid == 0)
		return 0;
	if (cfg.filter_pid && !bpf_map_lookup_elem(&pid_filter, &tgid))
		return 0;
	if (cfg.filter_tid && !bpf_map_lookup_elem(&tid_filter, &tid))
		return 0;

	key.pid = tgid;
	key.tid = tid;
	bpf_get_current_comm(key.comm, sizeof(key.comm));
	key.user_stack_id = cfg.kernel_only ? STACK_NOT_COLLECTED : get_stack(ctx, &stacks, true);
	key.kern_stack_id = cfg.user_only ? STACK_NOT_COLLECTED : get_stack(ctx, &stacks, false);
	key.bucket = bpf_ktime_get_ns() / cfg.bucket_ns;
	count_add(&counts, &key, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";

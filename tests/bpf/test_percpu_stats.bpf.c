/* SPDX-License-Identifier: GPL-2.0 */
/*
 * test_percpu_stats: a policy that keeps its statistics in per-CPU maps,
 * for zdedup_test_loader.
 *
 * A policy may count per CPU to avoid atomic adds: cgroup_stats and
 * cgroup_state here have the layouts of include/zdedup.h but are per-CPU
 * hashes, whose lookups return one value per possible CPU.  The loader must
 * size its buffers by map type and sum the CPUs' values; one that reads a
 * single value into a fixed buffer shows one CPU's share, or overflows the
 * buffer on a machine with enough CPUs.  The test writes known per-CPU
 * values and checks the sums; the policy itself merges per memcg.
 */
#include "zdedup.bpf.h"

char _license[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, ZDEDUP_MAX_CGROUPS);
	__type(key, __u64);				/* cgroup id */
	__type(value, struct zdedup_cgroup_stats);
} cgroup_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, ZDEDUP_MAX_CGROUPS);
	__type(key, __u64);				/* cgroup id */
	__type(value, struct zdedup_adaptive_state);
} cgroup_state SEC(".maps");

static const struct zdedup_cgroup_stats zero_stats;

u32 ZDEDUP_OP(percpu_domain, struct cgroup *cgrp)
{
	return ZDEDUP_DOMAIN_MEMCG;
}

void ZDEDUP_OP(percpu_stored, struct cgroup *cgrp, u8 shared)
{
	__u64 cgroup_id = zdedup_cgroup_id(cgrp);
	struct zdedup_cgroup_stats *st;

	st = lookup_or_init(&cgroup_stats, &cgroup_id, &zero_stats);
	if (!st)
		return;
	st->hashed++;			/* this CPU's own copy: no atomics */
	if (shared)
		st->shared++;
}

SEC(".struct_ops.link")
struct zswap_dedup_ops percpu_stats_ops = {
	.domain		= (void *)percpu_domain,
	.stored		= (void *)percpu_stored,
	.name		= "percpu_stats",
};

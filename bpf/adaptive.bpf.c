/* SPDX-License-Identifier: GPL-2.0 */
/*
 * adaptive: hash only where hashing pays.
 *
 * Hashing a page costs a pass over its 4 KiB and an index lookup; for a
 * workload whose pages never repeat (encrypted, compressed or random data)
 * that is pure overhead.  adaptive measures, per cgroup, which share of the
 * pages it lets the kernel hash get merged (the stored() feedback), and
 * turns hashing off for cgroups where that share is too small:
 *
 *   - every cgroup starts on: its pages are hashed in the per-memcg domain,
 *     exactly like the built-in policy;
 *   - each window of window_pages hashed pages is judged when it closes:
 *     fewer than min_hit_ppm per million merged, and the cgroup backs off;
 *   - a cgroup backing off is not hashed for its next backoff_pages pages
 *     (domain() returns 0: the page is compressed and stored as without
 *     dedup), then it is probed again with a fresh window;
 *   - a cgroup whose pages repeat stays on, and is re-judged every window,
 *     so one whose content stops repeating backs off in its next window.
 *
 * With the defaults (256-page windows, 0.25%, 4096-page back-off) a cgroup
 * with unique pages hashes 256 of every 4352 pages, about 6%.  The
 * threshold is low on purpose: it asks whether content repeats at all.
 * Pages that repeat in random order merge only once their first copy is
 * stored, so an index that starts empty sees few hits in its first windows
 * (under 1% in the first window of 16384 pages of which half are copies):
 * with 1/32 adaptive backed off there, never indexed the pages it skipped
 * and kept 30% of the built-in policy's savings; with one hit per window
 * it keeps all of them (make bench, and policy.adaptive_cold_start).  The three
 * tunables are read-only data set at load time (zdedup-loader load
 * adaptive --window N --min-hit-rate PCT --backoff N).
 *
 * Merging stays within each cgroup: adaptive decides whether, not with
 * whom.  The counters are updated with atomic adds but judged without a
 * lock: two CPUs closing windows at once can lose a few counts, which only
 * shifts a judgement by a page or two.  cgroup_state is an LRU map, so
 * cgroups that stop swapping age out; `zdedup-loader status` shows it.
 */
#include "zdedup.bpf.h"

char _license[] SEC("license") = "GPL";

const volatile __u32 window_pages = ZDEDUP_ADAPTIVE_WINDOW;
const volatile __u32 min_hit_ppm = ZDEDUP_ADAPTIVE_MIN_HIT_PPM;
const volatile __u32 backoff_pages = ZDEDUP_ADAPTIVE_BACKOFF;

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, ZDEDUP_MAX_CGROUPS);
	__type(key, __u64);				/* cgroup id */
	__type(value, struct zdedup_adaptive_state);
} cgroup_state SEC(".maps");

static const struct zdedup_adaptive_state zero_state;

u32 ZDEDUP_OP(adaptive_domain, struct cgroup *cgrp)
{
	__u64 cgroup_id = zdedup_cgroup_id(cgrp);
	struct zdedup_adaptive_state *st;

	st = lookup_or_init(&cgroup_state, &cgroup_id, &zero_state);
	if (!st)
		return ZDEDUP_DOMAIN_MEMCG;

	if (*(volatile __s64 *)&st->backoff_left > 0) {
		/* The page that brings it to 0 is the last one skipped. */
		__sync_fetch_and_add(&st->backoff_left, -1);
		__sync_fetch_and_add(&st->skipped, 1);
		return ZDEDUP_DOMAIN_NONE;
	}
	return ZDEDUP_DOMAIN_MEMCG;
}

void ZDEDUP_OP(adaptive_stored, struct cgroup *cgrp, u8 shared)
{
	__u64 cgroup_id = zdedup_cgroup_id(cgrp);
	struct zdedup_adaptive_state *st;
	u64 n, hits;

	st = bpf_map_lookup_elem(&cgroup_state, &cgroup_id);
	if (!st)
		return;		/* aged out of the LRU since domain() */

	__sync_fetch_and_add(&st->hashed, 1);
	if (shared) {
		__sync_fetch_and_add(&st->shared, 1);
		__sync_fetch_and_add(&st->window_shared, 1);
	}
	n = __sync_fetch_and_add(&st->window_hashed, 1) + 1;
	if (n != window_pages)
		return;

	/* Exactly one CPU sees the window's last page: it judges the window. */
	hits = st->window_shared;
	st->window_shared = 0;
	st->window_hashed = 0;
	if (hits * 1000000 < (u64)window_pages * min_hit_ppm) {
		st->backoff_left = backoff_pages;
		__sync_fetch_and_add(&st->backoffs, 1);
	}
}

SEC(".struct_ops.link")
struct zswap_dedup_ops adaptive_ops = {
	.domain		= (void *)adaptive_domain,
	.stored		= (void *)adaptive_stored,
	.name		= "adaptive",
};

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * test_pool_pages: a policy calling zswap's own kfunc,
 * bpf_zswap_pool_pages(), for zdedup_test_policy.
 *
 * Every domain() call records the pool's size in pages into the map
 * pool_pages (pinned by the loader), and the page is merged per memcg as
 * without a policy.  The test compares the last value with debugfs
 * pool_total_size.
 */
#include "zdedup.bpf.h"

char _license[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} pool_pages SEC(".maps");

u64 bpf_zswap_pool_pages(void) __ksym;

u32 ZDEDUP_OP(pool_pages_domain, struct cgroup *cgrp)
{
	__u32 key = 0;
	__u64 *v = bpf_map_lookup_elem(&pool_pages, &key);

	if (v)
		*v = bpf_zswap_pool_pages();
	return ZDEDUP_DOMAIN_MEMCG;
}

SEC(".struct_ops.link")
struct zswap_dedup_ops pool_pages_ops = {
	.domain		= (void *)pool_pages_domain,
	.name		= "pool_pages",
};

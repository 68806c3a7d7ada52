/* SPDX-License-Identifier: GPL-2.0 */
/*
 * test_map_named_info: a policy with a map named like one of
 * zdedup-loader's own pins, for zdedup_test_loader.
 *
 * The loader pins a policy's maps by name in /sys/fs/bpf/zdedup, next to
 * its own "link" and "info" pins.  A map called "info" would collide with
 * the record that tells the loader what it loaded: the loader must refuse
 * the policy before loading it, and leave whatever is attached alone.
 */
#include "zdedup.bpf.h"

char _license[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} info SEC(".maps");

u32 ZDEDUP_OP(named_info_domain, struct cgroup *cgrp)
{
	__u32 zero = 0;
	__u64 *calls = bpf_map_lookup_elem(&info, &zero);

	if (calls)
		__sync_fetch_and_add(calls, 1);
	return ZDEDUP_DOMAIN_MEMCG;
}

SEC(".struct_ops.link")
struct zswap_dedup_ops map_named_info_ops = {
	.domain		= (void *)named_info_domain,
	.name		= "map_named_info",
};

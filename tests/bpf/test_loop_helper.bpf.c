/* SPDX-License-Identifier: GPL-2.0 */
/*
 * test_loop_helper: a policy that runs bpf_loop() for every page, for
 * zdedup_test_policy.
 *
 * A policy runs inside reclaim, under rcu_read_lock(), for every page
 * zswap stores: zswap's verifier ops give it no helper that loops, so the
 * verifier must refuse this object ("program of this type cannot use
 * helper bpf_loop").  With bpf_base_func_proto() it loads, and each call
 * of its domain() op spins up to 8 million iterations.
 */
#include "zdedup.bpf.h"

char _license[] SEC("license") = "GPL";

static int spin(u32 i, void *ctx)
{
	(*(u64 *)ctx)++;
	return 0;
}

u32 ZDEDUP_OP(loop_helper_domain, struct cgroup *cgrp)
{
	u64 n = 0;

	bpf_loop(1 << 23, spin, &n, 0);
	return n ? ZDEDUP_DOMAIN_MEMCG : 0;
}

SEC(".struct_ops.link")
struct zswap_dedup_ops loop_helper_ops = {
	.domain		= (void *)loop_helper_domain,
	.name		= "loop_helper",
};

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * test_invalid_domain: a policy that returns a domain outside the kernel's
 * domain space for every page, for zdedup_test_policy.
 *
 * 0x90000000 is above ZDEDUP_DOMAIN_MAX and is not ZDEDUP_DOMAIN_MEMCG.
 * The kernel must count each such return in debugfs dedup_policy_invalid
 * and treat the page as ZDEDUP_DOMAIN_MEMCG: merged within its memory
 * cgroup only, never across cgroups (which a buggy validation that masks
 * or truncates the value, or uses it as a shared domain, would do).
 */
#include "zdedup.bpf.h"

char _license[] SEC("license") = "GPL";

#define TEST_INVALID_DOMAIN	0x90000000U

u32 ZDEDUP_OP(invalid_domain, struct cgroup *cgrp)
{
	return TEST_INVALID_DOMAIN;
}

SEC(".struct_ops.link")
struct zswap_dedup_ops invalid_domain_ops = {
	.domain		= (void *)invalid_domain,
	.name		= "invalid_domain",
};

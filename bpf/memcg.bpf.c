/* SPDX-License-Identifier: GPL-2.0 */
/*
 * memcg: the kernel's built-in dedup policy, written as a BPF program.
 *
 * Every page is hashed and may be merged with identical pages of its own
 * memory cgroup, never with another cgroup's: ZDEDUP_DOMAIN_MEMCG asks the
 * kernel for exactly the per-memcg domain it uses when no policy is
 * attached.  Attaching it changes nothing but who decides, which makes it
 * the smallest complete policy, the template to start a new one from, and
 * the baseline for measuring what the struct_ops call itself costs
 * (`make bench`: store_bpf_memcg_over_builtin).
 *
 * Isolation by default is deliberate: merging pages across cgroups lets one
 * tenant learn, through fault timing and memory accounting, whether another
 * holds a given page.  Sharing across cgroups is a choice an administrator
 * makes with a policy such as tenant.
 */
#include "zdedup.bpf.h"

char _license[] SEC("license") = "GPL";

u32 ZDEDUP_OP(memcg_domain, struct cgroup *cgrp)
{
	return ZDEDUP_DOMAIN_MEMCG;
}

SEC(".struct_ops.link")
struct zswap_dedup_ops memcg_ops = {
	.domain		= (void *)memcg_domain,
	.name		= "memcg",
};

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * test_write_kernel: a policy that writes to the cgroup the kernel hands
 * it, for zdedup_test_policy.  It compiles (the pointer is not const in C)
 * but the verifier must reject it: zswap_dedup_ops has no
 * btf_struct_access callback, so trusted kernel pointers are read-only
 * ("only read is supported").  A policy may choose, never modify.
 */
#include "zdedup.bpf.h"

char _license[] SEC("license") = "GPL";

u32 ZDEDUP_OP(write_kernel_domain, struct cgroup *cgrp)
{
	cgrp->level = 0;
	return ZDEDUP_DOMAIN_MEMCG;
}

SEC(".struct_ops.link")
struct zswap_dedup_ops write_kernel_ops = {
	.domain		= (void *)write_kernel_domain,
	.name		= "write_kernel",
};

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * test_future_op: a policy built for a kernel whose struct zswap_dedup_ops
 * has an optional op this one lacks, for zdedup_test_policy.
 *
 * The struct is declared here as a later kernel might have it, with an op
 * released() between stored() and name; the ___future flavor keeps it
 * apart from vmlinux.h's, and libbpf matches it to the kernel's struct
 * zswap_dedup_ops by the name before "___".  zdedup-loader must drop
 * released() with a warning and attach the rest; libbpf alone (bpftool)
 * refuses the object.
 */
#include "zdedup.bpf.h"

char _license[] SEC("license") = "GPL";

struct zswap_dedup_ops___future {
	u32 (*domain)(struct cgroup *cgrp);
	void (*stored)(struct cgroup *cgrp, bool shared);
	void (*released)(struct cgroup *cgrp);
	char name[16];
};

u32 ZDEDUP_OP(future_domain, struct cgroup *cgrp)
{
	return ZDEDUP_DOMAIN_MEMCG;
}

void ZDEDUP_OP(future_released, struct cgroup *cgrp)
{
}

SEC(".struct_ops.link")
struct zswap_dedup_ops___future future_op_ops = {
	.domain		= (void *)future_domain,
	.released	= (void *)future_released,
	.name		= "future_op",
};

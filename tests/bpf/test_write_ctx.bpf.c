/* SPDX-License-Identifier: GPL-2.0 */
/*
 * test_write_ctx: a policy that overwrites its own argument in the
 * context (the saved registers the trampoline passes), for
 * zdedup_test_policy.  The verifier must reject it: the context of
 * zswap_dedup_ops programs is read-only ("invalid bpf_context access").
 */
#include "zdedup.bpf.h"

char _license[] SEC("license") = "GPL";

u32 ZDEDUP_OP(write_ctx_domain, struct cgroup *cgrp)
{
	ctx[0] = 1;	/* cgrp, as the caller passed it */
	return ZDEDUP_DOMAIN_MEMCG;
}

SEC(".struct_ops.link")
struct zswap_dedup_ops write_ctx_ops = {
	.domain		= (void *)write_ctx_domain,
	.name		= "write_ctx",
};

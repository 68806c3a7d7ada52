/* SPDX-License-Identifier: GPL-2.0 */
/*
 * test_unrelated_kfunc: a policy calling bpf_task_from_pid(), a kfunc the
 * kernel registers for every struct_ops program, but not one a dedup
 * policy needs, for zdedup_test_policy.
 *
 * zswap's kfunc filter keeps policies to the cgroup kfuncs and its own:
 * the verifier must refuse this object ("calling kernel function
 * bpf_task_from_pid is not allowed").  Without the filter it loads.
 */
#include "zdedup.bpf.h"

char _license[] SEC("license") = "GPL";

struct task_struct *bpf_task_from_pid(s32 pid) __ksym;
void bpf_task_release(struct task_struct *p) __ksym;

u32 ZDEDUP_OP(unrelated_kfunc_domain, struct cgroup *cgrp)
{
	struct task_struct *init = bpf_task_from_pid(1);

	if (init)
		bpf_task_release(init);
	return ZDEDUP_DOMAIN_MEMCG;
}

SEC(".struct_ops.link")
struct zswap_dedup_ops unrelated_kfunc_ops = {
	.domain		= (void *)unrelated_kfunc_domain,
	.name		= "unrelated_kfunc",
};

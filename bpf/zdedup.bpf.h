/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Common includes and helpers of the zdedup BPF policies.
 *
 * A policy implements struct zswap_dedup_ops (in the patched kernel's BTF,
 * hence in vmlinux.h):
 *
 *   u32  domain(struct cgroup *cgrp)                required
 *   void stored(struct cgroup *cgrp, bool shared)    optional
 *   char name[16]
 *
 * domain() runs once per page zswap is about to store, from reclaim, and
 * must be cheap and must not sleep: every nanosecond here is paid per page
 * swapped out.  It returns ZDEDUP_DOMAIN_NONE (do not hash), a policy
 * domain 1..ZDEDUP_DOMAIN_MAX, or ZDEDUP_DOMAIN_MEMCG (include/zdedup.h).
 * stored() reports, for every page that was hashed, whether it was merged
 * with an identical page already in its domain; a policy without it costs
 * the kernel one call per store instead of two.  @cgrp is the page's memory
 * cgroup, trusted and read-only; its id (the map keys below, and what
 * zdedup-loader writes) is cgrp->kn->id: zdedup_cgroup_id().
 *
 * Declare stored()'s bool as u8 in ZDEDUP_OP(): the trampoline saves the
 * whole argument register, whose bits above the bool's byte the x86-64 ABI
 * leaves undefined, and BPF_PROG() would turn all 64 bits into the bool.
 */
#ifndef ZDEDUP_BPF_H
#define ZDEDUP_BPF_H

#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <zdedup.h>

/* An op of struct zswap_dedup_ops: non-sleepable, BTF-typed arguments. */
#define ZDEDUP_OP(name, args...)					\
	SEC("struct_ops/" #name)					\
	BPF_PROG(name, ##args)

/* The id of @cgrp: the kernel's cgroup_id(), the inode number of its directory */
static __always_inline __u64 zdedup_cgroup_id(const struct cgroup *cgrp)
{
	return cgrp->kn->id;
}

/*
 * Look up @key in the LRU hash @map, creating a zeroed entry on first use.
 * Two CPUs may race to create it; BPF_NOEXIST makes one of them win and
 * both then use the same entry.  NULL only when the map cannot take it.
 */
static __always_inline void *lookup_or_init(void *map, const __u64 *key,
					    const void *zero)
{
	void *v = bpf_map_lookup_elem(map, key);

	if (v)
		return v;
	bpf_map_update_elem(map, key, zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(map, key);
}

#endif /* ZDEDUP_BPF_H */

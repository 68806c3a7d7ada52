/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tenant: per-cgroup dedup policy set by the administrator.
 *
 * The map cgroup_policy, keyed by cgroup id, says for each cgroup whether
 * its pages are hashed at all and with whom they may be merged:
 *
 *   off       never hashed: no hashing cost, no sharing, no side channel
 *   private   merged only with identical pages of the same cgroup (the
 *             kernel's per-memcg domain)
 *   group N   merged with identical pages of every cgroup in group N: the
 *             containers of one image or one tenant that trust each other
 *
 * A cgroup without an entry takes its nearest ancestor's, so one entry on
 * /sys/fs/cgroup/tenant-a covers every container below it; with no entry
 * anywhere up to the root a cgroup is private, the kernel's default, so
 * loading tenant with an empty map changes nothing.  `zdedup-loader set`
 * edits the map of the live policy.
 *
 * The walk up the hierarchy goes through the cgroup's ancestors array
 * (cgrp->ancestors[], by level, as scx_flatcg does) with the
 * bpf_cgroup_ancestor() kfunc, nearest first: one reference taken and
 * dropped (a per-CPU counter) and one hash lookup per level, bounded by
 * ZDEDUP_INHERIT_DEPTH.  It reads no kernfs internals (kn->parent is
 * renamed in later kernels); only the ancestor's id, kn->id, which is what
 * cgroup_id() returns.  Most cgroups hit an entry within a level or two.
 *
 * cgroup_stats counts per cgroup the pages hashed, the pages merged and
 * the pages skipped because the cgroup is off, for `zdedup-loader status`.
 * Group numbers are kernel domains; the kernel never merges pages across
 * domains, and verifies every merge byte by byte whatever the policy says.
 */
#include "zdedup.bpf.h"

char _license[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, ZDEDUP_MAX_CGROUPS);
	__type(key, __u64);				/* cgroup id */
	__type(value, struct zdedup_cgroup_policy);
} cgroup_policy SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, ZDEDUP_MAX_CGROUPS);
	__type(key, __u64);				/* cgroup id */
	__type(value, struct zdedup_cgroup_stats);
} cgroup_stats SEC(".maps");

static const struct zdedup_cgroup_stats zero_stats;

struct cgroup *bpf_cgroup_ancestor(struct cgroup *cgrp, int level) __ksym;
void bpf_cgroup_release(struct cgroup *cgrp) __ksym;

/* The entry of @cgrp (@cgroup_id), or of its nearest ancestor with one. */
static struct zdedup_cgroup_policy *find_policy(u64 cgroup_id,
						 struct cgroup *cgrp)
{
	struct zdedup_cgroup_policy *pol;
	int level, i;

	pol = bpf_map_lookup_elem(&cgroup_policy, &cgroup_id);
	if (pol)
		return pol;

	level = cgrp->level;
	for (i = 1; i <= ZDEDUP_INHERIT_DEPTH && i <= level; i++) {
		struct cgroup *anc = bpf_cgroup_ancestor(cgrp, level - i);
		u64 id;

		if (!anc)
			break;
		id = anc->kn->id;
		bpf_cgroup_release(anc);
		pol = bpf_map_lookup_elem(&cgroup_policy, &id);
		if (pol)
			return pol;
	}
	return NULL;
}

u32 ZDEDUP_OP(tenant_domain, struct cgroup *cgrp)
{
	__u64 cgroup_id = zdedup_cgroup_id(cgrp);
	struct zdedup_cgroup_policy *pol = find_policy(cgroup_id, cgrp);
	struct zdedup_cgroup_stats *st;

	if (!pol)
		return ZDEDUP_DOMAIN_MEMCG;

	switch (pol->mode) {
	case ZDEDUP_MODE_OFF:
		st = lookup_or_init(&cgroup_stats, &cgroup_id, &zero_stats);
		if (st)
			__sync_fetch_and_add(&st->skipped, 1);
		return ZDEDUP_DOMAIN_NONE;
	case ZDEDUP_MODE_GROUP:
		/* The loader only writes valid groups; stay safe anyway. */
		if (pol->group >= ZDEDUP_GROUP_MIN && pol->group <= ZDEDUP_GROUP_MAX)
			return pol->group;
		return ZDEDUP_DOMAIN_MEMCG;
	default:	/* ZDEDUP_MODE_PRIVATE, or a mode this build does not know */
		return ZDEDUP_DOMAIN_MEMCG;
	}
}

void ZDEDUP_OP(tenant_stored, struct cgroup *cgrp, u8 shared)
{
	__u64 cgroup_id = zdedup_cgroup_id(cgrp);
	struct zdedup_cgroup_stats *st;

	st = lookup_or_init(&cgroup_stats, &cgroup_id, &zero_stats);
	if (!st)
		return;
	__sync_fetch_and_add(&st->hashed, 1);
	if (shared)
		__sync_fetch_and_add(&st->shared, 1);
}

SEC(".struct_ops.link")
struct zswap_dedup_ops tenant_ops = {
	.domain		= (void *)tenant_domain,
	.stored		= (void *)tenant_stored,
	.name		= "tenant",
};

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * zdedup.h - definitions shared by the BPF dedup policies (bpf/) and
 * zdedup-loader (loader/): the kernel's domain values, the per-cgroup map
 * value layouts, the map names and where the loader pins things.
 *
 * One definition, two compilers: BPF C includes this after vmlinux.h (which
 * provides __u32/__u64), userspace C11 gets them from <linux/types.h>.
 * Every layout here is an ABI between a loaded policy's maps and the loader
 * that reads and edits them: change a layout, change ZDEDUP_ABI_VERSION.
 */
#ifndef ZDEDUP_H
#define ZDEDUP_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define ZDEDUP_ABI_VERSION		1

/*
 * The domain a policy's domain() op returns, mirroring the kernel's
 * enum zswap_dedup_domain_values (spelled out here because an enum the
 * kernel never uses in a variable may be missing from its BTF):
 *
 *   ZDEDUP_DOMAIN_NONE      do not hash this page: it is stored as is
 *   1..ZDEDUP_DOMAIN_MAX    merge only with pages given the same value
 *   ZDEDUP_DOMAIN_MEMCG     the built-in domain: merge within this memcg only
 *
 * Anything else is counted in debugfs dedup_policy_invalid and treated as
 * ZDEDUP_DOMAIN_MEMCG.
 */
#define ZDEDUP_DOMAIN_NONE		0U
#define ZDEDUP_DOMAIN_MAX		0x7fffffffU
#define ZDEDUP_DOMAIN_MEMCG		0x80000000U

/* ------------------------------------------------------------------
 * Per-cgroup policy (tenant): map "cgroup_policy", key = __u64 cgroup id
 * ------------------------------------------------------------------ */

/*
 * Modes, as stored in the map and as spelled on the loader's command line.
 * 0 is deliberately not a mode: a zeroed value is never mistaken for one,
 * and the policy treats any unknown mode as private (isolation first).
 */
enum zdedup_mode {
	ZDEDUP_MODE_OFF		= 1,	/* "off": never hash this cgroup's pages */
	ZDEDUP_MODE_PRIVATE	= 2,	/* "private": merge within this cgroup only */
	ZDEDUP_MODE_GROUP	= 3,	/* "group N": merge across every cgroup in group N */
};

/* Group numbers a user may give; group N is kernel domain N. */
#define ZDEDUP_GROUP_MIN		1
#define ZDEDUP_GROUP_MAX		65535

struct zdedup_cgroup_policy {
	__u32 mode;			/* enum zdedup_mode */
	__u32 group;			/* ZDEDUP_MODE_GROUP: 1..ZDEDUP_GROUP_MAX; else 0 */
};

/*
 * How far up the hierarchy a cgroup without an entry looks for one.
 * cgroup v2 trees deeper than this inherit nothing from above it.
 */
#define ZDEDUP_INHERIT_DEPTH		32

/* Entries in each per-cgroup map (policy, stats, adaptive state). */
#define ZDEDUP_MAX_CGROUPS		8192

/* ------------------------------------------------------------------
 * Per-cgroup figures: map "cgroup_stats" (tenant), key = __u64 cgroup id.
 * Counted by the policy, approximately (atomic adds, no locks); an LRU
 * map, so cgroups that stop storing pages age out.
 * ------------------------------------------------------------------ */
struct zdedup_cgroup_stats {
	__u64 hashed;			/* pages given a domain (stored() calls) */
	__u64 shared;			/* of those, merged with an existing page */
	__u64 skipped;			/* pages the policy told not to hash (mode off) */
};

/* ------------------------------------------------------------------
 * Adaptive policy: map "cgroup_state", key = __u64 cgroup id
 * ------------------------------------------------------------------ */

/* Defaults of the adaptive policy's tunables (loader options). */
#define ZDEDUP_ADAPTIVE_WINDOW		256		/* pages per measurement window */
#define ZDEDUP_ADAPTIVE_MIN_HIT_PPM	2500		/* 0.25%: below this, back off */
#define ZDEDUP_ADAPTIVE_BACKOFF		4096		/* pages not hashed while off */

struct zdedup_adaptive_state {
	__u64 window_hashed;		/* pages hashed in the current window */
	__u64 window_shared;		/* of those, merged */
	__s64 backoff_left;		/* > 0: pages still to skip before probing again */
	__u64 hashed;			/* pages hashed, all time */
	__u64 shared;			/* pages merged, all time */
	__u64 skipped;			/* pages not hashed because of a back-off */
	__u64 backoffs;			/* windows that ended in a back-off */
};

/* ------------------------------------------------------------------
 * Names and pins
 * ------------------------------------------------------------------ */
#define ZDEDUP_MAP_CGROUP_POLICY	"cgroup_policy"
#define ZDEDUP_MAP_CGROUP_STATS		"cgroup_stats"
#define ZDEDUP_MAP_CGROUP_STATE		"cgroup_state"

/* The kernel's struct_ops type, as named in its BTF. */
#define ZDEDUP_OPS_TYPE			"zswap_dedup_ops"
#define ZDEDUP_OPS_VALUE_TYPE		"bpf_struct_ops_zswap_dedup_ops"

#define ZDEDUP_PIN_DIR			"/sys/fs/bpf/zdedup"
#define ZDEDUP_PIN_LINK			ZDEDUP_PIN_DIR "/link"	/* the struct_ops link */
#define ZDEDUP_PIN_INFO			ZDEDUP_PIN_DIR "/info"	/* struct zdedup_info */
/* The policy's own maps are pinned as ZDEDUP_PIN_DIR "/<map name>". */

/*
 * What the loader loaded: the single value of the array map pinned at
 * ZDEDUP_PIN_INFO, written by zdedup-loader (never by a policy), so that
 * later `status`, `set` and `unload` know what is there.
 */
#define ZDEDUP_INFO_MAX_MAPS		8
#define ZDEDUP_INFO_NAME_LEN		64

struct zdedup_info {
	__u32 abi_version;		/* ZDEDUP_ABI_VERSION of the loader that wrote it */
	__u32 nr_maps;			/* entries used in maps[] */
	__u64 loaded_at;		/* CLOCK_REALTIME seconds */
	char policy[16];		/* the ops' .name (what debugfs dedup_policy shows) */
	char source[256];		/* "builtin:NAME" or the .bpf.o path */
	char options[128];		/* policy options, as given */
	char maps[ZDEDUP_INFO_MAX_MAPS][ZDEDUP_INFO_NAME_LEN];	/* pinned map names */
};

#endif /* ZDEDUP_H */

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * status: what it gathers (status_rows.c) and prints (status_print.c).
 */
#ifndef ZDEDUP_STATUS_H
#define ZDEDUP_STATUS_H

#include "zdedup-loader.h"

/* One cgroup: what the policy's maps and memory.stat say about it. */
struct row {
	__u64 id;
	char path[PATH_MAX];
	bool exists;			/* the cgroup exists (path is valid) */
	bool has_pol, inherited;	/* an entry in cgroup_policy, or an ancestor's */
	struct zdedup_cgroup_policy pol;
	bool has_stats;			/* tenant's cgroup_stats */
	struct zdedup_cgroup_stats st;
	bool has_state;			/* adaptive's cgroup_state */
	struct zdedup_adaptive_state as;
	struct memstat ms;		/* memory.stat; ms.ok if read */
};

struct rows {
	struct row *v;
	size_t n, cap;
	bool have_pol_map;		/* the policy has a cgroup_policy map */
	bool have_stats_map, have_state_map;
};

/* A debugfs zswap counter. */
struct counter {
	char name[64];
	unsigned long long val;
};

struct status {
	struct live l;
	char enabled[16];		/* dedup_enabled: Y, N or unknown */
	struct counter c[128];		/* DEBUGFS_ZSWAP's numeric files, sorted */
	size_t nc;
	bool debugfs;			/* DEBUGFS_ZSWAP was readable */
	struct memstat vm;		/* /proc/vmstat */
	struct rows r;
};

/*
 * Per-cgroup rows: every entry of the policy's maps (when @maps: the
 * policy is ours and attached), and every cgroup whose memory.stat shows
 * pages in zswap, with the root first; sorted by path.  Prints (warnings)
 * but never fails: missing figures are left out.
 */
void rows_collect(struct rows *r, bool maps);
void rows_free(struct rows *r);
/* debugfs counters: 0 when DEBUGFS_ZSWAP is not there. */
size_t counters_read(struct counter *c, size_t max);
/* The value of debugfs counter @name in @s; false if absent. */
bool counter_get(const struct status *s, const char *name, unsigned long long *val);

void status_print_text(const struct status *s);
void status_print_json(const struct status *s);
void status_print_prometheus(const struct status *s);

#endif /* ZDEDUP_STATUS_H */

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * estimate: what dedup would save, from the content of the anonymous
 * pages of running processes, on any kernel (no zdedup kernel, no BPF).
 *
 *   cmd_estimate.c    command line, scope, the scan's driving
 *   estimate_scan.c   one process: smaps, pagemap, /proc/PID/mem, hashes
 *   estimate_table.c  the page table of hashes, sampling, grouping by domain
 *   estimate_print.c  text and JSON output
 */
#ifndef ZDEDUP_ESTIMATE_H
#define ZDEDUP_ESTIMATE_H

#include <sys/types.h>
#include "zdedup-loader.h"

#define EST_MAX_GROUPS		64
#define EST_DEFAULT_MAX_PAGES	(1ULL << 20)	/* 4 GiB of 4 KiB pages: 32 MiB */

/* Page counts of one domain (a cgroup, a tenant group, a whole policy). */
struct est_count {
	unsigned long long pages;	/* pages whose content was read */
	unsigned long long zero;	/* of which zero-filled */
	unsigned long long sampled;	/* non-zero pages in the table */
	unsigned long long distinct;	/* distinct contents among those */
};

/* One cgroup with scanned processes (the one each process is in). */
struct est_cgroup {
	char path[PATH_MAX];		/* as status prints it: "/a/b" */
	int group;			/* index in est.groups, -1: none */
	unsigned long procs;		/* processes scanned (fully or in part) */
	unsigned long vanished;		/* exited before or during their scan */
	unsigned long long swapped;	/* pages in swap (not read without --include-swapped) */
	unsigned long long unreadable;	/* pages /proc/PID/mem would not give */
	struct est_count c;		/* duplicates within the cgroup */
};

/* A proposed tenant group (--group A,B): one domain. */
struct est_group {
	char spec[512];			/* as given */
	char members[8][PATH_MAX];	/* resolved cgroup paths */
	int nr_members;
	struct est_count c;
};

/* A table record: a non-zero page's content hash and its cgroup. */
struct est_rec {
	__u64 hash;
	__u32 cg;
};

struct est {
	/* options */
	bool include_swapped;
	unsigned long long max_pages;	/* table capacity */
	double timeout;			/* seconds, 0: none */
	bool progress;			/* print progress on stderr */
	size_t page_size;

	/* what was found */
	struct est_cgroup *cg;
	size_t nr_cg, cap_cg;
	struct est_group groups[EST_MAX_GROUPS];
	int nr_groups;
	unsigned long procs_total;	/* processes to scan */
	unsigned long procs_done;
	unsigned long long shared_mapped; /* further mappings of a page already counted */
	bool pfn_known;			/* pagemap gave PFNs (root) */
	bool pfn_set_full;		/* stopped remembering PFNs (--max-pages) */
	bool timed_out;
	bool partial;
	char partial_why[1024];		/* "; "-separated reasons */
	double start, elapsed;
	double last_progress;
	unsigned long long bytes_read;

	/* the table (estimate_table.c) */
	struct est_rec *recs;
	size_t nr_recs;
	unsigned int shift;		/* keep hashes with @shift low zero bits */
	__u64 *seen;			/* PFNs and swap entries counted (open addressing) */
	size_t seen_cap, nr_seen;

	/* results (est_group_by()) */
	struct est_count memcg, tenant, host;
	unsigned long long swapped_total, unreadable_total;
};

/* ---- estimate_table.c ---- */
int est_table_init(struct est *e);
void est_table_free(struct est *e);
/* Add a non-zero page of cgroup @cg with content hash @hash (sampled). */
void est_table_add(struct est *e, __u64 hash, __u32 cg);
/* Has the physical page (or swap entry) @key been counted?  Marks it. */
bool est_seen(struct est *e, __u64 key);
/* Count distinct contents per cgroup, per tenant domain and host-wide. */
void est_group_by(struct est *e);
/* Duplicate pages of @c (estimated from the sample when sampling). */
unsigned long long est_dups(const struct est *e, const struct est_count *c);

/* ---- estimate_scan.c ---- */
/* Scan process @pid into cgroup @cg: 0, -ESRCH when it exited before or
 * during its scan (partial), -ETIME when the time ran out, other -errno. */
int est_scan_process(struct est *e, pid_t pid, __u32 cg);
/* Seconds since an arbitrary point (CLOCK_MONOTONIC). */
double est_now(void);
/* Record why the result is partial. */
void est_partial(struct est *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* ---- estimate_print.c ---- */
void est_print_text(const struct est *e);
void est_print_json(const struct est *e);

#endif /* ZDEDUP_ESTIMATE_H */

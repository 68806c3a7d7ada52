// SPDX-License-Identifier: GPL-2.0
/*
 * zdedup_bench: what dedup costs and saves in zswap, for workloads with
 * no, half and 90% duplicate pages.
 *
 * Each workload is MiB of text-like pages (zu_fill_page(), compress 2-4x)
 * built from a set of distinct pages: "unique" (every page distinct),
 * "dup50" (half the pages are copies of other pages), "dup90" (one page in
 * ten is distinct), copies scattered at random.  For each workload, in one
 * boot and one memory cgroup, alternating dedup off and on (the machine is
 * noisy; the host takes medians):
 *
 *   off    dedup_enabled=N, the workload stored and loaded back
 *   on     dedup_enabled=Y, the same
 *   ideal  dedup_enabled=N, each distinct page stored once: the pool size
 *          a perfect dedup would reach without any metadata
 *
 * Each run reports the pool growth (pool_total_size delta), store
 * throughput (pages stored per second of MADV_PAGEOUT), load throughput
 * (pages faulted back per second) and the dedup counters; every page is
 * checked after the load.  Once per workload, with dedup on, the metadata
 * cost is measured apart: storing the distinct pages alone gives the
 * metadata per unique object, then storing the workload (every page now
 * a duplicate of a stored object) gives the metadata per shared slot.
 *
 * With -p POLICY (repeatable), every repetition also runs the workload
 * with dedup on under each BPF policy, loaded with zdedup-loader (mode
 * "bpf_POLICY"): the cost of the struct_ops hook against the built-in
 * policy ("on"), measured side by side in the same boot.
 *
 * Output: one "BENCH {json}" line per result, for scripts/bench.sh.
 *
 * usage: zdedup_bench [-m MiB] [-r reps] [-c compressor] [-p policy]...
 *                     [workload...]
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "cgroup/cgroup_util.h"
#include "zswap_util.h"

#define BENCH_CG "/sys/fs/cgroup/zdedup_bench"
#define PAGE ZU_PAGE_SIZE

struct workload {
	const char *name;
	int distinct_pct;	/* distinct pages, percent of all pages */
};

static const struct workload workloads[] = {
	{ "unique", 100 },
	{ "dup50", 50 },
	{ "dup90", 10 },
};

/* One workload in memory: its distinct pages and the page -> ref map. */
struct bench {
	const struct workload *w;
	size_t pages, distinct;
	char *ref;		/* the distinct pages */
	uint32_t *idx;		/* page i of buf is ref page idx[i] */
	char *buf;		/* the workload */
	bool have_dedup;
};

/* zswap counters a run reports. */
struct snap {
	long long stored, pool, hits, entries, shared, saved, meta;
};

static void snap(struct snap *s)
{
	s->stored = zu_debugfs("stored_pages");
	s->pool = zu_debugfs("pool_total_size");
	s->hits = zu_debugfs("dedup_hits");
	s->entries = zu_debugfs("dedup_index_entries");
	s->shared = zu_debugfs("dedup_shared_slots");
	s->saved = zu_debugfs("dedup_saved_bytes");
	s->meta = zu_debugfs("dedup_meta_bytes");
}

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/*
 * Every distinct page once, the remaining pages random copies of them,
 * all shuffled: duplicates are scattered as in a real heap, not in runs.
 */
static void build_idx(uint32_t *idx, size_t pages, size_t distinct)
{
	uint64_t rng = 42;

	for (size_t i = 0; i < pages; i++)
		idx[i] = i < distinct ? i : splitmix(&rng) % distinct;
	for (size_t i = pages - 1; i > 0; i--) {
		size_t j = splitmix(&rng) % (i + 1);
		uint32_t t = idx[i];

		idx[i] = idx[j];
		idx[j] = t;
	}
}

static int set_dedup(const struct bench *b, bool on)
{
	if (!b->have_dedup)
		return on ? -1 : 0;
	return zu_param_write("dedup_enabled", on ? "Y" : "N");
}

/*
 * Store @n pages at @buf with MADV_PAGEOUT, load them back by touching
 * them, check them, and print the result line.
 */
static int run(struct bench *b, const char *mode, int rep, char *buf,
	       const uint32_t *idx, size_t n)
{
	struct snap s0, s1;
	double t0, t_store, t_load;
	size_t corrupt;
	long long stored;
	int ret;

	snap(&s0);
	t0 = zu_now();
	ret = zu_pageout(buf, n * PAGE);
	t_store = zu_now() - t0;
	if (ret) {
		fprintf(stderr, "zdedup_bench: MADV_PAGEOUT: error %d\n", ret);
		return -1;
	}
	snap(&s1);
	t0 = zu_now();
	zu_touch(buf, n);
	t_load = zu_now() - t0;
	corrupt = zu_count_corrupt_ref(buf, b->ref, idx, n);
	stored = s1.stored - s0.stored;

	printf("BENCH {\"type\":\"run\",\"workload\":\"%s\",\"mode\":\"%s\","
	       "\"rep\":%d,\"pages\":%zu,\"distinct\":%zu,\"stored\":%lld,"
	       "\"pool_bytes\":%lld,\"store_s\":%.6f,\"load_s\":%.6f,"
	       "\"store_pps\":%.1f,\"load_pps\":%.1f,\"hits\":%lld,"
	       "\"index_entries\":%lld,\"shared_slots\":%lld,"
	       "\"saved_bytes\":%lld,\"meta_bytes\":%lld,\"corrupt\":%zu}\n",
	       b->w->name, mode, rep, n, b->distinct, stored,
	       s1.pool - s0.pool, t_store, t_load,
	       t_store > 0 ? stored / t_store : 0.0,
	       t_load > 0 ? n / t_load : 0.0,
	       b->have_dedup ? s1.hits - s0.hits : 0,
	       b->have_dedup ? s1.entries - s0.entries : 0,
	       b->have_dedup ? s1.shared - s0.shared : 0,
	       b->have_dedup ? s1.saved - s0.saved : 0,
	       b->have_dedup ? s1.meta - s0.meta : 0, corrupt);
	fflush(stdout);
	return corrupt ? -1 : 0;
}

/*
 * Metadata, dedup on: the distinct pages alone (each a new object), then
 * the whole workload on top (each page a slot sharing one of them).
 */
static int measure_meta(struct bench *b)
{
	struct snap s0, s1, s2;
	size_t corrupt;

	if (set_dedup(b, true))
		return -1;
	snap(&s0);
	if (zu_pageout(b->ref, b->distinct * PAGE))
		return -1;
	snap(&s1);
	if (zu_pageout(b->buf, b->pages * PAGE))
		return -1;
	snap(&s2);
	zu_touch(b->ref, b->distinct);
	corrupt = zu_count_corrupt_ref(b->buf, b->ref, b->idx, b->pages);
	printf("BENCH {\"type\":\"meta\",\"workload\":\"%s\","
	       "\"unique_objects\":%lld,\"meta_unique_bytes\":%lld,"
	       "\"dup_slots\":%lld,\"meta_dup_bytes\":%lld,\"corrupt\":%zu}\n",
	       b->w->name, s1.entries - s0.entries, s1.meta - s0.meta,
	       s2.shared - s1.shared, s2.meta - s1.meta, corrupt);
	fflush(stdout);
	return corrupt ? -1 : 0;
}

#define MAX_POLICIES 4
static const char *policies[MAX_POLICIES];
static int nr_policies;

/* Attach @policy with zdedup-loader (NULL: detach, the built-in policy). */
static int use_policy(const char *policy)
{
	char cmd[128];

	if (!policy)
		return system("zdedup-loader unload >/dev/null 2>&1; "
			      "test \"$(cat /sys/kernel/debug/zswap/dedup_policy)\" = builtin");
	snprintf(cmd, sizeof(cmd),
		 "zdedup-loader unload >/dev/null 2>&1; zdedup-loader load %s >/dev/null",
		 policy);
	if (system(cmd)) {
		fprintf(stderr, "zdedup_bench: cannot load policy %s\n", policy);
		return -1;
	}
	return 0;
}

/* One repetition of the workload under each policy given with -p. */
static int run_policies(struct bench *b, int rep)
{
	char mode[32];

	for (int p = 0; p < nr_policies; p++) {
		snprintf(mode, sizeof(mode), "bpf_%s", policies[p]);
		if (use_policy(policies[p]) || set_dedup(b, true) ||
		    run(b, mode, rep, b->buf, b->idx, b->pages))
			return -1;
	}
	return nr_policies ? use_policy(NULL) : 0;
}

static int bench_workload(const struct workload *w, size_t mib, int reps,
			  bool have_dedup)
{
	struct bench b = { .w = w, .have_dedup = have_dedup };
	int ret = -1;

	b.pages = mib * 256;
	b.distinct = b.pages * w->distinct_pct / 100;
	b.idx = malloc(b.pages * sizeof(*b.idx));
	b.ref = zu_ref_alloc(b.distinct, 0xbe00000000ULL);
	b.buf = zu_map(b.pages);
	if (!b.idx || !b.ref || !b.buf) {
		fprintf(stderr, "zdedup_bench: out of memory\n");
		goto out;
	}
	build_idx(b.idx, b.pages, b.distinct);
	zu_fill_ref(b.buf, b.ref, b.idx, b.pages);

	for (int rep = 0; rep < reps; rep++) {
		/* Alternate which mode goes first. */
		for (int k = 0; k < 2; k++) {
			bool on = (rep + k) & 1;

			if (on && !have_dedup)
				continue;
			if (set_dedup(&b, on) ||
			    run(&b, on ? "on" : "off", rep, b.buf, b.idx, b.pages))
				goto out;
		}
		if (set_dedup(&b, false) ||
		    run(&b, "ideal", rep, b.ref, NULL, b.distinct))
			goto out;
		if (have_dedup && run_policies(&b, rep))
			goto out;
	}
	if (have_dedup && measure_meta(&b))
		goto out;
	ret = 0;
out:
	zu_unmap(b.buf, b.pages);
	zu_unmap(b.ref, b.distinct);
	free(b.idx);
	return ret;
}

static void usage(void)
{
	fprintf(stderr, "usage: zdedup_bench [-m MiB] [-r reps] [-c compressor] "
		"[-p policy]... [unique|dup50|dup90...]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	char enabled[8] = "", comp[64] = "?";
	size_t mib = 64;
	int reps = 5, opt, ret = 0;
	const char *compressor = NULL;
	bool have_dedup = zu_have_dedup();
	struct utsname u;

	while ((opt = getopt(argc, argv, "m:r:c:p:")) != -1) {
		switch (opt) {
		case 'm':
			mib = strtoul(optarg, NULL, 10);
			break;
		case 'r':
			reps = atoi(optarg);
			break;
		case 'c':
			compressor = optarg;
			break;
		case 'p':
			if (nr_policies == MAX_POLICIES)
				usage();
			policies[nr_policies++] = optarg;
			break;
		default:
			usage();
		}
	}
	if (!mib || reps < 1)
		usage();

	if (have_dedup && zu_param_read("dedup_enabled", enabled, sizeof(enabled))) {
		fprintf(stderr, "zdedup_bench: no dedup_enabled parameter\n");
		return 1;
	}
	if (compressor && zu_param_write("compressor", compressor)) {
		fprintf(stderr, "zdedup_bench: compressor %s unavailable\n", compressor);
		return 1;
	}
	zu_param_read("compressor", comp, sizeof(comp));
	/* Own memory cgroup: the built-in policy merges within a memcg. */
	cg_destroy(BENCH_CG);
	if (cg_create(BENCH_CG) || cg_enter_current(BENCH_CG))
		fprintf(stderr, "zdedup_bench: no cgroup %s, running in the "
			"current one\n", BENCH_CG);
	uname(&u);
	printf("BENCH {\"type\":\"info\",\"kernel\":\"%s\",\"compressor\":\"%s\","
	       "\"dedup\":%s,\"mib\":%zu,\"reps\":%d}\n", u.release, comp,
	       have_dedup ? "true" : "false", mib, reps);
	fflush(stdout);

	for (size_t i = 0; i < sizeof(workloads) / sizeof(workloads[0]); i++) {
		bool selected = optind >= argc;

		for (int a = optind; a < argc; a++)
			if (!strcmp(argv[a], workloads[i].name))
				selected = true;
		if (!selected)
			continue;
		fprintf(stderr, "zdedup_bench: %s, %zu MiB, %d reps\n",
			workloads[i].name, mib, reps);
		if (bench_workload(&workloads[i], mib, reps, have_dedup)) {
			fprintf(stderr, "zdedup_bench: %s failed\n", workloads[i].name);
			ret = 1;
		}
	}

	if (have_dedup)
		zu_param_write("dedup_enabled", enabled);
	cg_enter_current("/sys/fs/cgroup");
	cg_destroy(BENCH_CG);
	return ret;
}

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
 * policy ("on"), measured side by side in the same boot.  The timed
 * configurations (off, on, bpf_*) run in forward order in even
 * repetitions and backward in odd ones, so that a drift of the machine
 * weighs on each of them alike.
 *
 * In-kernel time (tests/bench/ktime.c): zswap_store() and zswap_load()
 * are timed per call by BPF fentry/fexit programs attached during each
 * timed run (the "outer" pass, identical for every configuration); each
 * repetition adds runs with dedup on that are not end-to-end
 * measurements: "on_outcome" (stores split by dedup outcome, when the
 * kernel has the zswap_dedup_store tracepoint), "on_floor" (the page
 * hash, compress, decompress and memcmp timed inside those calls) and,
 * for workloads with copies, "on_verify" (the dedup compare alone); in
 * the first POLICY_PASS_REPS repetitions, "bpf_POLICY_policy" (each BPF
 * policy's domain() and stored() calls timed inside the stores) and
 * "off_floor" (dedup off, the compressor timed inside the stores).  Each
 * timed run prints a "kernel" line of medians and means per kind of call.
 *
 * -O runs dedup off only (the runs to compare with a kernel built without
 * dedup), each followed by an "off_floor" run (the compressor's time in
 * this kernel, and the calls' time less it); -S off and on only (the
 * scale runs); -K no in-kernel timing.
 *
 * Output: one "BENCH {json}" line per result, for scripts/bench.sh.
 *
 * usage: zdedup_bench [-m MiB] [-r reps] [-c compressor] [-p policy]...
 *                     [-O|-S] [-K] [workload...]
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "cgroup_util.h"
#include "ktime.h"
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
	const char *comp;	/* the compressor, for the result lines */
	size_t mib;
};

/* The in-kernel timing, NULL when off or unavailable. */
static struct kt *kt;

/* What to run: everything, dedup off only (-O), off and on only (-S). */
static enum { SUITE_FULL, SUITE_OFF, SUITE_SCALE } suite = SUITE_FULL;
static const char *const suite_names[] = { "main", "offonly", "scale" };

/* zswap counters a run reports. */
struct snap {
	long long stored, pool, hits, entries, shared, saved, meta, hashed;
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
	s->hashed = zu_debugfs("dedup_hashed");
}

static int set_dedup(const struct bench *b, bool on)
{
	if (!b->have_dedup)
		return on ? -1 : 0;
	return zu_param_write("dedup_enabled", on ? "Y" : "N");
}

/* Start the in-kernel timing of one run; false if it is not timed. */
static bool timing_begin(int pass)
{
	if (!kt || pass < 0 || !kt_has_pass(kt, pass))
		return false;
	if (kt_begin(kt, pass)) {
		fprintf(stderr, "zdedup_bench: in-kernel timing failed; "
			"continuing without it\n");
		return false;
	}
	return true;
}

static void timing_end(const struct bench *b, const char *mode, int rep)
{
	char ids[192];

	if (kt_end(kt))
		return;
	snprintf(ids, sizeof(ids), "\"compressor\":\"%s\",\"workload\":\"%s\","
		 "\"mib\":%zu,\"mode\":\"%s\",\"rep\":%d", b->comp, b->w->name,
		 b->mib, mode, rep);
	kt_print(kt, ids);
}

/*
 * Store @n pages at @buf with MADV_PAGEOUT, load them back by touching
 * them, check them, and print the result line; with @pass >= 0 (enum
 * kt_pass), time the kernel's calls meanwhile and print them too.
 */
static int run(struct bench *b, const char *mode, int rep, char *buf,
	       const uint32_t *idx, size_t n, int pass)
{
	struct snap s0, s1;
	double t0, t_store, t_load;
	bool timed;
	size_t corrupt;
	long long stored;
	int ret;

	timed = timing_begin(pass);
	snap(&s0);
	t0 = zu_now();
	ret = zu_pageout(buf, n * PAGE);
	t_store = zu_now() - t0;
	if (ret) {
		if (timed)
			kt_end(kt);
		fprintf(stderr, "zdedup_bench: MADV_PAGEOUT: error %d\n", ret);
		return -1;
	}
	snap(&s1);
	t0 = zu_now();
	zu_touch(buf, n);
	t_load = zu_now() - t0;
	if (timed)
		kt_end(kt);
	corrupt = zu_count_corrupt_ref(buf, b->ref, idx, n);
	stored = s1.stored - s0.stored;

	printf("BENCH {\"type\":\"run\",\"compressor\":\"%s\",\"mib\":%zu,"
	       "\"workload\":\"%s\",\"mode\":\"%s\","
	       "\"rep\":%d,\"pages\":%zu,\"distinct\":%zu,\"stored\":%lld,"
	       "\"pool_bytes\":%lld,\"store_s\":%.6f,\"load_s\":%.6f,"
	       "\"store_pps\":%.1f,\"load_pps\":%.1f,\"hits\":%lld,"
	       "\"hashed\":%lld,"
	       "\"index_entries\":%lld,\"shared_slots\":%lld,"
	       "\"saved_bytes\":%lld,\"meta_bytes\":%lld,\"corrupt\":%zu}\n",
	       b->comp, b->mib, b->w->name, mode, rep, n, b->distinct, stored,
	       s1.pool - s0.pool, t_store, t_load,
	       t_store > 0 ? stored / t_store : 0.0,
	       t_load > 0 ? n / t_load : 0.0,
	       b->have_dedup ? s1.hits - s0.hits : 0,
	       b->have_dedup ? s1.hashed - s0.hashed : 0,
	       b->have_dedup ? s1.entries - s0.entries : 0,
	       b->have_dedup ? s1.shared - s0.shared : 0,
	       b->have_dedup ? s1.saved - s0.saved : 0,
	       b->have_dedup ? s1.meta - s0.meta : 0, corrupt);
	fflush(stdout);
	if (timed)
		timing_end(b, mode, rep);
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
/* Repetitions that also time each policy's calls (mode "bpf_P_policy")
 * and, with dedup off, the floors of plain stores ("off_floor") */
#define POLICY_PASS_REPS 3
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

/*
 * Whether repetition @rep also times the floors of plain stores, dedup
 * off ("off_floor"): what a store spends besides compressing, in the same
 * calls.  In every repetition of -O, to compare with a kernel built
 * without dedup (both run the same compressor code, so a difference there
 * is where the code landed, not what zswap does) and on such a kernel; in
 * the first ones of the main suite otherwise.
 */
static bool off_floor_due(const struct bench *b, int rep)
{
	if (suite == SUITE_SCALE || !kt_has_pass(kt, KT_PASS_FLOOR))
		return false;
	return suite == SUITE_OFF || !b->have_dedup || rep < POLICY_PASS_REPS;
}

/* A configuration timed against the others, run by run. */
struct config {
	const char *mode;
	const char *policy;	/* BPF policy, NULL: the built-in one */
	bool on;		/* dedup_enabled */
};

/* Switch to @c: its policy (loaded only when it changes) and dedup. */
static int apply(struct bench *b, const struct config *c, const char **policy)
{
	if (c->policy != *policy) {
		if (use_policy(c->policy))
			return -1;
		*policy = c->policy;
	}
	return set_dedup(b, c->on);
}

static int bench_workload(const struct workload *w, size_t mib, int reps,
			  bool have_dedup, const char *comp)
{
	struct bench b = { .w = w, .have_dedup = have_dedup, .comp = comp, .mib = mib };
	struct config configs[2 + MAX_POLICIES], on = { "on", NULL, true };
	char modes[MAX_POLICIES][32];
	const char *policy = NULL;
	int n = 0, ret = -1;

	configs[n++] = (struct config){ "off", NULL, false };
	if (have_dedup && suite != SUITE_OFF)
		configs[n++] = on;
	for (int p = 0; have_dedup && suite == SUITE_FULL && p < nr_policies; p++) {
		snprintf(modes[p], sizeof(modes[p]), "bpf_%s", policies[p]);
		configs[n++] = (struct config){ modes[p], policies[p], true };
	}

	b.pages = mib * 256;
	b.distinct = b.pages * w->distinct_pct / 100;
	/* duplicates scattered as in a real heap, not in runs */
	b.idx = zu_idx_shuffled(b.pages, b.distinct, 42);
	b.ref = zu_ref_alloc(b.distinct, 0xbe00000000ULL);
	b.buf = zu_map(b.pages);
	if (!b.idx || !b.ref || !b.buf) {
		fprintf(stderr, "zdedup_bench: out of memory\n");
		goto out;
	}
	zu_fill_ref(b.buf, b.ref, b.idx, b.pages);

	for (int rep = 0; rep < reps; rep++) {
		/* ABC... in even repetitions, ...CBA in odd ones. */
		for (int k = 0; k < n; k++) {
			const struct config *c = &configs[rep & 1 ? n - 1 - k : k];

			if (apply(&b, c, &policy) ||
			    run(&b, c->mode, rep, b.buf, b.idx, b.pages, KT_PASS_OUTER))
				goto out;
		}
		if (off_floor_due(&b, rep) &&
		    (set_dedup(&b, false) ||
		     run(&b, "off_floor", rep, b.buf, b.idx, b.pages, KT_PASS_FLOOR)))
			goto out;
		if (suite != SUITE_FULL)
			continue;
		/*
		 * Each BPF policy's own calls, in the first repetitions: the
		 * probes around them would weigh on the timed runs above.
		 */
		for (int p = 0; rep < POLICY_PASS_REPS && p < nr_policies &&
		     kt_has_pass(kt, KT_PASS_POLICY); p++) {
			const struct config *c = &configs[n - nr_policies + p];
			char mode[48];

			snprintf(mode, sizeof(mode), "%s_policy", c->mode);
			if (apply(&b, c, &policy) ||
			    run(&b, mode, rep, b.buf, b.idx, b.pages, KT_PASS_POLICY))
				goto out;
		}
		if (set_dedup(&b, false) ||
		    run(&b, "ideal", rep, b.ref, NULL, b.distinct, -1))
			goto out;
		if (!have_dedup)
			continue;
		/* Dedup on, built-in policy: outcomes, then the floors. */
		if (apply(&b, &on, &policy))
			goto out;
		if (kt_has_pass(kt, KT_PASS_OUTCOME) &&
		    run(&b, "on_outcome", rep, b.buf, b.idx, b.pages, KT_PASS_OUTCOME))
			goto out;
		if (kt_has_pass(kt, KT_PASS_FLOOR) &&
		    run(&b, "on_floor", rep, b.buf, b.idx, b.pages, KT_PASS_FLOOR))
			goto out;
		if (b.distinct < b.pages && kt_has_pass(kt, KT_PASS_VERIFY) &&
		    run(&b, "on_verify", rep, b.buf, b.idx, b.pages, KT_PASS_VERIFY))
			goto out;
	}
	if (policy && use_policy(NULL))
		goto out;
	policy = NULL;
	if (have_dedup && suite == SUITE_FULL && measure_meta(&b))
		goto out;
	ret = 0;
out:
	if (policy)
		use_policy(NULL);
	zu_unmap(b.buf, b.pages);
	zu_unmap(b.ref, b.distinct);
	free(b.idx);
	return ret;
}

static void usage(void)
{
	fprintf(stderr, "usage: zdedup_bench [-m MiB] [-r reps] [-c compressor] "
		"[-p policy]... [-O|-S] [-K] [-l label] [unique|dup50|dup90...]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	char enabled[8] = "", comp[64] = "?", ids[160];
	size_t mib = 64;
	int reps = 5, opt, ret = 0;
	const char *compressor = NULL, *label = "";
	bool have_dedup = zu_have_dedup(), timing = true;
	struct utsname u;

	while ((opt = getopt(argc, argv, "m:r:c:p:OSKl:")) != -1) {
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
		case 'O':
			suite = SUITE_OFF;
			break;
		case 'S':
			suite = SUITE_SCALE;
			break;
		case 'K':
			timing = false;
			break;
		case 'l':
			label = optarg;
			break;
		default:
			usage();
		}
	}
	if (!mib || reps < 1 || strpbrk(label, "\"\\"))
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
	       "\"dedup\":%s,\"mib\":%zu,\"reps\":%d,\"suite\":\"%s\","
	       "\"label\":\"%s\"}\n", u.release, comp,
	       have_dedup ? "true" : "false", mib, reps, suite_names[suite], label);
	fflush(stdout);

	/* Room for every call one run times: a store and a load per page,
	 * and in the floor pass up to six more. */
	if (timing) {
		kt = kt_open(mib * 256 * 10 + 4096);
		kt_print_info(kt);
		if (!kt)
			fprintf(stderr, "zdedup_bench: no in-kernel timing: %s\n", kt_why());
		snprintf(ids, sizeof(ids), "\"compressor\":\"%s\",\"mode\":\"calib\"", comp);
		if (kt && kt_calibrate(kt, 20000, ids))
			fprintf(stderr, "zdedup_bench: probe calibration failed\n");
	}

	for (size_t i = 0; i < sizeof(workloads) / sizeof(workloads[0]); i++) {
		bool selected = optind >= argc;

		for (int a = optind; a < argc; a++)
			if (!strcmp(argv[a], workloads[i].name))
				selected = true;
		if (!selected)
			continue;
		fprintf(stderr, "zdedup_bench: %s, %zu MiB, %d reps, %s\n",
			workloads[i].name, mib, reps, comp);
		if (bench_workload(&workloads[i], mib, reps, have_dedup, comp)) {
			fprintf(stderr, "zdedup_bench: %s failed\n", workloads[i].name);
			ret = 1;
		}
	}

	kt_close(kt);
	if (have_dedup)
		zu_param_write("dedup_enabled", enabled);
	cg_enter_current("/sys/fs/cgroup");
	cg_destroy(BENCH_CG);
	return ret;
}

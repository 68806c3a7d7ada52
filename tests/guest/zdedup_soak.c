// SPDX-License-Identifier: GPL-2.0
/*
 * zdedup_soak: a randomized, concurrent soak of zswap dedup (issue 8).
 *
 * The test suites check one behaviour at a time; this program throws all
 * of them at the kernel at once, for minutes, and checks the two things
 * that must hold whatever happens (design.md, "Invariants"): every page
 * reads back exactly as it was written (1, 2, 3, 7), and when every slot
 * is gone zswap and the memory cgroups are back to zero (4).
 *
 * Workers (forked processes, each in its own memory cgroup
 * /sys/fs/cgroup/soak/tN/wS-C, two or more per tenant tN) own anonymous
 * buffers whose pages are copies of a few reference pages (duplicates
 * within a worker and across workers), near-copies (a reference page with
 * a unique 16-byte stamp: a distinct content that differs from a stored
 * one in 16 bytes), incompressible pages and zero pages.  Each worker
 * knows every page's expected content and picks actions at random: page
 * out a range (MADV_PAGEOUT), read a range back and compare it, rewrite
 * pages (faulting the old content in, or dropping the slots first with
 * MADV_DONTNEED: invalidation), munmap a region and map a new one, and
 * after a random lifetime exit with its pages in zswap.  The main process
 * respawns it, half the time into a fresh cgroup, removing the old one
 * while the other workers still have entries stored; it also migrates
 * live workers to fresh cgroups and removes the old ones under their
 * stored pages.  Memory cgroup ids get recycled.
 *
 * A controller process meanwhile, at random intervals: memory.reclaim on
 * a worker, tenant or the soak cgroup; memory.zswap.max down for a while
 * (writeback) and back; memory.zswap.writeback 0 for a while; swapoff and
 * swapon of the ramdisk swap; a compressor change (lzo, lz4, zstd); zswap
 * off for a while; dedup off for a while; forced hash collisions
 * (dedup_hash_mask 0x3, 0x1, 0xf or 0 for a while); loading, replacing
 * and unloading policies with zdedup-loader (memcg, tenant with the
 * tenants in one group or apart, adaptive).  Where the kernel has fault
 * injection, phases of 2-10 s every 7-30 s inject allocation failures:
 * failslab on zswap's caches (cache-filter: zswap_entry, zswap_dup and
 * the zsmalloc pools' handle and zspage caches; slab_nomerge needed) and
 * fail_page_alloc on the workers' non-blocking allocations (task-filter,
 * make-it-fail: zsmalloc's pages), each phase with a budget ("times").
 *
 * A round trip is a page written, seen out of memory after a page-out
 * (mincore), read back and compared; every read is compared, round trip
 * or not.  /proc/vmstat zswpout/zswpin say how many pages really went
 * through zswap (a store may be rejected, or zswap be off: the page then
 * goes to the swap device, which is just as good a round trip).
 *
 * At the end: the controller restores every setting, each worker pages
 * everything out and verifies every page once more, the workers exit,
 * swapoff brings back what is left, and zswap's counters (stored_pages,
 * stored_objects, dedup_index_entries, dedup_shared_slots,
 * dedup_saved_bytes, pool_total_size, dedup_meta_bytes net of
 * dedup_index_bytes) and every soak cgroup's memory.zswap.current must be
 * 0.  Then a kmemleak scan.  Output: progress lines, a summary, one line
 *
 *   ZDEDUP-SOAK {"round_trips":N,"corrupted":N,...}
 *
 * for the host (scripts/soak.sh), and a TAP block; exit status non-zero
 * on corruption, a crashed worker, a failed swapoff, unbalanced counters
 * or a kmemleak report that mentions zswap.
 *
 * Usage: zdedup_soak [-n ROUND_TRIPS] [-t SECONDS] [-s SEED] [-w WORKERS]
 *                    [-p PAGES] [-l LIFETIME] [-F] [-v] [-X]
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/swap.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kselftest.h"
#include "cgroup_util.h"
#include "zswap_util.h"

#define PAGE ZU_PAGE_SIZE
#define SWAP_DEV "/dev/ram0"
#define CG_ROOT "/sys/fs/cgroup"
#define CG_SOAK CG_ROOT "/soak"
#define LOADER "/opt/zdedup/bin/zdedup-loader"
#define MASK_DEFAULT "0xffffffffffffffff"
#define FAILSLAB "/sys/kernel/debug/failslab"
#define FAILPAGE "/sys/kernel/debug/fail_page_alloc"
#define KMEMLEAK "/sys/kernel/debug/kmemleak"
#define SLAB_SYSFS "/sys/kernel/slab"

#define MAX_WORKERS 8
#define NTENANTS 2
#define NREGIONS 4
#define PROGRESS_S 10.0
#define CTL_STOP_TIMEOUT 300.0	/* a swapoff in progress must finish */
#define FINAL_TIMEOUT 900.0	/* every worker's last verification */
#define SETTLE_S 15.0		/* counters after swapoff (memcg stats: 2 s) */

/* ------------------------------------------------------------------------
 * options
 */
static struct {
	long target;		/* round trips */
	double seconds;		/* time bound of the randomized phase */
	uint64_t seed;
	int workers;
	size_t pages;		/* per worker */
	double lifetime;	/* a worker lives 1/4..1 of this, seconds */
	bool faults;		/* inject allocation failures if possible */
	bool verbose;
	bool selftest;		/* corrupt a page on purpose: the run must fail */
} opt = {
	.target = 200000,
	.seconds = 120,
	.workers = 4,
	.pages = 4096,
	.lifetime = 20,
	.faults = true,
};

static double t_start;

static double elapsed(void)
{
	return zu_now() - t_start;
}

static void __attribute__((format(printf, 1, 2))) say(const char *fmt, ...)
{
	va_list ap;

	printf("soak: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static uint64_t rnd(uint64_t *s, uint64_t n)
{
	return n ? zu_rand(s) % n : 0;
}

/* Uniform in [lo, hi). */
static double rnd_between(uint64_t *s, double lo, double hi)
{
	return lo + (hi - lo) * (double)(zu_rand(s) >> 11) / (double)(1ULL << 53);
}

static void sleep_s(double s)
{
	struct timespec ts = { .tv_sec = (time_t)s,
			       .tv_nsec = (long)((s - (time_t)s) * 1e9) };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* ------------------------------------------------------------------------
 * Page contents.  A content id (cid) names what a page must hold:
 *
 *   cid < NREF        reference page cid: NREF_TEXT text-like pages
 *                     (compress 2-4x), then incompressible ones (zswap
 *                     rejects them: they go to the swap device)
 *   CID_ZERO          a zero page (never reaches zswap: swap's zeromap)
 *   CID_UNIQUE | ...  text reference page cid % NREF_TEXT with a 16-byte
 *                     stamp (the cid and its complement) at a 16-byte
 *                     aligned offset derived from the cid: unique, and a
 *                     near-copy of a page other slots store
 *
 * Every worker builds the same reference pages from the run's seed, so
 * copies in different workers are byte-equal: the tenant policy merges
 * them across cgroups.
 */
#define NREF_TEXT 56
#define NREF 64
#define NHOT 8			/* most copies are of these */
#define CID_ZERO (~0ULL)
#define CID_UNIQUE (1ULL << 63)

static uint64_t ref_seed(uint64_t seed)
{
	uint64_t s = seed ^ 0x5eed5eed5eedULL;

	return zu_rand(&s);
}

/* The NREF reference pages of the run, mlocked: never in zswap. */
static char *ref_build(uint64_t seed)
{
	uint64_t base = ref_seed(seed);
	char *ref = zu_ref_alloc(NREF_TEXT, base);
	char *all = zu_map(NREF);

	if (!ref || !all)
		return NULL;
	memcpy(all, ref, NREF_TEXT * PAGE);
	zu_unmap(ref, NREF_TEXT);
	for (size_t i = NREF_TEXT; i < NREF; i++) {
		uint64_t s = base + i, *p = (uint64_t *)(all + i * PAGE);

		for (size_t j = 0; j < PAGE / sizeof(*p); j++)
			p[j] = zu_rand(&s);
	}
	mlock(all, NREF * PAGE);
	return all;
}

static size_t stamp_off(uint64_t cid)
{
	uint64_t s = cid;

	return (size_t)(zu_rand(&s) % (PAGE / 16)) * 16;
}

static void stamp_bytes(uint64_t cid, uint64_t out[2])
{
	out[0] = cid;
	out[1] = ~cid;
}

static void content_fill(char *p, uint64_t cid, const char *ref)
{
	uint64_t st[2];

	if (cid == CID_ZERO) {
		memset(p, 0, PAGE);
	} else if (cid < NREF) {
		memcpy(p, ref + cid * PAGE, PAGE);
	} else {
		memcpy(p, ref + (cid % NREF_TEXT) * PAGE, PAGE);
		stamp_bytes(cid, st);
		memcpy(p + stamp_off(cid), st, sizeof(st));
	}
}

static bool is_zero(const char *p)
{
	const uint64_t *q = (const uint64_t *)p;

	for (size_t i = 0; i < PAGE / sizeof(*q); i++)
		if (q[i])
			return false;
	return true;
}

static bool content_ok(const char *p, uint64_t cid, const char *ref)
{
	const char *base;
	uint64_t st[2];
	size_t off;

	if (cid == CID_ZERO)
		return is_zero(p);
	if (cid < NREF)
		return !memcmp(p, ref + cid * PAGE, PAGE);
	base = ref + (cid % NREF_TEXT) * PAGE;
	off = stamp_off(cid);
	stamp_bytes(cid, st);
	return !memcmp(p, base, off) && !memcmp(p + off, st, sizeof(st)) &&
	       !memcmp(p + off + 16, base + off + 16, PAGE - off - 16);
}

/*
 * What a corrupted page holds instead, in words: zero, another reference
 * page, another page's unique content (whose stamp names the worker that
 * wrote it), or something else.
 */
static void content_describe(const char *p, const char *ref, char *out, size_t len)
{
	if (is_zero(p)) {
		snprintf(out, len, "a zero page");
		return;
	}
	for (uint64_t r = 0; r < NREF; r++) {
		if (!memcmp(p, ref + r * PAGE, PAGE)) {
			snprintf(out, len, "reference page %llu", (unsigned long long)r);
			return;
		}
	}
	for (uint64_t r = 0; r < NREF_TEXT; r++) {
		const char *b = ref + r * PAGE;
		size_t diff = 0, at = 0;

		for (size_t o = 0; o < PAGE && diff < 2; o += 16)
			if (memcmp(p + o, b + o, 16)) {
				diff++;
				at = o;
			}
		if (diff == 1) {
			uint64_t st[2];

			memcpy(st, p + at, sizeof(st));
			snprintf(out, len, "reference page %llu stamped at %zu with "
				 "%016llx (worker %llu, life %llu, #%llu)",
				 (unsigned long long)r, at, (unsigned long long)st[0],
				 (unsigned long long)((st[0] >> 56) & 0x7f),
				 (unsigned long long)((st[0] >> 32) & 0xffffff),
				 (unsigned long long)(st[0] & 0xffffffff));
			return;
		}
	}
	snprintf(out, len, "unknown content, starting %02x %02x %02x %02x %02x %02x %02x %02x",
		 (unsigned char)p[0], (unsigned char)p[1], (unsigned char)p[2],
		 (unsigned char)p[3], (unsigned char)p[4], (unsigned char)p[5],
		 (unsigned char)p[6], (unsigned char)p[7]);
}

/* ------------------------------------------------------------------------
 * State shared by the main process, the controller and the workers
 */
struct wstats {
	long round_trips;	/* compared after being seen out of memory */
	long compared;		/* every page compared */
	long corrupted;
	long pageouts, paged_out; /* MADV_PAGEOUT calls; pages then not resident */
	long rewrites, invalidated, remaps, lives;
};

struct slot {
	char cg[160];		/* the worker's current cgroup */
	int tenant;
	int cg_seq;		/* cgroups this slot went through */
	int gen;		/* lives */
	pid_t pid;
	int final_done;		/* verified every page at the end */
	struct wstats st;
};

enum ctl_op {
	OP_RECLAIM, OP_ZSWAP_MAX, OP_WRITEBACK, OP_SWAPOFF, OP_COMPRESSOR,
	OP_ENABLED, OP_DEDUP, OP_MASK, OP_POLICY, OP_FAULTS, OP_NR
};

static const char *const op_names[OP_NR] = {
	"reclaim", "zswap_max", "writeback", "swapoff", "compressor",
	"zswap_off", "dedup_off", "collisions", "policy", "faults",
};

struct ctl_stats {
	long ops[OP_NR];
	long errors[OP_NR];
	long swapoff_failed;
	double swapoff_max_s;
	long injected_slab, injected_page;
	int fault_phases;
	bool have_faults, have_slab_filter, have_loader;
	int faults_on;		/* a fault injection phase is running */
	char policy[32];
};

#define RING 32

struct shared {
	int stop_ctl;		/* controller: restore everything and exit */
	int ending;		/* workers: no more exits of old age */
	int final;		/* workers: verify everything and exit */
	struct slot slot[MAX_WORKERS];
	struct ctl_stats ctl;
	long migrations, cg_removed, cg_removed_charged;
	/* the controller's last actions, shown next to a corruption */
	unsigned int ring_pos;
	struct { double t; char what[72]; } ring[RING];
};

static struct shared *sh;

static void __attribute__((format(printf, 1, 2))) ring_note(const char *fmt, ...)
{
	unsigned int i = __atomic_fetch_add(&sh->ring_pos, 1, __ATOMIC_RELAXED) % RING;
	va_list ap;

	sh->ring[i].t = elapsed();
	va_start(ap, fmt);
	vsnprintf(sh->ring[i].what, sizeof(sh->ring[i].what), fmt, ap);
	va_end(ap);
}

static void ring_dump(void)
{
	unsigned int end = __atomic_load_n(&sh->ring_pos, __ATOMIC_RELAXED);

	say("the controller's last actions%s", end ? ":" : ": none yet");
	for (unsigned int i = end > RING ? end - RING : 0; i < end; i++)
		say("  %7.2f s  %s", sh->ring[i % RING].t, sh->ring[i % RING].what);
}

#define STAT_ADD(field, n) __atomic_add_fetch(&(field), (n), __ATOMIC_RELAXED)

static long total_round_trips(void)
{
	long n = 0;

	for (int i = 0; i < opt.workers; i++)
		n += __atomic_load_n(&sh->slot[i].st.round_trips, __ATOMIC_RELAXED);
	return n;
}

/* ------------------------------------------------------------------------
 * Kernel counters: event counters (reported as deltas over the run) and
 * the gauges that must be back at zero at the end.
 */
struct kcounter {
	const char *name;
	bool vmstat;		/* /proc/vmstat, else debugfs zswap/ */
};

static const struct kcounter events[] = {
	{ "zswpout", true }, { "zswpin", true }, { "zswpwb", true },
	{ "pswpout", true }, { "pswpin", true }, { "zswpout_dedup", true },
	{ "dedup_hashed", false }, { "dedup_hits", false },
	{ "dedup_collisions", false }, { "dedup_fallbacks", false },
	{ "written_back_pages", false }, { "reject_kmemcache_fail", false },
	{ "reject_alloc_fail", false }, { "reject_compress_poor", false },
	{ "reject_compress_fail", false }, { "reject_reclaim_fail", false },
	{ "pool_limit_hit", false },
};
#define NEVENTS ARRAY_SIZE(events)

static void events_read(long long *v)
{
	for (size_t i = 0; i < NEVENTS; i++)
		v[i] = events[i].vmstat ? zu_vmstat(events[i].name)
					: zu_debugfs(events[i].name);
}

static long long event_delta(const long long *a, const long long *b, const char *name)
{
	for (size_t i = 0; i < NEVENTS; i++)
		if (!strcmp(events[i].name, name))
			return a[i] < 0 || b[i] < 0 ? -1 : b[i] - a[i];
	return -1;
}

static const char *const gauges[] = {
	"stored_pages", "stored_objects", "dedup_index_entries",
	"dedup_shared_slots", "dedup_saved_bytes", "pool_total_size",
};
#define NGAUGES ARRAY_SIZE(gauges)

/* ------------------------------------------------------------------------
 * Fault injection (controller): failslab on zswap's caches, and
 * fail_page_alloc on the workers' non-blocking allocations.  The kernel
 * does not count injected faults; "times" is a budget that counts down,
 * so each phase sets it and reads back what is left.
 */
#define FAULT_TIMES 1000

static int fi_write(const char *dir, const char *name, const char *v)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return zu_write_file(path, v);
}

static long fi_read(const char *dir, const char *name)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return (long)zu_read_ll(path);
}

static bool faults_available(void)
{
	return !access(FAILSLAB "/probability", W_OK) &&
	       !access(FAILPAGE "/probability", W_OK);
}

/*
 * Flag (or unflag) zswap's slab caches for failslab's cache-filter: its
 * entries and dup records, and the handle and zspage caches of zswap's
 * zsmalloc pools (one pair per pool: new pools come with compressor
 * changes).  Needs slab_nomerge: a merged cache refuses the flag.
 * Returns the number of caches flagged.
 */
static int slab_filter(bool on)
{
	DIR *d = opendir(SLAB_SYSFS);
	struct dirent *de;
	int n = 0;

	while (d && (de = readdir(d))) {
		char path[300];

		if (strcmp(de->d_name, "zswap_entry") && strcmp(de->d_name, "zswap_dup") &&
		    strncmp(de->d_name, "zs_handle-zswap", 15) &&
		    strncmp(de->d_name, "zspage-zswap", 12))
			continue;
		snprintf(path, sizeof(path), SLAB_SYSFS "/%s/failslab", de->d_name);
		if (!zu_write_file(path, on ? "1" : "0"))
			n++;
	}
	if (d)
		closedir(d);
	return n;
}

static void faults_start(uint64_t *rng)
{
	char prob[16], times[16];

	snprintf(times, sizeof(times), "%d", FAULT_TIMES);
	/* failslab: every task, only zswap's caches, sleeping allocations too */
	fi_write(FAILSLAB, "probability", "0");
	fi_write(FAILSLAB, "verbose", "0");
	fi_write(FAILSLAB, "interval", "1");
	fi_write(FAILSLAB, "task-filter", "N");
	fi_write(FAILSLAB, "cache-filter", "Y");
	fi_write(FAILSLAB, "ignore-gfp-wait", "N");
	fi_write(FAILSLAB, "times", times);
	sh->ctl.have_slab_filter = slab_filter(true) > 0;
	/*
	 * fail_page_alloc: only the workers (task-filter, make-it-fail), only
	 * allocations that cannot sleep (zsmalloc's, which ask for highmem
	 * and movable pages: ignore-gfp-highmem N), order 0 too.
	 */
	fi_write(FAILPAGE, "probability", "0");
	fi_write(FAILPAGE, "verbose", "0");
	fi_write(FAILPAGE, "interval", "1");
	fi_write(FAILPAGE, "task-filter", "Y");
	fi_write(FAILPAGE, "ignore-gfp-wait", "Y");
	fi_write(FAILPAGE, "ignore-gfp-highmem", "N");
	fi_write(FAILPAGE, "min-order", "0");
	fi_write(FAILPAGE, "times", times);
	if (sh->ctl.have_slab_filter) {
		snprintf(prob, sizeof(prob), "%d", 5 + (int)rnd(rng, 20));
		fi_write(FAILSLAB, "probability", prob);
	}
	snprintf(prob, sizeof(prob), "%d", 5 + (int)rnd(rng, 30));
	fi_write(FAILPAGE, "probability", prob);
	sh->ctl.fault_phases++;
	sh->ctl.faults_on = 1;
}

static void faults_stop(void)
{
	long left;

	if (!sh->ctl.faults_on)
		return;
	fi_write(FAILSLAB, "probability", "0");
	fi_write(FAILPAGE, "probability", "0");
	left = fi_read(FAILSLAB, "times");
	if (left >= 0 && left <= FAULT_TIMES)
		STAT_ADD(sh->ctl.injected_slab, FAULT_TIMES - left);
	left = fi_read(FAILPAGE, "times");
	if (left >= 0 && left <= FAULT_TIMES)
		STAT_ADD(sh->ctl.injected_page, FAULT_TIMES - left);
	fi_write(FAILSLAB, "times", "0");
	fi_write(FAILPAGE, "times", "0");
	slab_filter(false);
	sh->ctl.faults_on = 0;
}

/* ------------------------------------------------------------------------
 * Workers
 */
struct region {
	char *buf;
	size_t n;
	uint64_t *cid;		/* expected content of each page */
	unsigned char *out;	/* seen out of memory since last written or read */
};

struct worker {
	int slot;
	uint64_t rng;
	const char *ref;
	uint64_t next_unique;
	struct wstats *st;
	struct region reg[NREGIONS];
	unsigned char *vec;	/* mincore() */
	size_t vec_len;
	int reported;		/* corruptions printed */
};

static uint64_t worker_cid(struct worker *w)
{
	uint64_t r = rnd(&w->rng, 100);

	if (r < 4)
		return NREF_TEXT + rnd(&w->rng, NREF - NREF_TEXT);
	if (r < 8)
		return CID_ZERO;
	if (r < 60)
		return rnd(&w->rng, 100) < 70 ? rnd(&w->rng, NHOT) : rnd(&w->rng, NREF_TEXT);
	return w->next_unique++;
}

static void fill_range(struct worker *w, struct region *g, size_t a, size_t len)
{
	for (size_t i = a; i < a + len; i++) {
		g->cid[i] = worker_cid(w);
		content_fill(g->buf + i * PAGE, g->cid[i], w->ref);
		g->out[i] = 0;
	}
}

static void *map_locked(size_t bytes)
{
	void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	mlock(p, bytes);
	return p;
}

static void region_free(struct region *g)
{
	if (g->buf) {
		munmap(g->buf, g->n * PAGE);
		munmap(g->cid, g->n * sizeof(*g->cid));
		munmap(g->out, g->n);
	}
	memset(g, 0, sizeof(*g));
}

static int region_new(struct worker *w, struct region *g)
{
	/* 1/8 to 3/8 of the worker's pages: opt.pages on average */
	size_t n = opt.pages / 8 + rnd(&w->rng, opt.pages / 4 + 1);

	g->n = n ? n : 1;
	g->buf = zu_map(g->n);
	/* Expected contents are the test's truth: never swapped. */
	g->cid = map_locked(g->n * sizeof(*g->cid));
	g->out = map_locked(g->n);
	if (!g->buf || !g->cid || !g->out)
		return -1;
	fill_range(w, g, 0, g->n);
	return 0;
}

static void pick_range(struct worker *w, struct region *g, size_t *a, size_t *len)
{
	size_t max;

	if (rnd(&w->rng, 100) < 30) {
		*a = 0;
		*len = g->n;
		return;
	}
	*a = rnd(&w->rng, g->n);
	max = g->n - *a;
	if (max > 1024)
		max = 1024;
	*len = 1 + rnd(&w->rng, max);
}

static void report_corrupt(struct worker *w, struct region *g, size_t i)
{
	static char expect[PAGE];
	const char *p = g->buf + i * PAGE;
	size_t diff = 0, first = PAGE;
	char what[160];

	if (w->reported++ >= 10)
		return;
	content_fill(expect, g->cid[i], w->ref);
	for (size_t o = 0; o < PAGE; o++) {
		if (p[o] != expect[o]) {
			diff++;
			if (first == PAGE)
				first = o;
		}
	}
	content_describe(p, w->ref, what, sizeof(what));
	say("CORRUPTED page: worker %d (pid %d, cgroup %s), region %td page %zu "
	    "of %zu, expected content %016llx, %s; %zu bytes differ, the first at "
	    "offset %zu; the page holds %s",
	    w->slot, getpid(), sh->slot[w->slot].cg, g - w->reg, i, g->n,
	    (unsigned long long)g->cid[i],
	    g->out[i] ? "read back after a page-out" : "read while resident",
	    diff, first, what);
	if (w->reported == 1)
		ring_dump();
}

/* Compare pages [a, a+len) with what they must hold. */
static void verify_range(struct worker *w, struct region *g, size_t a, size_t len)
{
	long rt = 0, bad = 0;

	for (size_t i = a; i < a + len; i++) {
		if (!content_ok(g->buf + i * PAGE, g->cid[i], w->ref)) {
			bad++;
			report_corrupt(w, g, i);
			/* Count it once: give the page new content. */
			g->cid[i] = worker_cid(w);
			content_fill(g->buf + i * PAGE, g->cid[i], w->ref);
		}
		rt += g->out[i];
		g->out[i] = 0;
	}
	STAT_ADD(w->st->compared, (long)len);
	STAT_ADD(w->st->round_trips, rt);
	if (bad)
		STAT_ADD(w->st->corrupted, bad);
}

/* MADV_PAGEOUT [a, a+len), then note which pages really left memory. */
static void pageout_range(struct worker *w, struct region *g, size_t a, size_t len)
{
	long out = 0;

	zu_pageout(g->buf + a * PAGE, len * PAGE);
	STAT_ADD(w->st->pageouts, 1);
	if (len > w->vec_len)
		return;
	if (mincore(g->buf + a * PAGE, len * PAGE, w->vec))
		return;
	for (size_t i = 0; i < len; i++) {
		if (!(w->vec[i] & 1) && !g->out[a + i]) {
			g->out[a + i] = 1;
			out++;
		}
	}
	STAT_ADD(w->st->paged_out, out);
}

enum { ACT_CYCLE, ACT_PAGEOUT, ACT_VERIFY, ACT_REWRITE, ACT_DISCARD,
       ACT_REMAP, ACT_NAP, ACT_NR };
static const int act_weight[ACT_NR] = { 25, 20, 20, 15, 6, 2, 2 };

static int pick(uint64_t *rng, const int *weight, int n)
{
	int sum = 0, r;

	for (int i = 0; i < n; i++)
		sum += weight[i];
	r = (int)rnd(rng, sum);
	for (int i = 0; i < n; i++) {
		if (r < weight[i])
			return i;
		r -= weight[i];
	}
	return n - 1;
}

static void worker_act(struct worker *w)
{
	struct region *g = &w->reg[rnd(&w->rng, NREGIONS)];
	size_t a, len;

	pick_range(w, g, &a, &len);
	switch (pick(&w->rng, act_weight, ACT_NR)) {
	case ACT_CYCLE:
		pageout_range(w, g, a, len);
		verify_range(w, g, a, len);
		break;
	case ACT_PAGEOUT:
		pageout_range(w, g, a, len);
		break;
	case ACT_VERIFY:
		verify_range(w, g, a, len);
		break;
	case ACT_REWRITE:
		/* Check the old content first, or fault it in unchecked. */
		if (rnd(&w->rng, 2))
			verify_range(w, g, a, len);
		fill_range(w, g, a, len);
		STAT_ADD(w->st->rewrites, (long)len);
		break;
	case ACT_DISCARD:
		/* Drop the slots without loading them: zswap_invalidate(). */
		madvise(g->buf + a * PAGE, len * PAGE, MADV_DONTNEED);
		fill_range(w, g, a, len);
		STAT_ADD(w->st->invalidated, (long)len);
		break;
	case ACT_REMAP:
		region_free(g);
		if (region_new(w, g))
			_exit(CHILD_NOMEM);
		if (rnd(&w->rng, 2))
			pageout_range(w, g, 0, g->n);
		STAT_ADD(w->st->remaps, 1);
		break;
	case ACT_NAP:
		usleep(1000 + rnd(&w->rng, 10000));
		break;
	}
}

static struct worker_arg {
	int slot;
	uint64_t seed;
} worker_arg;

static int worker_main(void *arg)
{
	const struct worker_arg *wa = arg;
	struct slot *s = &sh->slot[wa->slot];
	struct worker w = { .slot = wa->slot };
	double die_at;

	/* fail_page_alloc's task-filter: only the workers' allocations fail. */
	zu_write_file("/proc/self/make-it-fail", "1");
	w.rng = wa->seed;
	w.st = &s->st;
	w.next_unique = CID_UNIQUE | (uint64_t)wa->slot << 56 |
			(uint64_t)(s->gen & 0xffffff) << 32;
	w.ref = ref_build(opt.seed);
	w.vec_len = opt.pages;
	w.vec = map_locked(w.vec_len);
	if (!w.ref || !w.vec)
		return CHILD_NOMEM;
	for (int i = 0; i < NREGIONS; i++)
		if (region_new(&w, &w.reg[i]))
			return CHILD_NOMEM;
	STAT_ADD(w.st->lives, 1);

	if (opt.selftest && wa->slot == 0 && s->gen == 1) {
		/* Behind the checker's back: the first verification must see it. */
		pageout_range(&w, &w.reg[0], 0, w.reg[0].n);
		w.reg[0].buf[7] ^= 0x20;
		say("self-test: worker 0 changed a byte of its page 0 on purpose");
		verify_range(&w, &w.reg[0], 0, 1);
	}
	die_at = zu_now() + rnd_between(&w.rng, opt.lifetime / 4, opt.lifetime);
	while (!__atomic_load_n(&sh->final, __ATOMIC_ACQUIRE)) {
		worker_act(&w);
		if (zu_now() > die_at && !__atomic_load_n(&sh->ending, __ATOMIC_ACQUIRE)) {
			/* Exit with pages in zswap: exit_mmap frees the slots. */
			if (rnd(&w.rng, 2))
				for (int i = 0; i < NREGIONS; i++)
					pageout_range(&w, &w.reg[i], 0, w.reg[i].n);
			return w.reported ? CHILD_CORRUPT : CHILD_OK;
		}
	}

	/* The end: every page out once more, and every page checked. */
	for (int i = 0; i < NREGIONS; i++) {
		pageout_range(&w, &w.reg[i], 0, w.reg[i].n);
		verify_range(&w, &w.reg[i], 0, w.reg[i].n);
	}
	s->final_done = 1;
	return w.reported ? CHILD_CORRUPT : CHILD_OK;
}

/* ------------------------------------------------------------------------
 * The controller
 */

/* Run the loader with @args; its output is shown when it fails. */
static int loader(const char *fmt, ...)
{
	char args[256], out[2048], *argv[8];
	int p[2], status, argc = 0;
	size_t got = 0;
	va_list ap;
	ssize_t r;
	pid_t pid;

	va_start(ap, fmt);
	vsnprintf(args, sizeof(args), fmt, ap);
	va_end(ap);
	argv[argc++] = LOADER;
	for (char *tok = strtok(args, " "); tok && argc < 7; tok = strtok(NULL, " "))
		argv[argc++] = tok;
	argv[argc] = NULL;
	if (pipe(p))
		return -1;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		dup2(p[1], 2);
		close(p[0]);
		execv(LOADER, argv);
		_exit(127);
	}
	close(p[1]);
	while (pid > 0 && got < sizeof(out) - 1 &&
	       (r = read(p[0], out + got, sizeof(out) - 1 - got)) > 0)
		got += r;
	out[got] = '\0';
	close(p[0]);
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	if (WIFEXITED(status) && !WEXITSTATUS(status))
		return 0;
	for (char *l = strtok(out, "\n"); l; l = strtok(NULL, "\n"))
		say("ctl: zdedup-loader: %s", l);
	return -1;
}

static void policy_name(char *buf, size_t len)
{
	if (zu_debugfs_read_str("dedup_policy", buf, len))
		snprintf(buf, len, "?");
}

/* Settings the controller changes for a while, then puts back. */
enum { T_ZSWAP_MAX, T_WRITEBACK, T_ENABLED, T_DEDUP, T_MASK, T_FAULTS };

struct timed {
	bool on;
	int kind;
	char path[160];		/* the cgroup, for the memcg settings */
	double until;
};

#define NTIMED 24

struct ctl {
	uint64_t rng;
	struct timed t[NTIMED];
	char comp_orig[32], enabled_orig[8], dedup_orig[8];
	bool have_mask, have_dedup;
	bool loaded;
	double next_swapoff;
	double next_faults;	/* the next fault injection phase */
};

static int cg_set(const char *cg, const char *file, const char *v)
{
	char path[256];

	snprintf(path, sizeof(path), "%s/%s", cg, file);
	return zu_write_file(path, v);
}

static void timed_undo(struct ctl *c, struct timed *t)
{
	switch (t->kind) {
	case T_ZSWAP_MAX:
		cg_set(t->path, "memory.zswap.max", "max");
		break;
	case T_WRITEBACK:
		cg_set(t->path, "memory.zswap.writeback", "1");
		break;
	case T_ENABLED:
		zu_param_write("enabled", "Y");
		break;
	case T_DEDUP:
		zu_param_write("dedup_enabled", c->dedup_orig);
		break;
	case T_MASK:
		zu_debugfs_write_str("dedup_hash_mask", MASK_DEFAULT);
		break;
	case T_FAULTS:
		faults_stop();
		break;
	}
	ring_note("undo %s %s", t->kind == T_ZSWAP_MAX ? "zswap.max" :
		  t->kind == T_WRITEBACK ? "zswap.writeback=0" :
		  t->kind == T_ENABLED ? "zswap off" : t->kind == T_DEDUP ? "dedup off" :
		  t->kind == T_MASK ? "hash mask" : "faults", t->path);
	t->on = false;
}

/* Is @kind (on @path) already changed?  Else a free slot for it, or NULL. */
static struct timed *timed_get(struct ctl *c, int kind, const char *path)
{
	struct timed *free_t = NULL;

	for (int i = 0; i < NTIMED; i++) {
		struct timed *t = &c->t[i];

		if (t->on && t->kind == kind && !strcmp(t->path, path))
			return NULL;
		if (!t->on && !free_t)
			free_t = t;
	}
	return free_t;
}

static void timed_set(struct timed *t, int kind, const char *path, double dur)
{
	t->on = true;
	t->kind = kind;
	snprintf(t->path, sizeof(t->path), "%s", path);
	t->until = zu_now() + dur;
}

/* A cgroup to act on: a worker's (mostly), a tenant, or the soak root. */
static void pick_cg(struct ctl *c, char *buf, size_t len)
{
	uint64_t r = rnd(&c->rng, 10);

	if (r < 7)
		snprintf(buf, len, "%s", sh->slot[rnd(&c->rng, opt.workers)].cg);
	else if (r < 9)
		snprintf(buf, len, CG_SOAK "/t%d", (int)rnd(&c->rng, NTENANTS));
	else
		snprintf(buf, len, CG_SOAK);
}

static int do_swapoff(struct ctl *c)
{
	double t0 = zu_now(), dt;
	int err = 0, discard;

	if (swapoff(SWAP_DEV)) {
		err = errno;
		say("ctl: swapoff " SWAP_DEV " FAILED: %s", strerror(err));
		STAT_ADD(sh->ctl.swapoff_failed, 1);
		return -1;
	}
	dt = zu_now() - t0;
	if (dt > sh->ctl.swapoff_max_s)
		sh->ctl.swapoff_max_s = dt;
	ring_note("swapoff (%.1f s)", dt);
	if (opt.verbose)
		say("ctl: swapoff took %.1f s", dt);
	sleep_s(rnd_between(&c->rng, 0.05, 0.5));
	/*
	 * Half of the time with discard: freed swap clusters are discarded,
	 * which also gives the ramdisk its pages back.
	 */
	discard = rnd(&c->rng, 2) ? SWAP_FLAG_DISCARD : 0;
	if (swapon(SWAP_DEV, discard)) {
		say("ctl: swapon " SWAP_DEV " failed: %s", strerror(errno));
		return -1;
	}
	ring_note("swapon%s", discard ? " (discard)" : "");
	return 0;
}

static int do_policy(struct ctl *c)
{
	static const char *const names[] = { "memcg", "tenant", "adaptive" };
	const char *name = names[rnd(&c->rng, 3)];
	int ret;

	if (c->loaded && rnd(&c->rng, 3) == 0) {
		ret = loader("unload");
		c->loaded = ret != 0;
		ring_note("policy unload: %d", ret);
	} else {
		ret = loader("load %s%s", name, c->loaded ? " --replace" : "");
		if (!ret)
			c->loaded = true;
		if (!ret && !strcmp(name, "tenant")) {
			/* t0 in group 7; t1 with it, apart, private or off */
			static const char *const t1[] = {
				"group 7", "group 8", "private", "off",
			};
			const char *how = t1[rnd(&c->rng, 4)];

			ret |= loader("set " CG_SOAK "/t0 group 7");
			ret |= loader("set " CG_SOAK "/t1 %s", how);
			ring_note("policy tenant (t1: %s): %d", how, ret);
		} else {
			ring_note("policy %s%s: %d", name, c->loaded ? " (replace)" : "", ret);
		}
	}
	policy_name(sh->ctl.policy, sizeof(sh->ctl.policy));
	if (opt.verbose)
		say("ctl: policy now %s", sh->ctl.policy);
	return ret;
}

static int ctl_op(struct ctl *c, int op)
{
	static const char *const comps[] = { "lzo", "lz4", "zstd" };
	char cg[160], v[32];
	struct timed *t;
	int ret = 0;

	switch (op) {
	case OP_RECLAIM:
		pick_cg(c, cg, sizeof(cg));
		snprintf(v, sizeof(v), "%dK", 256 * (1 + (int)rnd(&c->rng, 32)));
		/* EAGAIN when less could be reclaimed: not an error */
		cg_set(cg, "memory.reclaim", v);
		ring_note("reclaim %s %s", cg + strlen(CG_SOAK), v);
		break;
	case OP_ZSWAP_MAX:
		pick_cg(c, cg, sizeof(cg));
		t = timed_get(c, T_ZSWAP_MAX, cg);
		if (!t)
			return 0;
		snprintf(v, sizeof(v), "%llu", (unsigned long long)rnd(&c->rng, 4 << 20));
		ret = cg_set(cg, "memory.zswap.max", v);
		if (!ret)
			timed_set(t, T_ZSWAP_MAX, cg, rnd_between(&c->rng, 0.5, 4));
		ring_note("zswap.max %s %s", cg + strlen(CG_SOAK), v);
		break;
	case OP_WRITEBACK:
		pick_cg(c, cg, sizeof(cg));
		t = timed_get(c, T_WRITEBACK, cg);
		if (!t)
			return 0;
		ret = cg_set(cg, "memory.zswap.writeback", "0");
		if (!ret)
			timed_set(t, T_WRITEBACK, cg, rnd_between(&c->rng, 0.5, 5));
		ring_note("zswap.writeback=0 %s", cg + strlen(CG_SOAK));
		break;
	case OP_SWAPOFF:
		if (zu_now() < c->next_swapoff)
			return 0;
		ret = do_swapoff(c);
		c->next_swapoff = zu_now() + rnd_between(&c->rng, 5, 20);
		break;
	case OP_COMPRESSOR: {
		const char *comp = comps[rnd(&c->rng, 3)];

		ret = zu_param_write("compressor", comp);
		ring_note("compressor %s: %d", comp, ret);
		break;
	}
	case OP_ENABLED:
		t = timed_get(c, T_ENABLED, "");
		if (!t)
			return 0;
		ret = zu_param_write("enabled", "N");
		if (!ret)
			timed_set(t, T_ENABLED, "", rnd_between(&c->rng, 0.3, 3));
		ring_note("zswap off");
		break;
	case OP_DEDUP:
		t = timed_get(c, T_DEDUP, "");
		if (!t || !c->have_dedup)
			return 0;
		ret = zu_param_write("dedup_enabled", "N");
		if (!ret)
			timed_set(t, T_DEDUP, "", rnd_between(&c->rng, 0.3, 3));
		ring_note("dedup off");
		break;
	case OP_MASK: {
		static const char *const masks[] = { "0x3", "0x1", "0xf", "0x0" };
		const char *m = masks[rnd(&c->rng, 4)];

		t = timed_get(c, T_MASK, "");
		if (!t || !c->have_mask)
			return 0;
		ret = zu_debugfs_write_str("dedup_hash_mask", m);
		if (!ret)
			timed_set(t, T_MASK, "", rnd_between(&c->rng, 0.5, 5));
		ring_note("dedup_hash_mask %s", m);
		break;
	}
	case OP_POLICY:
		if (!sh->ctl.have_loader)
			return 0;
		ret = do_policy(c);
		break;
	case OP_FAULTS:
		t = timed_get(c, T_FAULTS, "");
		if (!t || !sh->ctl.have_faults)
			return 0;
		faults_start(&c->rng);
		timed_set(t, T_FAULTS, "", rnd_between(&c->rng, 2, 10));
		c->next_faults = t->until + rnd_between(&c->rng, 5, 20);
		ring_note("faults on");
		break;
	}
	STAT_ADD(sh->ctl.ops[op], 1);
	if (ret)
		STAT_ADD(sh->ctl.errors[op], 1);
	return ret;
}

static const int op_weight[OP_NR] = {
	[OP_RECLAIM] = 30, [OP_ZSWAP_MAX] = 10, [OP_WRITEBACK] = 6,
	[OP_SWAPOFF] = 3, [OP_COMPRESSOR] = 4, [OP_ENABLED] = 3,
	[OP_DEDUP] = 4, [OP_MASK] = 4, [OP_POLICY] = 5,
	[OP_FAULTS] = 0,	/* on a schedule: see ctl_main() */
};

/* Put back everything the controller changed. */
static void ctl_restore(struct ctl *c)
{
	for (int i = 0; i < NTIMED; i++)
		if (c->t[i].on)
			timed_undo(c, &c->t[i]);
	if (sh->ctl.have_faults)
		faults_stop();
	if (!zu_swap_active(SWAP_DEV) && swapon(SWAP_DEV, 0))
		say("ctl: swapon " SWAP_DEV " failed: %s", strerror(errno));
	if (c->loaded && loader("unload"))
		say("ctl: could not unload the policy");
	zu_param_write("compressor", c->comp_orig);
	zu_param_write("enabled", c->enabled_orig);
	if (c->have_dedup)
		zu_param_write("dedup_enabled", c->dedup_orig);
	if (c->have_mask)
		zu_debugfs_write_str("dedup_hash_mask", MASK_DEFAULT);
	policy_name(sh->ctl.policy, sizeof(sh->ctl.policy));
}

static int ctl_main(void *arg)
{
	struct ctl c = { .rng = *(uint64_t *)arg };
	char buf[32];

	zu_param_read("compressor", c.comp_orig, sizeof(c.comp_orig));
	zu_param_read("enabled", c.enabled_orig, sizeof(c.enabled_orig));
	c.have_dedup = !zu_param_read("dedup_enabled", c.dedup_orig, sizeof(c.dedup_orig));
	c.have_mask = !zu_debugfs_read_str("dedup_hash_mask", buf, sizeof(buf));
	c.next_swapoff = zu_now() + 3;
	c.next_faults = zu_now() + rnd_between(&c.rng, 3, 8);
	c.loaded = false;

	while (!__atomic_load_n(&sh->stop_ctl, __ATOMIC_ACQUIRE)) {
		double now = zu_now();

		for (int i = 0; i < NTIMED; i++)
			if (c.t[i].on && now >= c.t[i].until)
				timed_undo(&c, &c.t[i]);
		/*
		 * Fault injection phases of 2-10 s every 7-30 s (a third of
		 * the run or so), starting early: even a short soak has some.
		 */
		if (sh->ctl.have_faults && !sh->ctl.faults_on && now >= c.next_faults)
			ctl_op(&c, OP_FAULTS);
		ctl_op(&c, pick(&c.rng, op_weight, OP_NR));
		usleep(20000 + rnd(&c.rng, 180000));
	}
	ctl_restore(&c);
	return 0;
}

/* ------------------------------------------------------------------------
 * The main process: cgroups, spawning and respawning workers
 */
static int slot_cg_new(int slot)
{
	struct slot *s = &sh->slot[slot];
	char path[160];

	snprintf(path, sizeof(path), CG_SOAK "/t%d/w%d-%d", s->tenant, slot, ++s->cg_seq);
	if (cg_create(path))
		return -1;
	snprintf(s->cg, sizeof(s->cg), "%s", path);
	return 0;
}

/*
 * Remove a cgroup the slot left: its memory.zswap.current is what other
 * cgroups' slots and objects still charge to it at that moment.
 */
static void cg_remove_old(const char *old)
{
	long cur = cg_read_long(old, "memory.zswap.current");

	if (cg_destroy(old)) {
		say("could not remove %s: %s", old, strerror(errno));
		return;
	}
	sh->cg_removed++;
	if (cur > 0)
		sh->cg_removed_charged++;
}

static uint64_t run_rng;

static int spawn_worker(int slot)
{
	struct slot *s = &sh->slot[slot];

	s->gen++;
	worker_arg.slot = slot;
	worker_arg.seed = zu_rand(&run_rng);
	s->pid = zu_spawn(s->cg, worker_main, &worker_arg);
	if (s->pid < 0) {
		say("fork: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* Move a live worker to a fresh cgroup and remove the old one under it. */
static void migrate_worker(int slot)
{
	struct slot *s = &sh->slot[slot];
	char old[160];

	if (s->pid <= 0)
		return;
	snprintf(old, sizeof(old), "%s", s->cg);
	if (slot_cg_new(slot))
		return;
	if (cg_enter(s->cg, s->pid)) {
		cg_destroy(s->cg);
		snprintf(s->cg, sizeof(s->cg), "%s", old);
		return;
	}
	sh->migrations++;
	cg_remove_old(old);
}

struct outcome {
	long oom_kills, crashes, worker_errors, hung;
	bool ctl_hung;
};

/* A worker ended with @status: respawn it unless the run is over. */
static void worker_ended(int slot, int status, struct outcome *o, bool respawn)
{
	struct slot *s = &sh->slot[slot];

	s->pid = 0;
	if (WIFSIGNALED(status)) {
		if (WTERMSIG(status) == SIGKILL) {
			o->oom_kills++;
			say("worker %d was killed (OOM killer?)", slot);
		} else {
			o->crashes++;
			say("worker %d CRASHED: signal %d (%s)", slot, WTERMSIG(status),
			    strsignal(WTERMSIG(status)));
		}
	} else if (WIFEXITED(status) && WEXITSTATUS(status) != CHILD_OK &&
		   WEXITSTATUS(status) != CHILD_CORRUPT) {
		o->worker_errors++;
		say("worker %d exited with status %d", slot, WEXITSTATUS(status));
	}
	/* A worker that did its final verification is done for good. */
	if (!respawn || s->final_done)
		return;
	if (rnd(&run_rng, 2)) {
		char old[160];

		snprintf(old, sizeof(old), "%s", s->cg);
		if (!slot_cg_new(slot))
			cg_remove_old(old);
	}
	spawn_worker(slot);
}

static int slot_of(pid_t pid)
{
	for (int i = 0; i < opt.workers; i++)
		if (sh->slot[i].pid == pid)
			return i;
	return -1;
}

static long long mem_available_mib(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[128];
	long long kb = -1024;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "MemAvailable: %lld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb / 1024;
}

static void progress(const long long *ev0, double t_last, long rt_last)
{
	long long ev[NEVENTS];
	long rt = total_round_trips(), bad = 0, lives = 0;
	char pol[32];

	for (int i = 0; i < opt.workers; i++) {
		bad += sh->slot[i].st.corrupted;
		lives += sh->slot[i].st.lives;
	}
	events_read(ev);
	policy_name(pol, sizeof(pol));
	say("%4.0f s: %ld round trips (%.0f/s), %ld corrupted; zswpout %+lld zswpin %+lld "
	    "hits %+lld; stored %lld; policy %s%s; %ld lives, %ld cgroups removed; "
	    "%lld MiB available", elapsed(), rt, (rt - rt_last) / (elapsed() - t_last), bad,
	    event_delta(ev0, ev, "zswpout"), event_delta(ev0, ev, "zswpin"),
	    event_delta(ev0, ev, "dedup_hits"), zu_debugfs("stored_pages"), pol,
	    sh->ctl.faults_on ? ", faults on" : "", lives, sh->cg_removed,
	    mem_available_mib());
}

/*
 * Reap the children that exited: workers (respawned if @respawn) and the
 * controller.  Returns the controller's pid, or 0 once it was reaped.
 */
static pid_t reap(pid_t ctl_pid, struct outcome *o, bool respawn)
{
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		int slot = slot_of(pid);

		if (slot >= 0) {
			worker_ended(slot, status, o, respawn);
		} else if (pid == ctl_pid) {
			if (!__atomic_load_n(&sh->stop_ctl, __ATOMIC_ACQUIRE) ||
			    !WIFEXITED(status) || WEXITSTATUS(status)) {
				say("the controller ended early or badly (status 0x%x)", status);
				o->ctl_hung = true;
			}
			ctl_pid = 0;
		}
	}
	return ctl_pid;
}

static bool workers_alive(void)
{
	for (int i = 0; i < opt.workers; i++)
		if (sh->slot[i].pid > 0)
			return true;
	return false;
}

/*
 * The randomized phase: until the target number of round trips or the
 * time bound, respawning and migrating workers.  Then the workers stop
 * dying of old age, the controller puts every setting back, and every
 * worker verifies all its pages once more and exits.
 */
static void run(pid_t ctl_pid, const long long *ev0, struct outcome *o)
{
	double t_prog = elapsed(), next_migrate = zu_now() + 5, deadline;
	long rt_prog = 0;

	while (total_round_trips() < opt.target && elapsed() < opt.seconds) {
		ctl_pid = reap(ctl_pid, o, true);
		if (zu_now() > next_migrate) {
			migrate_worker((int)rnd(&run_rng, opt.workers));
			next_migrate = zu_now() + rnd_between(&run_rng, 3, 15);
		}
		if (elapsed() - t_prog >= PROGRESS_S) {
			progress(ev0, t_prog, rt_prog);
			t_prog = elapsed();
			rt_prog = total_round_trips();
		}
		usleep(50000);
	}
	say("%.0f s: randomized phase over (%ld round trips); stopping the controller",
	    elapsed(), total_round_trips());

	__atomic_store_n(&sh->ending, 1, __ATOMIC_RELEASE);
	__atomic_store_n(&sh->stop_ctl, 1, __ATOMIC_RELEASE);
	deadline = zu_now() + CTL_STOP_TIMEOUT;
	while (ctl_pid > 0 && zu_now() < deadline) {
		ctl_pid = reap(ctl_pid, o, true);
		usleep(50000);
	}
	if (ctl_pid > 0) {
		say("the controller did not stop within %.0f s", CTL_STOP_TIMEOUT);
		o->ctl_hung = true;
		kill(ctl_pid, SIGKILL);
		waitpid(ctl_pid, NULL, 0);
	}
	if (!zu_swap_active(SWAP_DEV) && swapon(SWAP_DEV, 0))
		say("swapon " SWAP_DEV " failed: %s", strerror(errno));

	say("%.0f s: final verification: every worker pages out and checks every page",
	    elapsed());
	__atomic_store_n(&sh->final, 1, __ATOMIC_RELEASE);
	deadline = zu_now() + FINAL_TIMEOUT;
	/*
	 * A worker may have decided to die of old age just before "ending"
	 * was set and exited since: respawn it, and the new one does the
	 * final verification at once.  Workers that did it are not respawned.
	 */
	while (workers_alive() && zu_now() < deadline) {
		reap(0, o, true);
		usleep(50000);
	}
	for (int i = 0; i < opt.workers; i++) {
		pid_t pid = sh->slot[i].pid;

		if (pid <= 0)
			continue;
		say("worker %d did not finish its final verification in %.0f s", i,
		    FINAL_TIMEOUT);
		o->hung++;
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		sh->slot[i].pid = 0;
	}
}

/* ------------------------------------------------------------------------
 * The end: zswap back to zero, kmemleak
 */
struct balance {
	long long g[NGAUGES];
	long long meta, index_bytes;
	long cg_current;	/* sum of the soak cgroups' memory.zswap.current */
	char cg_first[200];	/* one cgroup still charged */
	bool zswap_ok, memcg_ok;
};

static long soak_cgroups_zswap(char *first, size_t len)
{
	char paths[MAX_WORKERS + NTENANTS + 1][160];
	int n = 0;
	long sum = 0;

	for (int i = 0; i < opt.workers; i++)
		snprintf(paths[n++], sizeof(paths[0]), "%s", sh->slot[i].cg);
	for (int t = 0; t < NTENANTS; t++)
		snprintf(paths[n++], sizeof(paths[0]), CG_SOAK "/t%d", t);
	snprintf(paths[n++], sizeof(paths[0]), CG_SOAK);
	first[0] = '\0';
	for (int i = 0; i < n; i++) {
		long v = cg_read_long(paths[i], "memory.zswap.current");

		if (v > 0) {
			sum += v;
			if (!first[0])
				snprintf(first, len, "%.140s (%ld B)", paths[i], v);
		}
	}
	return sum;
}

static void balance_read(struct balance *b)
{
	b->zswap_ok = true;
	for (size_t i = 0; i < NGAUGES; i++) {
		b->g[i] = zu_debugfs(gauges[i]);
		if (b->g[i] > 0)
			b->zswap_ok = false;
	}
	b->meta = zu_debugfs("dedup_meta_bytes");
	b->index_bytes = zu_debugfs("dedup_index_bytes");
	/* The index's bucket array stays allocated: part of meta, not a leak. */
	if (b->meta > 0 && b->meta - (b->index_bytes > 0 ? b->index_bytes : 0) != 0)
		b->zswap_ok = false;
	b->cg_current = soak_cgroups_zswap(b->cg_first, sizeof(b->cg_first));
	b->memcg_ok = b->cg_current == 0;
}

static void balance_wait(struct balance *b)
{
	double deadline = zu_now() + SETTLE_S;

	do {
		balance_read(b);
		if (b->zswap_ok && b->memcg_ok)
			return;
		usleep(250000);
	} while (zu_now() < deadline);
}

struct leaks {
	int total, zswap;	/* -1: kmemleak not available */
};

static bool leak_line_is_zswap(const char *l)
{
	static const char *const keys[] = {
		"zswap", "zs_", "zpool", "rhashtable", "xxh", "list_lru",
	};

	for (size_t i = 0; i < ARRAY_SIZE(keys); i++)
		if (strstr(l, keys[i]))
			return true;
	return false;
}

/*
 * Two scans with a pause (an object must stay unreferenced for more than
 * kmemleak's minimum age), then count the reports, and those whose
 * backtrace mentions zswap's code or what it uses.  The zswap ones are
 * printed.
 */
static void kmemleak_check(struct leaks *lk)
{
	char line[512], block[4096];
	size_t blen = 0;
	bool zs = false;
	int shown = 0;
	FILE *f;

	lk->total = lk->zswap = -1;
	if (zu_write_file(KMEMLEAK, "scan"))
		return;
	sleep_s(6);
	if (zu_write_file(KMEMLEAK, "scan"))
		return;
	f = fopen(KMEMLEAK, "r");
	if (!f)
		return;
	lk->total = lk->zswap = 0;
	block[0] = '\0';
	for (;;) {
		bool eof = !fgets(line, sizeof(line), f);

		if (eof || !strncmp(line, "unreferenced object", 19)) {
			if (blen && zs) {
				lk->zswap++;
				if (shown++ < 5)
					printf("%s", block);
			}
			if (eof)
				break;
			lk->total++;
			blen = 0;
			zs = false;
		}
		if (leak_line_is_zswap(line))
			zs = true;
		if (blen + strlen(line) < sizeof(block)) {
			memcpy(block + blen, line, strlen(line) + 1);
			blen += strlen(line);
		}
	}
	fclose(f);
	fflush(stdout);
}

/* ------------------------------------------------------------------------
 * setup and report
 */
static int setup_cgroups(void)
{
	char path[160];

	/* Left over by an earlier run in this boot. */
	for (int t = 0; t < NTENANTS; t++) {
		struct dirent *de;
		DIR *d;

		snprintf(path, sizeof(path), CG_SOAK "/t%d", t);
		d = opendir(path);
		while (d && (de = readdir(d))) {
			char sub[512];

			if (de->d_type != DT_DIR || de->d_name[0] == '.')
				continue;
			snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
			cg_destroy(sub);
		}
		if (d)
			closedir(d);
		cg_destroy(path);
	}
	cg_destroy(CG_SOAK);
	if (cg_create(CG_SOAK) ||
	    cg_write(CG_SOAK, "cgroup.subtree_control", "+memory"))
		return -1;
	for (int t = 0; t < NTENANTS; t++) {
		snprintf(path, sizeof(path), CG_SOAK "/t%d", t);
		if (cg_create(path) || cg_write(path, "cgroup.subtree_control", "+memory"))
			return -1;
	}
	/* Workers 0, 1 in tenant 0, 2, 3 in tenant 1, and so on in turn. */
	for (int i = 0; i < opt.workers; i++) {
		sh->slot[i].tenant = opt.workers < 3 ? 0 : (i / 2) % NTENANTS;
		if (slot_cg_new(i))
			return -1;
	}
	return 0;
}

static void remove_cgroups(void)
{
	char path[160];

	for (int i = 0; i < opt.workers; i++)
		cg_destroy(sh->slot[i].cg);
	for (int t = 0; t < NTENANTS; t++) {
		snprintf(path, sizeof(path), CG_SOAK "/t%d", t);
		cg_destroy(path);
	}
	cg_destroy(CG_SOAK);
}

static void usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [-n ROUND_TRIPS] [-t SECONDS] [-s SEED] [-w WORKERS]\n"
		"          [-p PAGES] [-l LIFETIME] [-F] [-v] [-X]\n"
		"  -n  stop after this many page round trips (default %ld)\n"
		"  -t  or after this many seconds (default %.0f)\n"
		"  -s  seed of the run (default: from the clock)\n"
		"  -w  workers, 2..%d (default %d)\n"
		"  -p  pages per worker (default %zu)\n"
		"  -l  a worker lives 1/4 to all of this many seconds (default %.0f)\n"
		"  -F  no fault injection\n"
		"  -v  show every swapoff and policy change\n"
		"  -X  self-test: corrupt a page on purpose (the run must fail)\n",
		prog, opt.target, opt.seconds, MAX_WORKERS, opt.workers, opt.pages,
		opt.lifetime);
	exit(2);
}

static void parse_args(int argc, char **argv)
{
	int c;

	opt.seed = (uint64_t)time(NULL) * 2654435761ULL ^ (uint64_t)getpid();
	opt.seed %= 1000000000000ULL;
	while ((c = getopt(argc, argv, "n:t:s:w:p:l:FvXh")) != -1) {
		switch (c) {
		case 'n': opt.target = atol(optarg); break;
		case 't': opt.seconds = atof(optarg); break;
		case 's': opt.seed = strtoull(optarg, NULL, 0); break;
		case 'w': opt.workers = atoi(optarg); break;
		case 'p': opt.pages = strtoul(optarg, NULL, 0); break;
		case 'l': opt.lifetime = atof(optarg); break;
		case 'F': opt.faults = false; break;
		case 'v': opt.verbose = true; break;
		case 'X': opt.selftest = true; break;
		default: usage(argv[0]);
		}
	}
	if (opt.workers < 2 || opt.workers > MAX_WORKERS || opt.pages < 64 ||
	    opt.target <= 0 || opt.seconds <= 0 || opt.lifetime <= 0)
		usage(argv[0]);
}

int main(int argc, char **argv)
{
	long long ev0[NEVENTS], ev1[NEVENTS];
	struct wstats tot = { 0 };
	struct outcome o = { 0 };
	struct balance bal;
	struct leaks lk;
	int final_workers = 0;
	bool swapoff_end_ok;
	double t_run;
	uint64_t ctl_seed;
	pid_t ctl_pid;
	int swapoff_errno = 0;

	setvbuf(stdout, NULL, _IOLBF, 0);
	parse_args(argc, argv);
	t_start = zu_now();
	say("seed=%llu", (unsigned long long)opt.seed);
	say("%d workers x %zu pages, target %ld round trips or %.0f s; kernel counters "
	    "from /proc/vmstat and %s", opt.workers, opt.pages, opt.target, opt.seconds,
	    ZSWAP_DEBUGFS);

	if (access(ZSWAP_PARAMS "/enabled", F_OK) || !zu_swap_active(SWAP_DEV)) {
		ksft_print_header();
		ksft_exit_skip("zswap or swap on " SWAP_DEV " missing\n");
	}
	sh = zu_map_shared(sizeof(*sh));
	if (!sh)
		ksft_exit_fail_msg("no shared memory\n");
	run_rng = opt.seed;
	ctl_seed = zu_rand(&run_rng);

	sh->ctl.have_faults = opt.faults && faults_available();
	sh->ctl.have_loader = !access(LOADER, X_OK) &&
			      !access(ZSWAP_DEBUGFS "/dedup_policy", R_OK);
	if (!opt.faults)
		say("fault injection: off (-F)");
	else if (!sh->ctl.have_faults)
		say("fault injection: not available in this kernel (no %s, %s): "
		    "faults_injected will be 0", FAILSLAB, FAILPAGE);
	else
		say("fault injection: failslab on zswap's caches, fail_page_alloc "
		    "on the workers, in phases");
	if (!sh->ctl.have_loader)
		say("policies: no %s or no debugfs zswap/dedup_policy: "
		    "the built-in policy only", LOADER);
	if (!zu_have_dedup())
		say("this kernel has no zswap dedup: soaking stock zswap");
	if (sh->ctl.have_faults && access(SLAB_SYSFS "/zswap_entry/failslab", W_OK))
		say("failslab: no %s/zswap_entry/failslab: only fail_page_alloc", SLAB_SYSFS);
	policy_name(sh->ctl.policy, sizeof(sh->ctl.policy));

	if (setup_cgroups())
		ksft_exit_fail_msg("cannot create the soak cgroups under " CG_SOAK "\n");

	events_read(ev0);
	ctl_pid = zu_spawn(NULL, ctl_main, &ctl_seed);
	if (ctl_pid < 0)
		ksft_exit_fail_msg("fork: %s\n", strerror(errno));
	for (int i = 0; i < opt.workers; i++)
		if (spawn_worker(i))
			ksft_exit_fail_msg("cannot spawn workers\n");

	run(ctl_pid, ev0, &o);
	t_run = elapsed();
	events_read(ev1);

	for (int i = 0; i < opt.workers; i++) {
		struct wstats *s = &sh->slot[i].st;

		tot.round_trips += s->round_trips;
		tot.compared += s->compared;
		tot.corrupted += s->corrupted;
		tot.pageouts += s->pageouts;
		tot.paged_out += s->paged_out;
		tot.rewrites += s->rewrites;
		tot.invalidated += s->invalidated;
		tot.remaps += s->remaps;
		tot.lives += s->lives;
		final_workers += sh->slot[i].final_done;
	}

	/* Everything is freed: swapoff brings in what is left of anyone's. */
	swapoff_end_ok = !swapoff(SWAP_DEV);
	if (!swapoff_end_ok) {
		swapoff_errno = errno;
		say("swapoff at the end FAILED: %s", strerror(swapoff_errno));
	}
	balance_wait(&bal);
	remove_cgroups();
	if (!zu_swap_active(SWAP_DEV) && swapon(SWAP_DEV, 0))
		say("swapon " SWAP_DEV " failed: %s", strerror(errno));
	kmemleak_check(&lk);

	/* --- the report --- */
	say("%ld round trips (pages read back and compared after a page-out), %ld pages "
	    "compared in all, %ld CORRUPTED", tot.round_trips, tot.compared, tot.corrupted);
	say("through zswap: %lld pages out, %lld in (dedup hits %lld, collisions %lld, "
	    "written back %lld); swap device: %lld out, %lld in",
	    event_delta(ev0, ev1, "zswpout"), event_delta(ev0, ev1, "zswpin"),
	    event_delta(ev0, ev1, "dedup_hits"), event_delta(ev0, ev1, "dedup_collisions"),
	    event_delta(ev0, ev1, "written_back_pages"), event_delta(ev0, ev1, "pswpout"),
	    event_delta(ev0, ev1, "pswpin"));
	say("workers: %ld lives, %ld migrations, %ld cgroups removed (%ld still charged "
	    "for zswap when removed), %ld killed, %ld crashed, %ld errors",
	    tot.lives, sh->migrations, sh->cg_removed, sh->cg_removed_charged,
	    o.oom_kills, o.crashes, o.worker_errors);
	printf("soak: controller:");
	for (int i = 0; i < OP_NR; i++)
		printf(" %s %ld%s", op_names[i], sh->ctl.ops[i],
		       sh->ctl.errors[i] ? " (some failed)" : "");
	printf("; longest swapoff %.1f s\n", sh->ctl.swapoff_max_s);
	if (sh->ctl.have_faults)
		say("fault injection: %d phases, %ld failslab + %ld fail_page_alloc faults; "
		    "zswap saw reject_kmemcache_fail %+lld, reject_alloc_fail %+lld, "
		    "dedup_fallbacks %+lld", sh->ctl.fault_phases, sh->ctl.injected_slab,
		    sh->ctl.injected_page, event_delta(ev0, ev1, "reject_kmemcache_fail"),
		    event_delta(ev0, ev1, "reject_alloc_fail"),
		    event_delta(ev0, ev1, "dedup_fallbacks"));
	printf("soak: after swapoff:");
	for (size_t i = 0; i < NGAUGES; i++)
		printf(" %s %lld", gauges[i], bal.g[i]);
	printf(" dedup_meta_bytes %lld dedup_index_bytes %lld; soak cgroups' "
	       "memory.zswap.current %ld\n", bal.meta, bal.index_bytes, bal.cg_current);
	if (lk.total >= 0)
		say("kmemleak: %d suspected leaks, %d mentioning zswap", lk.total, lk.zswap);
	else
		say("kmemleak: not available in this kernel");

	printf("ZDEDUP-SOAK {\"round_trips\":%ld,\"pages_compared\":%ld,\"corrupted\":%ld,"
	       "\"faults_injected\":%ld,\"failslab_injected\":%ld,"
	       "\"fail_page_alloc_injected\":%ld,\"fault_injection\":%s,"
	       "\"kmemleak\":%d,\"kmemleak_zswap\":%d,\"counters_balanced\":%s,"
	       "\"memcg_balanced\":%s,\"seconds\":%.1f,\"run_seconds\":%.1f,"
	       "\"seed\":%llu,\"zswpout\":%lld,\"zswpin\":%lld,\"zswpwb\":%lld,"
	       "\"pswpout\":%lld,\"pswpin\":%lld,\"dedup_hits\":%lld,"
	       "\"dedup_collisions\":%lld,\"written_back\":%lld,"
	       "\"reject_kmemcache_fail\":%lld,\"reject_alloc_fail\":%lld,"
	       "\"dedup_fallbacks\":%lld,\"worker_lives\":%ld,\"migrations\":%ld,"
	       "\"cgroups_removed\":%ld,\"oom_kills\":%ld,\"crashes\":%ld,"
	       "\"swapoffs\":%ld,\"swapoff_failed\":%ld,\"policy_changes\":%ld,"
	       "\"compressor_changes\":%ld,\"fault_phases\":%d,\"final_workers\":%d,"
	       "\"workers\":%d,\"pages_per_worker\":%zu}\n",
	       tot.round_trips, tot.compared, tot.corrupted,
	       sh->ctl.injected_slab + sh->ctl.injected_page, sh->ctl.injected_slab,
	       sh->ctl.injected_page, sh->ctl.have_faults ? "true" : "false",
	       lk.total, lk.zswap, bal.zswap_ok && bal.memcg_ok ? "true" : "false",
	       bal.memcg_ok ? "true" : "false", elapsed(), t_run,
	       (unsigned long long)opt.seed,
	       event_delta(ev0, ev1, "zswpout"), event_delta(ev0, ev1, "zswpin"),
	       event_delta(ev0, ev1, "zswpwb"), event_delta(ev0, ev1, "pswpout"),
	       event_delta(ev0, ev1, "pswpin"), event_delta(ev0, ev1, "dedup_hits"),
	       event_delta(ev0, ev1, "dedup_collisions"),
	       event_delta(ev0, ev1, "written_back_pages"),
	       event_delta(ev0, ev1, "reject_kmemcache_fail"),
	       event_delta(ev0, ev1, "reject_alloc_fail"),
	       event_delta(ev0, ev1, "dedup_fallbacks"), tot.lives, sh->migrations,
	       sh->cg_removed, o.oom_kills, o.crashes, sh->ctl.ops[OP_SWAPOFF],
	       sh->ctl.swapoff_failed, sh->ctl.ops[OP_POLICY],
	       sh->ctl.ops[OP_COMPRESSOR], sh->ctl.fault_phases,
	       final_workers, opt.workers, opt.pages);
	fflush(stdout);

	ksft_print_header();
	ksft_set_plan(6);
	ksft_test_result(tot.corrupted == 0 && tot.round_trips > 0,
			 "soak: %ld round trips, %ld pages compared, %ld corrupted\n",
			 tot.round_trips, tot.compared, tot.corrupted);
	/* Every worker verifies all its pages at the end, unless OOM-killed. */
	ksft_test_result(!o.crashes && !o.hung && !o.worker_errors && !o.ctl_hung &&
			 final_workers > 0 && (final_workers == opt.workers || o.oom_kills),
			 "soak: workers ran to the end (%ld lives, %ld crashed, %ld hung, "
			 "%ld errors), %d of %d verified every page at the end\n",
			 tot.lives, o.crashes, o.hung, o.worker_errors, final_workers,
			 opt.workers);
	ksft_test_result(swapoff_end_ok && !sh->ctl.swapoff_failed,
			 "soak: swapoff succeeded (%ld during the run, %ld failed; at the "
			 "end: %s)\n", sh->ctl.ops[OP_SWAPOFF], sh->ctl.swapoff_failed,
			 swapoff_end_ok ? "ok" : strerror(swapoff_errno));
	ksft_test_result(bal.zswap_ok,
			 "soak: zswap empty after swapoff (stored_pages %lld, stored_objects "
			 "%lld, index entries %lld, shared slots %lld, pool %lld B, meta %lld B "
			 "of which index %lld B)\n", bal.g[0], bal.g[1], bal.g[2], bal.g[3],
			 bal.g[5], bal.meta, bal.index_bytes);
	ksft_test_result(bal.memcg_ok, "soak: memcg zswap charges back to 0 (%ld B%s%s)\n",
			 bal.cg_current, bal.cg_first[0] ? ", e.g. " : "", bal.cg_first);
	if (lk.total < 0)
		ksft_test_result_skip("soak: kmemleak not available in this kernel\n");
	else
		ksft_test_result(lk.zswap == 0, "soak: kmemleak: %d reports mention zswap "
				 "(%d in all)\n", lk.zswap, lk.total);
	ksft_finished();
}

// SPDX-License-Identifier: GPL-2.0
/*
 * zswap dedup under memory pressure: reclaim frees memory with every unit
 * of writeback, the index gives its memory back, and a store never fails
 * because dedup's metadata could not be allocated (design.md, invariants
 * 4 and 9).
 *
 *   reclaim.writeback_frees_objects  a pool of 90% shared slots reclaimed
 *                                    down to half its charge: every page
 *                                    written back frees its share of the
 *                                    object, and fewer pages are written
 *                                    than with dedup off for the same limit
 *   reclaim.index_shrinks            the index's bucket array is counted in
 *                                    dedup_meta_bytes and shrinks once the
 *                                    index has been empty for a while
 *   reclaim.alloc_failure_falls_back duplicates whose zswap_dup cannot be
 *                                    allocated (failslab) are stored as
 *                                    private copies, never rejected; SKIPs
 *                                    without CONFIG_FAILSLAB
 *
 * Each workload runs in a child process in the cgroup <top>/work, so that
 * reclaiming that cgroup only ever finds the workload's pages; the test
 * process itself stays in <top>/self.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* The harness's SIGALRM handler has an unused parameter. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#pragma GCC diagnostic pop
/* See zdedup_test_dedup.c: setup and teardown re-create/undo all state. */
#pragma GCC diagnostic ignored "-Wclobbered"
#include "cgroup/cgroup_util.h"
#include "zswap_util.h"

#define CG_ROOT "/sys/fs/cgroup"
#define SWAP_DEV "/dev/ram0"
#define TEST_TIMEOUT 300	/* seconds per test; the VM is TCG + lockdep */
#define BAR_TIMEOUT 120.0
#define PAGE ZU_PAGE_SIZE
#define FAILSLAB "/sys/kernel/debug/failslab"
#define DUP_FAILSLAB "/sys/kernel/slab/zswap_dup/failslab"

static long long pct(long long x, int p)
{
	return x * p / 100;
}

/* memcg statistics are flushed lazily; the periodic flush runs every 2 s. */
static void memcg_stats_settle(void)
{
	usleep(2500 * 1000);
}

static long cg_stat(const char *cg, const char *key)
{
	return cg_read_key_long(cg, "memory.stat", key);
}

/* ------------------------------------------------------------------------
 * A workload process: stores @n pages built from @ref by @idx, waits until
 * the test lets it read them back, and compares them.
 */
struct holder {
	struct zu_barrier bar;
	const char *ref;
	const uint32_t *idx;
	size_t n;
	size_t corrupt;
	pid_t pid;
};

static int holder_fn(void *arg)
{
	struct holder *h = arg;
	char *buf = zu_map(h->n);

	if (!buf)
		return CHILD_NOMEM;
	zu_fill_ref(buf, h->ref, h->idx, h->n);
	if (zu_pageout(buf, h->n * PAGE))
		return CHILD_PAGEOUT;
	if (zu_barrier_wait(&h->bar, BAR_TIMEOUT) ||	/* stored */
	    zu_barrier_wait(&h->bar, BAR_TIMEOUT))	/* check */
		return CHILD_SYNC;
	h->corrupt = zu_count_corrupt_ref(buf, h->ref, h->idx, h->n);
	return h->corrupt ? CHILD_CORRUPT : CHILD_OK;
}

static void holder_store(struct __test_metadata *_metadata, struct holder *h,
			 const char *cg)
{
	zu_barrier_init(&h->bar, 2);
	h->pid = zu_spawn(cg, holder_fn, h);
	ASSERT_LT(0, h->pid);
	ASSERT_EQ(0, zu_barrier_wait(&h->bar, BAR_TIMEOUT));
}

static int holder_finish(struct holder *h)
{
	int rc;

	zu_barrier_wait(&h->bar, BAR_TIMEOUT);
	rc = zu_wait_child(h->pid);
	h->pid = 0;
	return rc;
}

/* ========================================================================
 * fixture
 */
FIXTURE(reclaim) {
	char top[256];		/* /sys/fs/cgroup/zdedup_reclaim_<test> */
	char self[300];		/* the test process */
	char work[300];		/* the workload */
	char shrinker[8];	/* zswap.shrinker_enabled to restore */
};

FIXTURE_SETUP(reclaim)
{
	if (access(ZSWAP_PARAMS "/enabled", F_OK))
		SKIP(return, "zswap is not configured");
	if (!zu_have_dedup())
		SKIP(return, "no zswap dedup in this kernel");
	if (!zu_swap_active(SWAP_DEV))
		ASSERT_EQ(0, system("swapon " SWAP_DEV));
	ASSERT_EQ(0, zu_param_write("enabled", "Y"));
	ASSERT_EQ(0, zu_param_write("dedup_enabled", "Y"));
	ASSERT_EQ(0, zu_param_read("shrinker_enabled", self->shrinker,
				   sizeof(self->shrinker)));

	snprintf(self->top, sizeof(self->top), CG_ROOT "/zdedup_reclaim_%s",
		 _metadata->name);
	snprintf(self->self, sizeof(self->self), "%s/self", self->top);
	snprintf(self->work, sizeof(self->work), "%s/work", self->top);
	cg_destroy(self->work);		/* left over by a test killed on timeout */
	cg_destroy(self->self);
	cg_destroy(self->top);
	ASSERT_EQ(0, cg_create(self->top));
	ASSERT_EQ(0, cg_write(self->top, "cgroup.subtree_control", "+memory"));
	ASSERT_EQ(0, cg_create(self->self));
	ASSERT_EQ(0, cg_enter_current(self->self));
}

FIXTURE_TEARDOWN(reclaim)
{
	cg_enter_current(CG_ROOT);
	cg_destroy(self->work);
	cg_destroy(self->self);
	cg_destroy(self->top);
	if (self->shrinker[0])
		zu_param_write("shrinker_enabled", self->shrinker);
	zu_param_write("dedup_enabled", "Y");
}

/* ========================================================================
 * 1. writeback frees memory with every page it writes
 */
#define WBF_K 256		/* distinct pages */
#define WBF_N 10		/* copies of each: 90% of the slots are shared */
#define WBF_ROUNDS 400		/* memory.reclaim calls at most */

/* What reclaiming the workload's cgroup down to a target did. */
struct wbf_run {
	long long charge0, charge1;	/* memory.zswap.current before, after */
	long long stored0;		/* its pages in zswap before */
	long long written;		/* its pages written back (zswpwb) */
	int rounds;
};

/*
 * Store WBF_N copies of WBF_K pages in a fresh workload cgroup, with dedup
 * on or off, then reclaim the cgroup until its zswap charge is at most
 * *@target (half the charge found, if *@target is 0).  With the workload's
 * pages all in zswap, only the zswap shrinker has anything to reclaim.
 */
static void wbf_run(struct __test_metadata *_metadata,
		    FIXTURE_DATA(reclaim) *self, bool dedup, const char *ref,
		    const uint32_t *idx, long long *target, struct wbf_run *r)
{
	struct holder *h = zu_map_shared(sizeof(*h));
	long long wb0;

	ASSERT_NE(NULL, h);
	ASSERT_EQ(0, zu_param_write("dedup_enabled", dedup ? "Y" : "N"));
	cg_destroy(self->work);
	ASSERT_EQ(0, cg_create(self->work));
	*h = (struct holder){ .ref = ref, .idx = idx, .n = WBF_K * WBF_N };
	holder_store(_metadata, h, self->work);
	memcg_stats_settle();

	r->charge0 = cg_read_long(self->work, "memory.zswap.current");
	r->stored0 = cg_stat(self->work, "zswapped ") / (long)PAGE;
	wb0 = cg_stat(self->work, "zswpwb ");
	ASSERT_GT(r->charge0, 0);
	ASSERT_GE(r->stored0, pct(WBF_K * WBF_N, 95));
	if (!*target)
		*target = r->charge0 / 2;

	ASSERT_EQ(0, zu_param_write("shrinker_enabled", "Y"));
	for (r->rounds = 0; r->rounds < WBF_ROUNDS &&
	     cg_read_long(self->work, "memory.zswap.current") > *target;
	     r->rounds++)
		cg_write(self->work, "memory.reclaim", "4M");	/* EAGAIN is fine */
	ASSERT_EQ(0, zu_param_write("shrinker_enabled", self->shrinker));
	memcg_stats_settle();
	r->charge1 = cg_read_long(self->work, "memory.zswap.current");
	r->written = cg_stat(self->work, "zswpwb ") - wb0;

	ASSERT_EQ(CHILD_OK, holder_finish(h)) TH_LOG("%zu corrupt", h->corrupt);
	TH_LOG("dedup %s: charge %lld -> %lld B (target %lld) after %d rounds, "
	       "%lld of %lld pages written back, %lld B freed per page written",
	       dedup ? "on " : "off", r->charge0, r->charge1, *target, r->rounds,
	       r->written, r->stored0,
	       r->written ? (r->charge0 - r->charge1) / r->written : 0);
	munmap(h, sizeof(*h));
}

TEST_F_TIMEOUT(reclaim, writeback_frees_objects, TEST_TIMEOUT)
{
	uint32_t *idx = zu_idx_copies(WBF_K, WBF_N, 0);
	char *ref = zu_ref_alloc(WBF_K, 0x7100000);
	struct wbf_run on, off;
	long long target = 0, per_page, avg;

	ASSERT_NE(NULL, idx);
	ASSERT_NE(NULL, ref);
	wbf_run(_metadata, self, true, ref, idx, &target, &on);
	wbf_run(_metadata, self, false, ref, idx, &target, &off);

	/* dedup on: the limit is reached, and every page written pays */
	ASSERT_LE(on.charge1, target);
	ASSERT_GT(on.written, 0);
	per_page = (on.charge0 - on.charge1) / on.written;
	avg = on.charge0 / on.stored0;
	TH_LOG("dedup on: %lld B freed per page written back, %lld B charged "
	       "per page stored", per_page, avg);
	ASSERT_GE(per_page, avg / 2);
	/* no more pages written than stock zswap writes for the same limit */
	ASSERT_LE(on.written, off.written);
	free(idx);
}

/* ========================================================================
 * 2. the index's bucket array is counted, and shrinks
 */
#define IDX_K 8192
#define IDX_SHRINK_WAIT 60	/* seconds: the index is looked at every 10 s */

static uint64_t idx_seed(size_t i, void *arg)
{
	(void)arg;
	return 0x7200000 + i;
}

TEST_F_TIMEOUT(reclaim, index_shrinks, TEST_TIMEOUT)
{
	long long bytes0, bytes1, bytes2 = -1, entries, meta;
	char *buf;
	int waited;

	bytes0 = zu_debugfs("dedup_index_bytes");
	ASSERT_GT(bytes0, 0) TH_LOG("no debugfs zswap/dedup_index_bytes");

	buf = zu_map(IDX_K);
	ASSERT_NE(NULL, buf);
	zu_fill(buf, IDX_K, idx_seed, NULL);
	ASSERT_EQ(0, zu_pageout(buf, IDX_K * PAGE));
	bytes1 = zu_debugfs("dedup_index_bytes");
	entries = zu_debugfs("dedup_index_entries");
	meta = zu_debugfs("dedup_meta_bytes");
	TH_LOG("%lld index entries: bucket array %lld -> %lld B, "
	       "dedup_meta_bytes %lld B", entries, bytes0, bytes1, meta);
	ASSERT_GE(entries, pct(IDX_K, 95));
	/* a bucket pointer per entry at least; counted in the metadata */
	ASSERT_GE(bytes1, entries * (long long)sizeof(void *));
	ASSERT_GE(meta, bytes1);

	zu_unmap(buf, IDX_K);		/* every slot invalidated */
	for (waited = 0; waited < IDX_SHRINK_WAIT; waited++) {
		bytes2 = zu_debugfs("dedup_index_bytes");
		if (bytes2 <= bytes1 / 8)
			break;
		sleep(1);
	}
	TH_LOG("index emptied: bucket array %lld B after %d s", bytes2, waited);
	ASSERT_LE(bytes2, bytes1 / 8);
}

/* ========================================================================
 * 3. no memory for a duplicate's metadata: a private copy, not a reject
 */
#define AF_K 256

static int failslab_write(const char *file, const char *value)
{
	char path[128];
	FILE *f;
	int ret;

	snprintf(path, sizeof(path), "%s/%s", FAILSLAB, file);
	f = fopen(path, "w");
	if (!f)
		return -1;
	ret = fputs(value, f) < 0 ? -1 : 0;
	return fclose(f) ? -1 : ret;
}

/* Make every allocation from the zswap_dup cache fail, or none. */
static int dup_allocs_fail(bool fail)
{
	FILE *f;
	int ret = 0;

	if (fail) {
		ret |= failslab_write("verbose", "0");
		ret |= failslab_write("task-filter", "N");
		ret |= failslab_write("ignore-gfp-wait", "N");
		ret |= failslab_write("cache-filter", "Y");
		ret |= failslab_write("interval", "1");
		ret |= failslab_write("times", "-1");
	}
	f = fopen(DUP_FAILSLAB, "w");
	if (!f)
		return -1;
	ret |= fputs(fail ? "1" : "0", f) < 0;
	ret |= fclose(f);
	ret |= failslab_write("probability", fail ? "100" : "0");
	return ret ? -1 : 0;
}

TEST_F_TIMEOUT(reclaim, alloc_failure_falls_back, TEST_TIMEOUT)
{
	uint32_t *idx = zu_idx_copies(AF_K, 1, 0);
	char *ref = zu_ref_alloc(AF_K, 0x7300000);
	struct holder *h = zu_map_shared(2 * sizeof(*h));
	long long stored0, stored1, hits0, hits1, fb0, fb1, rej0, rej1, wb0;
	long long idx0, indexed;

	if (access(FAILSLAB, F_OK) || access(DUP_FAILSLAB, W_OK))
		SKIP(return, "needs CONFIG_FAILSLAB and slab_nomerge (sanitizer kernel)");
	ASSERT_NE(NULL, idx);
	ASSERT_NE(NULL, ref);
	ASSERT_NE(NULL, h);
	ASSERT_EQ(0, cg_create(self->work));

	/*
	 * Writeback would take first copies out of the index and turn their
	 * second copies into misses: this test is about allocations only
	 * (the soak scenario runs it with the shrinker on).  The fixture
	 * restores the parameter.
	 */
	ASSERT_EQ(0, zu_param_write("shrinker_enabled", "N"));
	wb0 = zu_debugfs("written_back_pages");
	idx0 = zu_debugfs("dedup_index_entries");
	h[0] = (struct holder){ .ref = ref, .idx = idx, .n = AF_K };
	h[1] = h[0];
	holder_store(_metadata, &h[0], self->work);
	/*
	 * The first copies in the index: a store the index could not take
	 * (-EBUSY while a resize is pending, on a slow kernel) keeps its
	 * page unindexed, and its second copy is a miss, not a fallback.
	 */
	indexed = zu_debugfs("dedup_index_entries") - idx0;

	stored0 = zu_debugfs("stored_pages");
	hits0 = zu_debugfs("dedup_hits");
	fb0 = zu_debugfs("dedup_fallbacks");
	rej0 = zu_debugfs("reject_kmemcache_fail") + zu_debugfs("reject_alloc_fail");
	ASSERT_EQ(0, dup_allocs_fail(true)) {
		dup_allocs_fail(false);
	}
	holder_store(_metadata, &h[1], self->work);
	ASSERT_EQ(0, dup_allocs_fail(false));
	stored1 = zu_debugfs("stored_pages");
	hits1 = zu_debugfs("dedup_hits");
	fb1 = zu_debugfs("dedup_fallbacks");
	rej1 = zu_debugfs("reject_kmemcache_fail") + zu_debugfs("reject_alloc_fail");
	TH_LOG("second copy with zswap_dup allocations failing: stored %+lld, "
	       "hits %+lld, fallbacks %+lld, rejects %+lld (first copies indexed "
	       "%lld, written back %+lld)",
	       stored1 - stored0, hits1 - hits0, fb1 - fb0, rej1 - rej0, indexed,
	       zu_debugfs("written_back_pages") - wb0);

	ASSERT_GE(stored1 - stored0, pct(AF_K, 95));
	ASSERT_EQ(0, hits1 - hits0);
	ASSERT_GE(indexed, pct(AF_K, 50));
	ASSERT_GE(fb1 - fb0, pct(indexed, 95));
	ASSERT_EQ(0, rej1 - rej0);
	ASSERT_EQ(CHILD_OK, holder_finish(&h[0])) TH_LOG("%zu corrupt", h[0].corrupt);
	ASSERT_EQ(CHILD_OK, holder_finish(&h[1])) TH_LOG("%zu corrupt", h[1].corrupt);
	free(idx);
}

TEST_HARNESS_MAIN

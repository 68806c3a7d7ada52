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
 * and what a tenant cannot make it do (design.md, invariants 7, 8, 11, 12):
 *
 *   reclaim.popular_writeback_bounded one object shared by 32,768 slots,
 *                                    then stores over memory.zswap.max:
 *                                    no store writes back more than
 *                                    ZSWAP_STORE_SLOTS slots, free memory
 *                                    stays above twice min_free_kbytes,
 *                                    every page intact
 *   reclaim.hits_under_limit         half the pages duplicates under a
 *                                    4 MiB memory.zswap.max: dedup keeps
 *                                    at least 1.8x the pages stock keeps
 *                                    and sends at most 0.6x as many to
 *                                    the swap device
 *   reclaim.offline_memcg_unmerged   pages of two removed (offline)
 *                                    sibling cgroups, recorded under their
 *                                    parent, are not merged
 *   reclaim.root_cgroup_unmerged     pages of the root cgroup are not
 *                                    merged without a policy
 *   reclaim.publish_before_share     stores, loads and frees of colliding
 *                                    contents with a widened lookup window
 *                                    (dedup_lookup_delay_us): every page
 *                                    intact, every counter back at the end
 *   reclaim.large_folio_rollback     64 KiB folios whose pages alternate
 *                                    hits and misses, with a tenth of the
 *                                    misses' entry allocations failing
 *                                    (failslab): a folio that fails part
 *                                    way leaves no slot behind, the objects
 *                                    it had shared stay intact, every
 *                                    counter comes back; SKIPs where zswap
 *                                    stores no large folios (6.12)
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
#include <sys/wait.h>
#include <unistd.h>

/* The harness's SIGALRM handler has an unused parameter. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#pragma GCC diagnostic pop
/* See zdedup_test_dedup.c: setup and teardown re-create/undo all state. */
#pragma GCC diagnostic ignored "-Wclobbered"
#include "cgroup_util.h"
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
	bool large;		/* 64 KiB folios (mTHP) instead of base pages */
};

#define MTHP_64K "/sys/kernel/mm/transparent_hugepage/hugepages-64kB"
#define FOLIO_PAGES 16		/* a 64 KiB folio */

/*
 * @n pages, 64 KiB aligned and MADV_HUGEPAGE, so that with 64 KiB mTHP
 * enabled every folio can be a 64 KiB one.  The child that maps it exits
 * without unmapping.
 */
static char *map_large(size_t n)
{
	size_t align = FOLIO_PAGES * PAGE;
	char *map = mmap(NULL, n * PAGE + align, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *mem;

	if (map == MAP_FAILED)
		return NULL;
	mem = (char *)(((uintptr_t)map + align - 1) & ~(uintptr_t)(align - 1));
	madvise(mem, n * PAGE, MADV_HUGEPAGE);
	return mem;
}

static int holder_fn(void *arg)
{
	struct holder *h = arg;
	char *buf = h->large ? map_large(h->n) : zu_map(h->n);

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
	char mthp[16];		/* 64 KiB mTHP setting to restore, if changed */
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
	if (self->mthp[0])
		zu_write_file(MTHP_64K "/enabled", self->mthp);
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

/*
 * Make @percent of the allocations from one slab cache fail (its
 * /sys/kernel/slab/<cache>/failslab file: @cache_failslab), or none
 * (@percent "0"), for every task, sleeping allocations too.
 */
static int cache_allocs_fail(const char *cache_failslab, const char *percent)
{
	bool fail = strcmp(percent, "0");
	int ret = 0;

	if (fail) {
		ret |= failslab_write("verbose", "0");
		ret |= failslab_write("task-filter", "N");
		ret |= failslab_write("ignore-gfp-wait", "N");
		ret |= failslab_write("cache-filter", "Y");
		ret |= failslab_write("interval", "1");
		ret |= failslab_write("times", "-1");
	}
	ret |= zu_write_file(cache_failslab, fail ? "1" : "0");
	ret |= failslab_write("probability", percent);
	return ret ? -1 : 0;
}

/* Make every allocation from the zswap_dup cache fail, or none. */
static int dup_allocs_fail(bool fail)
{
	return cache_allocs_fail(DUP_FAILSLAB, fail ? "100" : "0");
}

TEST_F_TIMEOUT(reclaim, alloc_failure_falls_back, TEST_TIMEOUT)
{
	uint32_t *idx = zu_idx_copies(AF_K, 1, 0);
	char *ref = zu_ref_alloc(AF_K, 0x7300000);
	struct holder *h = zu_map_shared(2 * sizeof(*h));
	long long stored0, stored1, hits0, hits1, fb0, fb1, rej0, rej1, wb0;
	long long idx0, indexed;

	if (access(FAILSLAB, F_OK) || access(DUP_FAILSLAB, W_OK))
		SKIP(return, "needs CONFIG_FAILSLAB and slab_nomerge (make check boots with both)");
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

/* ========================================================================
 * 4. a popular object cannot make a store write back all its slots
 */
#define POP_N 32768		/* slots of the one object (128 MiB of pages) */
#define POP_U 256		/* stores over the limit, one page each */
#define POP_SLOTS 32		/* ZSWAP_STORE_SLOTS: SWAP_CLUSTER_MAX */

/* The min watermarks of all zones together, in kB */
static long long min_watermark_kb(void)
{
	return zu_read_ll("/proc/sys/vm/min_free_kbytes");
}

/* MemFree of /proc/meminfo ("MemFree: N kB"), in kB; -1 if unreadable */
static long long mem_free_kb(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	long long kb = -1;
	char line[128];

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "MemFree: %lld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb;
}

TEST_F_TIMEOUT(reclaim, popular_writeback_bounded, TEST_TIMEOUT)
{
	uint32_t *idx = calloc(POP_N, sizeof(*idx));	/* all page 0 */
	char *ref = zu_ref_alloc(POP_U + 1, 0x7400000);
	struct holder *h = zu_map_shared(sizeof(*h));
	long long wb, wb_max = 0, wb_total = 0, free_min = -1, min_kb, f;
	double t, t_max = 0;
	char *uniq;
	size_t bad;

	ASSERT_NE(NULL, idx);
	ASSERT_NE(NULL, ref);
	ASSERT_NE(NULL, h);
	ASSERT_EQ(0, cg_create(self->work));
	/* only stores write back: no dynamic shrinker */
	ASSERT_EQ(0, zu_param_write("shrinker_enabled", "N"));

	*h = (struct holder){ .ref = ref, .idx = idx, .n = POP_N };
	holder_store(_metadata, h, self->work);
	TH_LOG("one object, %lld shared slots", zu_debugfs("dedup_shared_slots"));
	ASSERT_GE(zu_debugfs("dedup_shared_slots"), pct(POP_N, 95));

	/* the cgroup is far over its limit: every store has to make room */
	ASSERT_EQ(0, cg_write(self->work, "memory.zswap.max", "4096"));
	ASSERT_EQ(0, cg_enter_current(self->work));
	uniq = zu_map(POP_U);
	ASSERT_NE(NULL, uniq);
	zu_fill_ref(uniq, ref + PAGE, NULL, POP_U);
	min_kb = min_watermark_kb();
	for (int i = 0; i < POP_U; i++) {
		wb = zu_vmstat("zswpwb");
		t = zu_now();
		ASSERT_EQ(0, zu_pageout(uniq + i * PAGE, PAGE));
		t = zu_now() - t;
		wb = zu_vmstat("zswpwb") - wb;
		f = mem_free_kb();
		wb_total += wb;
		if (wb > wb_max)
			wb_max = wb;
		if (t > t_max)
			t_max = t;
		if (free_min < 0 || f < free_min)
			free_min = f;
	}
	ASSERT_EQ(0, cg_enter_current(self->self));
	TH_LOG("%d stores over the limit: %lld slots written back, at most %lld "
	       "by one store; longest store %.3f s; lowest MemFree %lld kB "
	       "(min watermarks %lld kB)", POP_U, wb_total, wb_max, t_max,
	       free_min, min_kb);
	bad = zu_count_corrupt_ref(uniq, ref + PAGE, NULL, POP_U);
	ASSERT_EQ(CHILD_OK, holder_finish(h)) TH_LOG("%zu corrupt", h->corrupt);
	ASSERT_EQ(0UL, bad);
	ASSERT_LE(wb_max, POP_SLOTS);
	ASSERT_GE(free_min, 2 * min_kb);
	zu_unmap(uniq, POP_U);
	free(idx);
}

/* ========================================================================
 * 5. under memory.zswap.max, a hit costs its slot, not a page
 */
#define HUL_N 8192		/* pages: 4096 contents, 4096 further copies */
#define HUL_MAX "4194304"	/* memory.zswap.max: 4 MiB */

struct hul_run {
	long long kept;		/* the workload's pages in zswap (zswapped) */
	long long written;	/* pages written back (zswpwb) */
	long long disk;		/* pages written to the swap device (pswpout):
				 * written back, or rejected by zswap */
};

static void hul_run(struct __test_metadata *_metadata,
		    FIXTURE_DATA(reclaim) *self, bool dedup, const char *ref,
		    const uint32_t *idx, struct hul_run *r)
{
	struct holder *h = zu_map_shared(sizeof(*h));

	ASSERT_NE(NULL, h);
	ASSERT_EQ(0, zu_param_write("dedup_enabled", dedup ? "Y" : "N"));
	cg_destroy(self->work);
	ASSERT_EQ(0, cg_create(self->work));
	ASSERT_EQ(0, cg_write(self->work, "memory.zswap.max", HUL_MAX));
	*h = (struct holder){ .ref = ref, .idx = idx, .n = HUL_N };
	r->disk = zu_vmstat("pswpout");
	holder_store(_metadata, h, self->work);
	r->disk = zu_vmstat("pswpout") - r->disk;
	memcg_stats_settle();
	r->kept = cg_stat(self->work, "zswapped ") / (long)PAGE;
	r->written = cg_stat(self->work, "zswpwb ");
	ASSERT_EQ(CHILD_OK, holder_finish(h)) TH_LOG("%zu corrupt", h->corrupt);
	TH_LOG("dedup %s: %lld of %d pages kept in zswap, %lld written to the "
	       "swap device, %lld of them written back", dedup ? "on " : "off",
	       r->kept, HUL_N, r->disk, r->written);
	munmap(h, sizeof(*h));
}

TEST_F_TIMEOUT(reclaim, hits_under_limit, TEST_TIMEOUT)
{
	uint32_t *idx = zu_idx_shuffled(HUL_N, HUL_N / 2, 0x75);
	char *ref = zu_ref_alloc(HUL_N / 2, 0x7500000);
	struct hul_run on, off;

	ASSERT_NE(NULL, idx);
	ASSERT_NE(NULL, ref);
	/* the stores make room themselves: no dynamic shrinker */
	ASSERT_EQ(0, zu_param_write("shrinker_enabled", "N"));
	hul_run(_metadata, self, false, ref, idx, &off);
	hul_run(_metadata, self, true, ref, idx, &on);
	TH_LOG("dedup on/off: %.2fx the pages kept, %.2fx the pages written to "
	       "the swap device, %.2fx the pages written back",
	       off.kept ? (double)on.kept / off.kept : 0,
	       off.disk ? (double)on.disk / off.disk : 0,
	       off.written ? (double)on.written / off.written : 0);
	ASSERT_GT(off.disk, 0);
	ASSERT_GE(on.kept * 10, off.kept * 18);
	/*
	 * Pages that leave for the swap device, whether zswap wrote them back
	 * or rejected their store: stock rejects about every other store over
	 * the limit (its one-item walk finds a referenced entry), which makes
	 * its writeback count alone look small.
	 */
	ASSERT_LE(on.disk * 10, off.disk * 6);
	free(idx);
}

/* ========================================================================
 * 6. no default domain where a tenant's own memcg does not hold the page
 */
#define DOM_K 256

struct dom_child {
	struct zu_barrier bar;
	const char *ref;
	const char *park;	/* move here after filling, or NULL */
	size_t corrupt;
};

/* Fill DOM_K pages, move to ->park, wait, page out, wait, check. */
static int dom_child_fn(void *arg)
{
	struct dom_child *c = arg;
	char *buf = zu_map(DOM_K);

	if (!buf)
		return CHILD_NOMEM;
	zu_fill_ref(buf, c->ref, NULL, DOM_K);
	if (c->park && cg_enter_current(c->park))
		return CHILD_CG;
	if (zu_barrier_wait(&c->bar, BAR_TIMEOUT))	/* filled */
		return CHILD_SYNC;
	if (zu_barrier_wait(&c->bar, BAR_TIMEOUT))	/* go */
		return CHILD_SYNC;
	if (zu_pageout(buf, DOM_K * PAGE))
		return CHILD_PAGEOUT;
	if (zu_barrier_wait(&c->bar, BAR_TIMEOUT) ||	/* stored */
	    zu_barrier_wait(&c->bar, BAR_TIMEOUT))	/* check */
		return CHILD_SYNC;
	c->corrupt = zu_count_corrupt_ref(buf, c->ref, NULL, DOM_K);
	return c->corrupt ? CHILD_CORRUPT : CHILD_OK;
}

/*
 * Two processes hold the same DOM_K pages, each charged to cgroup @cg[i]
 * (NULL: the root cgroup) and, if @park, then moved to @park and the
 * cgroups removed before the pages go out.  Returns the dedup hits and
 * hashed pages of the two page-outs, run one after the other.
 */
static void dom_pair(struct __test_metadata *_metadata, const char *cg[2],
		     const char *park, const char *ref, long long *hits,
		     long long *hashed)
{
	struct dom_child *c = zu_map_shared(2 * sizeof(*c));
	long long h0, x0;
	pid_t pid[2];

	ASSERT_NE(NULL, c);
	for (int i = 0; i < 2; i++) {
		c[i] = (struct dom_child){ .ref = ref, .park = park };
		zu_barrier_init(&c[i].bar, 2);
		pid[i] = zu_spawn(cg[i] ?: CG_ROOT, dom_child_fn, &c[i]);
		ASSERT_LT(0, pid[i]);
		ASSERT_EQ(0, zu_barrier_wait(&c[i].bar, BAR_TIMEOUT));
	}
	for (int i = 0; park && i < 2; i++) {
		const char *gone = cg[i];

		ASSERT_EQ(0, cg_destroy(gone)) TH_LOG("rmdir %s", gone);
	}
	/* a removed cgroup goes offline asynchronously, after a grace period */
	if (park)
		sleep(2);
	h0 = zu_debugfs("dedup_hits");
	x0 = zu_debugfs("dedup_hashed");
	for (int i = 0; i < 2; i++) {
		ASSERT_EQ(0, zu_barrier_wait(&c[i].bar, BAR_TIMEOUT));
		ASSERT_EQ(0, zu_barrier_wait(&c[i].bar, BAR_TIMEOUT));
	}
	*hits = zu_debugfs("dedup_hits") - h0;
	*hashed = zu_debugfs("dedup_hashed") - x0;
	for (int i = 0; i < 2; i++) {
		zu_barrier_wait(&c[i].bar, BAR_TIMEOUT);
		ASSERT_EQ(CHILD_OK, zu_wait_child(pid[i]))
			TH_LOG("child %d: %zu corrupt", i, c[i].corrupt);
	}
	munmap(c, 2 * sizeof(*c));
}

/*
 * Tenants A and B under one parent hold the same pages, leave their
 * cgroups (moved to a third) and the cgroups are removed: their swap slots
 * are recorded under the parent (the nearest online ancestor), but the
 * pages are neither hashed nor merged.  The control: the same two
 * processes in one online cgroup merge.
 */
TEST_F_TIMEOUT(reclaim, offline_memcg_unmerged, TEST_TIMEOUT)
{
	char a[320], b[320], park[320];
	const char *cg[2] = { a, b };
	char *ref = zu_ref_alloc(DOM_K, 0x7600000);
	long long hits, hashed;

	ASSERT_NE(NULL, ref);
	snprintf(a, sizeof(a), "%s/A", self->top);
	snprintf(b, sizeof(b), "%s/B", self->top);
	snprintf(park, sizeof(park), "%s/park", self->top);
	ASSERT_EQ(0, cg_create(park));

	/* control: both in one online cgroup */
	ASSERT_EQ(0, cg_create(a));
	cg[1] = a;
	dom_pair(_metadata, cg, NULL, ref, &hits, &hashed);
	TH_LOG("one online cgroup: %lld hashed, %lld hits", hashed, hits);
	ASSERT_GE(hits, pct(DOM_K, 85));
	ASSERT_EQ(0, cg_destroy(a));

	ASSERT_EQ(0, cg_create(a));
	ASSERT_EQ(0, cg_create(b));
	cg[1] = b;
	dom_pair(_metadata, cg, park, ref, &hits, &hashed);
	TH_LOG("two removed sibling cgroups: %lld hashed, %lld hits", hashed,
	       hits);
	ASSERT_EQ(0, hits);
	ASSERT_EQ(0, hashed);
	cg_destroy(park);
}

/* Without a policy, the root cgroup's pages are not merged. */
TEST_F_TIMEOUT(reclaim, root_cgroup_unmerged, TEST_TIMEOUT)
{
	const char *cg[2] = { NULL, NULL };
	char *ref = zu_ref_alloc(DOM_K, 0x7700000);
	long long hits, hashed;

	ASSERT_NE(NULL, ref);
	dom_pair(_metadata, cg, NULL, ref, &hits, &hashed);
	TH_LOG("root cgroup: %lld hashed, %lld hits", hashed, hits);
	ASSERT_EQ(0, hits);
	ASSERT_EQ(0, hashed);
}

/* ========================================================================
 * 7. publish before share, with a widened window
 */
#define PBS_WORKERS 4
#define PBS_PAGES 64		/* per worker and round */
#define PBS_CONTENTS 16		/* distinct contents */
#define PBS_SECONDS 20
#define PBS_MASK "0x7"		/* 8 content hashes: constant collisions */
#define PBS_DELAY_US "200"

struct pbs_worker {
	const char *ref;
	uint64_t seed;
	size_t corrupt;
	long rounds;
};

/*
 * Round after round: fill pages with random contents of a small set,
 * page them out, read some back, invalidate others, check every page.
 * With few hashes every lookup walks colliding entries that other workers
 * free and reuse meanwhile.
 */
static int pbs_worker_fn(void *arg)
{
	struct pbs_worker *w = arg;
	uint32_t idx[PBS_PAGES];
	double end = zu_now() + PBS_SECONDS;
	char *buf = zu_map(PBS_PAGES);

	if (!buf)
		return CHILD_NOMEM;
	while (zu_now() < end) {
		for (int i = 0; i < PBS_PAGES; i++)
			idx[i] = zu_rand(&w->seed) % PBS_CONTENTS;
		zu_fill_ref(buf, w->ref, idx, PBS_PAGES);
		if (zu_pageout(buf, PBS_PAGES * PAGE))
			return CHILD_PAGEOUT;
		w->corrupt += zu_count_corrupt_ref(buf, w->ref, idx, PBS_PAGES);
		if (zu_pageout(buf, PBS_PAGES * PAGE))
			return CHILD_PAGEOUT;
		madvise(buf, PBS_PAGES * PAGE / 2, MADV_DONTNEED);
		w->rounds++;
	}
	return w->corrupt ? CHILD_CORRUPT : CHILD_OK;
}

TEST_F_TIMEOUT(reclaim, publish_before_share, TEST_TIMEOUT)
{
	struct pbs_worker *w = zu_map_shared(PBS_WORKERS * sizeof(*w));
	char *ref = zu_ref_alloc(PBS_CONTENTS, 0x7800000);
	long long stored0, objects0, entries0, rounds = 0;
	char mask[32];
	pid_t pid[PBS_WORKERS];
	int rc;

	if (zu_debugfs_read_str("dedup_lookup_delay_us", mask, sizeof(mask)))
		SKIP(return, "needs CONFIG_ZSWAP_DEDUP_DEBUG");
	ASSERT_NE(NULL, w);
	ASSERT_NE(NULL, ref);
	ASSERT_EQ(0, cg_create(self->work));
	ASSERT_EQ(0, zu_debugfs_read_str("dedup_hash_mask", mask, sizeof(mask)));
	stored0 = zu_debugfs("stored_pages");
	objects0 = zu_debugfs("stored_objects");
	entries0 = zu_debugfs("dedup_index_entries");

	ASSERT_EQ(0, zu_debugfs_write_str("dedup_hash_mask", PBS_MASK));
	ASSERT_EQ(0, zu_debugfs_write_str("dedup_lookup_delay_us", PBS_DELAY_US));
	for (int i = 0; i < PBS_WORKERS; i++) {
		w[i] = (struct pbs_worker){ .ref = ref, .seed = 0x78 + i };
		pid[i] = zu_spawn(self->work, pbs_worker_fn, &w[i]);
	}
	for (int i = 0; i < PBS_WORKERS; i++) {
		rc = zu_wait_child(pid[i]);
		rounds += w[i].rounds;
		EXPECT_EQ(CHILD_OK, rc) TH_LOG("worker %d: %zu corrupt", i,
					       w[i].corrupt);
	}
	zu_debugfs_write_str("dedup_lookup_delay_us", "0");
	zu_debugfs_write_str("dedup_hash_mask", mask);
	TH_LOG("%lld rounds of %d pages by %d workers; stored pages %lld -> %lld,"
	       " objects %lld -> %lld, index %lld -> %lld", rounds, PBS_PAGES,
	       PBS_WORKERS, stored0, zu_debugfs("stored_pages"), objects0,
	       zu_debugfs("stored_objects"), entries0,
	       zu_debugfs("dedup_index_entries"));
	ASSERT_GT(rounds, 0);
	ASSERT_EQ(stored0, zu_debugfs("stored_pages"));
	ASSERT_EQ(objects0, zu_debugfs("stored_objects"));
	ASSERT_EQ(entries0, zu_debugfs("dedup_index_entries"));
}

/* ========================================================================
 * 6. a large folio that fails part way is rolled back, shared slots too
 */
#define LFR_FOLIOS 64
#define LFR_N (LFR_FOLIOS * FOLIO_PAGES)	/* the folios' pages */
#define LFR_K (LFR_N / 2)			/* contents stored first */
#define ENTRY_FAILSLAB "/sys/kernel/slab/zswap_entry/failslab"

static long long mthp_64k_stat(const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), MTHP_64K "/stats/%s", name);
	return zu_read_ll(path);
}

/* Make a tenth of the allocations from the zswap_entry cache fail, or none. */
static int entry_allocs_fail(bool fail)
{
	return cache_allocs_fail(ENTRY_FAILSLAB, fail ? "10" : "0");
}

/* Copy the word in brackets of an mTHP "enabled" file ("always [inherit] ..."). */
static int mthp_selected(char *buf, size_t len)
{
	char line[128], *start, *end;
	FILE *f = fopen(MTHP_64K "/enabled", "r");

	if (!f)
		return -1;
	start = fgets(line, sizeof(line), f) ? strchr(line, '[') : NULL;
	fclose(f);
	end = start ? strchr(start, ']') : NULL;
	if (!end || (size_t)(end - start) >= len)
		return -1;
	*end = '\0';
	snprintf(buf, len, "%s", start + 1);
	return 0;
}

TEST_F_TIMEOUT(reclaim, large_folio_rollback, TEST_TIMEOUT)
{
	char *ref = zu_ref_alloc(LFR_N, 0x7900000);
	uint32_t *idx_a = zu_idx_copies(LFR_K, 1, 0);
	uint32_t *idx_b = malloc(LFR_N * sizeof(*idx_b));
	struct holder *h = zu_map_shared(2 * sizeof(*h));
	long long stored0, objects0, entries0, stored1, rej0, rej1, out0, out1;
	long long large0, large1, zswpout0, zswpout1;

	if (access(MTHP_64K "/enabled", W_OK) || mthp_64k_stat("zswpout") < 0)
		SKIP(return, "no 64 KiB mTHP or zswap stores no large folios (6.12)");
	if (access(FAILSLAB, F_OK) || access(ENTRY_FAILSLAB, W_OK))
		SKIP(return, "needs CONFIG_FAILSLAB and slab_nomerge (make check boots with both)");
	ASSERT_NE(NULL, ref);
	ASSERT_NE(NULL, idx_a);
	ASSERT_NE(NULL, idx_b);
	ASSERT_NE(NULL, h);
	ASSERT_EQ(0, cg_create(self->work));
	ASSERT_EQ(0, mthp_selected(self->mthp, sizeof(self->mthp)));
	ASSERT_EQ(0, zu_write_file(MTHP_64K "/enabled", "always"));
	/* No writeback: every slot stays where the stores left it. */
	ASSERT_EQ(0, zu_param_write("shrinker_enabled", "N"));
	stored0 = zu_debugfs("stored_pages");
	objects0 = zu_debugfs("stored_objects");
	entries0 = zu_debugfs("dedup_index_entries");

	/* A: contents 0..LFR_K-1, in base pages, no fault */
	h[0] = (struct holder){ .ref = ref, .idx = idx_a, .n = LFR_K };
	holder_store(_metadata, &h[0], self->work);

	/*
	 * B: 64 KiB folios whose even pages are copies of A's contents (hits:
	 * a slot, no entry allocated) and odd pages unique (misses: an entry
	 * each).  A folio's first page is a hit, so a folio whose k-th miss
	 * fails has shared one of A's objects at least before rolling back.
	 */
	for (size_t i = 0; i < LFR_N; i++)
		idx_b[i] = i % 2 ? LFR_K + i / 2 : i / 2;
	memcg_stats_settle();
	zswpout0 = cg_stat(self->work, "zswpout ");
	stored1 = zu_debugfs("stored_pages");
	rej0 = zu_debugfs("reject_kmemcache_fail");
	large0 = mthp_64k_stat("zswpout");
	out0 = mthp_64k_stat("swpout");
	ASSERT_EQ(0, entry_allocs_fail(true)) {
		entry_allocs_fail(false);
	}
	h[1] = (struct holder){ .ref = ref, .idx = idx_b, .n = LFR_N, .large = true };
	holder_store(_metadata, &h[1], self->work);
	ASSERT_EQ(0, entry_allocs_fail(false));
	memcg_stats_settle();
	zswpout1 = cg_stat(self->work, "zswpout ");
	rej1 = zu_debugfs("reject_kmemcache_fail");
	large1 = mthp_64k_stat("zswpout");
	out1 = mthp_64k_stat("swpout");
	TH_LOG("%d folios: %lld stored whole, %lld to the swap device, %lld "
	       "entry allocations failed; slots %+lld for %lld pages stored",
	       LFR_FOLIOS, large1 - large0, out1 - out0, rej1 - rej0,
	       zu_debugfs("stored_pages") - stored1, zswpout1 - zswpout0);
	ASSERT_GT(rej1 - rej0, 0);
	ASSERT_GT(large1 - large0, 0);
	ASSERT_GT(out1 - out0, 0);	/* rolled back, then written to disk */
	/* a rolled-back folio leaves no slot: every slot is a stored page */
	ASSERT_EQ(zswpout1 - zswpout0, zu_debugfs("stored_pages") - stored1);

	ASSERT_EQ(CHILD_OK, holder_finish(&h[0])) TH_LOG("A: %zu corrupt", h[0].corrupt);
	ASSERT_EQ(CHILD_OK, holder_finish(&h[1])) TH_LOG("B: %zu corrupt", h[1].corrupt);
	ASSERT_EQ(stored0, zu_debugfs("stored_pages"));
	ASSERT_EQ(objects0, zu_debugfs("stored_objects"));
	ASSERT_EQ(entries0, zu_debugfs("dedup_index_entries"));
	free(idx_a);
	free(idx_b);
}

TEST_HARNESS_MAIN

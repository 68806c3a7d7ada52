// SPDX-License-Identifier: GPL-2.0
/*
 * zswap dedup: one test per behaviour the design promises (design.md,
 * "Invariants").  Every workload runs in its own fresh memory cgroup under
 * /sys/fs/cgroup, because with no BPF policy pages merge only within their
 * memory cgroup; the test process enters that cgroup before it touches any
 * workload memory, so the pages are charged there.  Pages are pushed into
 * zswap with MADV_PAGEOUT by the process that owns them, and their content
 * is text-like (zu_fill_page(), compresses 2-4x): zero-filled pages never
 * reach zswap.  Counters come from /sys/kernel/debug/zswap.
 *
 *   integrity.*.mixed_content     unique pages, duplicates within and across
 *                                 processes, content rewritten between
 *                                 swap-outs: every page reads back intact
 *                                 (invariants 1, 2), per compressor
 *   integrity.*.compressor_switch after a compressor change, copies of
 *                                 content stored by the retired pool are
 *                                 stored in the new pool, not merged with
 *                                 the old objects, and all read back intact
 *   dedup.dedup_happens           N copies of K pages: ~(N-1)K hits, ~K index
 *                                 entries, pool and memcg charge far below
 *                                 the same workload with dedup off
 *   dedup.isolation               the same content in sibling cgroups is not
 *                                 merged (invariant 8)
 *   dedup.incompressible_shared   three copies of random pages in one
 *                                 cgroup: with dedup, the first goes to
 *                                 swap, the second is stored raw and the
 *                                 third shares it; without, zswap
 *                                 rejects every copy (6.12); where zswap
 *                                 stores such pages raw itself (7.3),
 *                                 the first copy is stored raw and the
 *                                 others share it
 *   dedup.collisions              forced hash collisions (dedup_hash_mask)
 *                                 never merge different content (invariant 2)
 *   dedup.writeback_shared        shared objects written back to the swap
 *                                 device read back intact (invariant 3)
 *   dedup.swapoff_shared          swapoff brings shared pages back intact and
 *                                 empties the index
 *   dedup.toggle_under_load       flipping dedup_enabled while storing and
 *                                 loading duplicates loses nothing
 *   dedup.balance                 counters and memcg charges return to where
 *                                 they started once every slot is gone
 *                                 (invariant 4)
 *   dedup.concurrency             4 processes storing and loading the same
 *                                 content at once (invariants 3, 6)
 *   dedup.tracepoint              zswap:zswap_dedup_store reports every
 *                                 decision (misses, hits) with the cgroup
 *                                 and domain; nothing while dedup is off
 *
 * On a kernel without dedup (no debugfs zswap/dedup_hits) every test
 * SKIPs.  With ZDEDUP_TEST_STOCK=1 in the environment the tests that make
 * sense without dedup run anyway, with their dedup assertions left out:
 * that checks the tests themselves against a stock kernel.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* The harness's SIGALRM handler has an unused parameter. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#pragma GCC diagnostic pop
/*
 * The harness's TEST_F wrapper sets "child" between its setjmp() and the
 * longjmp() of a failed ASSERT, so gcc may warn (-Wclobbered) depending on
 * what it inlines.  The consequence, a teardown skipped after a failed
 * ASSERT, is covered here: every setup re-creates the state a test needs
 * (swap on, dedup on, default hash mask, a fresh cgroup) and the suite
 * restores the original settings when it exits.
 */
#pragma GCC diagnostic ignored "-Wclobbered"
#include "cgroup_util.h"
#include "zswap_util.h"

#define CG_ROOT "/sys/fs/cgroup"
#define SWAP_DEV "/dev/ram0"
#define MASK_DEFAULT "0xffffffffffffffff"
#define TEST_TIMEOUT 150	/* seconds per test; the VM is TCG + lockdep */
#define BAR_TIMEOUT 60.0	/* seconds to wait for a sibling process */
#define PAGE ZU_PAGE_SIZE
#define PAGE_B ((long long)ZU_PAGE_SIZE)	/* for byte counts */


/* Exit codes of the helper processes a test forks. */

/* ------------------------------------------------------------------------
 * Global state: what the suite found at start, restored when it ends
 * even if a test was killed by the harness's timeout before its teardown.
 */
static struct {
	pid_t pid;
	char enabled[8];
	char compressor[64];
	char mask[64];
	bool have_enabled, have_compressor, have_mask, swap_on;
} orig;

static void ensure_swap_on(void)
{
	if (!zu_swap_active(SWAP_DEV) && system("swapon " SWAP_DEV))
		fprintf(stderr, "# swapon " SWAP_DEV " failed\n");
}

/* Write a zswap parameter back to @value unless it already has it. */
static void param_restore(const char *name, const char *value)
{
	char cur[64];

	if (zu_param_read(name, cur, sizeof(cur)) || strcmp(cur, value))
		zu_param_write(name, value);
}

static void restore_orig(void)
{
	char cur[64];

	if (orig.have_enabled)
		param_restore("dedup_enabled", orig.enabled);
	if (orig.have_compressor)
		param_restore("compressor", orig.compressor);
	if (orig.have_mask &&
	    (zu_debugfs_read_str("dedup_hash_mask", cur, sizeof(cur)) ||
	     strcmp(cur, orig.mask)))
		zu_debugfs_write_str("dedup_hash_mask", orig.mask);
}

static void __attribute__((constructor)) save_orig(void)
{
	orig.pid = getpid();
	orig.have_enabled = !zu_param_read("dedup_enabled", orig.enabled,
					   sizeof(orig.enabled));
	orig.have_compressor = !zu_param_read("compressor", orig.compressor,
					      sizeof(orig.compressor));
	orig.have_mask = !zu_debugfs_read_str("dedup_hash_mask", orig.mask,
					      sizeof(orig.mask));
	orig.swap_on = zu_swap_active(SWAP_DEV);
}

static void __attribute__((destructor)) suite_end(void)
{
	if (getpid() != orig.pid)
		return;
	restore_orig();
	if (orig.swap_on)
		ensure_swap_on();
}

static bool stock_mode(void)
{
	const char *e = getenv("ZDEDUP_TEST_STOCK");

	return e && *e == '1';
}

/* ------------------------------------------------------------------------
 * zswap counters
 */
struct zstat {
	long long stored, pool, written_back;
	long long pswpout, rejects;	/* pages written to disk, stores refused */
	long long hits, collisions, hashed, entries, shared, saved, meta;
	long long vm_dedup;
};

static const char *const reject_files[] = {
	"reject_reclaim_fail", "reject_alloc_fail", "reject_kmemcache_fail",
	"reject_compress_fail", "reject_compress_poor", "pool_limit_hit",
};

static void zstat_read(struct zstat *s)
{
	s->stored = zu_debugfs("stored_pages");
	s->pool = zu_debugfs("pool_total_size");
	s->written_back = zu_debugfs("written_back_pages");
	s->pswpout = zu_vmstat("pswpout");
	s->rejects = 0;
	for (size_t i = 0; i < ARRAY_SIZE(reject_files); i++)
		s->rejects += zu_debugfs(reject_files[i]);
	s->hits = zu_debugfs("dedup_hits");
	s->collisions = zu_debugfs("dedup_collisions");
	s->hashed = zu_debugfs("dedup_hashed");
	s->entries = zu_debugfs("dedup_index_entries");
	s->shared = zu_debugfs("dedup_shared_slots");
	s->saved = zu_debugfs("dedup_saved_bytes");
	/*
	 * Per-object metadata: dedup_meta_bytes also counts the index's
	 * bucket array, which shrinks only after the index has been sparse
	 * for a while (the reclaim suite checks that).
	 */
	s->meta = zu_debugfs("dedup_meta_bytes");
	if (zu_debugfs("dedup_index_bytes") >= 0)
		s->meta -= zu_debugfs("dedup_index_bytes");
	s->vm_dedup = zu_vmstat("zswpout_dedup");
}

/* Difference b - a of every counter. */
static struct zstat zstat_delta(const struct zstat *a, const struct zstat *b)
{
	return (struct zstat){
		.stored = b->stored - a->stored,
		.pool = b->pool - a->pool,
		.written_back = b->written_back - a->written_back,
		.pswpout = b->pswpout - a->pswpout,
		.rejects = b->rejects - a->rejects,
		.hits = b->hits - a->hits,
		.collisions = b->collisions - a->collisions,
		.hashed = b->hashed - a->hashed,
		.entries = b->entries - a->entries,
		.shared = b->shared - a->shared,
		.saved = b->saved - a->saved,
		.meta = b->meta - a->meta,
		.vm_dedup = b->vm_dedup - a->vm_dedup,
	};
}

#define LOG_DELTA(what, d)						\
	TH_LOG("%s: stored %+lld pool %+lld B wb %+lld disk %+lld "	\
	       "rejects %+lld | hits %+lld coll %+lld hashed %+lld "	\
	       "entries %+lld shared %+lld saved %+lld B meta %+lld B "	\
	       "vm_dedup %+lld", what, (d).stored, (d).pool,		\
	       (d).written_back, (d).pswpout, (d).rejects, (d).hits,	\
	       (d).collisions, (d).hashed, (d).entries, (d).shared,	\
	       (d).saved, (d).meta, (d).vm_dedup)

/* p percent of x, for "at least 95% of the expected count". */
static long long pct(long long x, int p)
{
	return x * p / 100;
}

/*
 * memcg statistics are flushed lazily (a pending change below a batch
 * threshold is invisible to readers); the periodic flush runs every 2 s.
 */
static void memcg_stats_settle(void)
{
	usleep(2500 * 1000);
}

static long cg_zswap_current(const char *cg)
{
	return cg_read_long(cg, "memory.zswap.current");
}

/* ------------------------------------------------------------------------
 * workloads
 */

/*
 * A helper process's workload: its own @n pages built from @ref by @idx,
 * stored and checked in steps synchronised with the test by @bar.
 */
struct peer {
	const char *ref;
	const uint32_t *idx;
	size_t n;
	struct zu_barrier *bar;
	size_t *corrupt;	/* shared: pages found corrupt */
};

/* Shared memory between a test and its peers. */
struct sync {
	struct zu_barrier bar[2];
	size_t corrupt[2];
};

/* ------------------------------------------------------------------------
 * fixtures
 */

/* Common per-test state: the test's cgroup (and a sibling, if used). */
struct env {
	char cg[256];
	char cg2[264];
	bool dedup;		/* the kernel has dedup */
};

/* Why this test cannot run here, or NULL. */
static const char *env_skip_reason(bool needs_dedup)
{
	if (access(ZSWAP_PARAMS "/enabled", F_OK))
		return "zswap is not configured";
	if (zu_have_dedup())
		return NULL;
	if (needs_dedup || !stock_mode())
		return "no zswap dedup in this kernel (no debugfs zswap/dedup_hits)";
	return NULL;
}

static void cg_remove(const char *cg)
{
	if (cg[0])
		cg_destroy(cg);
}

static void env_setup(struct __test_metadata *_metadata, struct env *e)
{
	e->dedup = zu_have_dedup();
	ensure_swap_on();
	ASSERT_TRUE(zu_swap_active(SWAP_DEV));
	ASSERT_EQ(0, zu_param_write("enabled", "Y"));
	if (e->dedup)
		ASSERT_EQ(0, zu_param_write("dedup_enabled", "Y"));
	if (orig.have_mask)
		ASSERT_EQ(0, zu_debugfs_write_str("dedup_hash_mask", MASK_DEFAULT));

	snprintf(e->cg, sizeof(e->cg), CG_ROOT "/zdedup_%s", _metadata->name);
	cg_destroy(e->cg);	/* left over by a test killed on timeout */
	ASSERT_EQ(0, cg_create(e->cg));
	ASSERT_EQ(0, cg_enter_current(e->cg));
}

static void env_teardown(struct env *e)
{
	cg_enter_current(CG_ROOT);
	cg_remove(e->cg);
	cg_remove(e->cg2);
	restore_orig();
	ensure_swap_on();
}

/* A sibling cgroup of the test's own. */
static void env_add_sibling(struct __test_metadata *_metadata, struct env *e)
{
	snprintf(e->cg2, sizeof(e->cg2), "%s_b", e->cg);
	cg_destroy(e->cg2);
	ASSERT_EQ(0, cg_create(e->cg2));
}

/* ========================================================================
 * integrity: every page reads back as written, for each compressor
 */
FIXTURE(integrity) {
	struct env env;
};

FIXTURE_VARIANT(integrity) {
	const char *compressor;
	const char *next;	/* for compressor_switch */
};

FIXTURE_VARIANT_ADD(integrity, lzo) { .compressor = "lzo", .next = "lz4" };
FIXTURE_VARIANT_ADD(integrity, lz4) { .compressor = "lz4", .next = "zstd" };
FIXTURE_VARIANT_ADD(integrity, zstd) { .compressor = "zstd", .next = "lzo" };

FIXTURE_SETUP(integrity)
{
	const char *why = env_skip_reason(false);

	if (why)
		SKIP(return, "%s", why);
	env_setup(_metadata, &self->env);
	ASSERT_EQ(0, zu_param_write("compressor", variant->compressor));
}

FIXTURE_TEARDOWN(integrity)
{
	env_teardown(&self->env);
}

#define MIX_K 256	/* distinct pages per content class */

/*
 * The peer of mixed_content: a second process in the same cgroup holding
 * copies of the parent's duplicated and of its unique content.
 */
static int mixed_peer(void *arg)
{
	struct peer *p = arg;
	char *buf = zu_map(p->n);
	size_t bad;

	if (!buf)
		return CHILD_NOMEM;
	zu_fill_ref(buf, p->ref, p->idx, p->n);
	if (zu_barrier_wait(p->bar, BAR_TIMEOUT))		/* 1: filled */
		return CHILD_SYNC;
	if (zu_pageout(buf, p->n * PAGE))
		return CHILD_PAGEOUT;
	if (zu_barrier_wait(p->bar, BAR_TIMEOUT) ||		/* 2: stored */
	    zu_barrier_wait(p->bar, BAR_TIMEOUT))		/* 3: rewritten */
		return CHILD_SYNC;
	bad = zu_count_corrupt_ref(buf, p->ref, p->idx, p->n);
	if (zu_pageout(buf, p->n * PAGE))
		return CHILD_PAGEOUT;
	bad += zu_count_corrupt_ref(buf, p->ref, p->idx, p->n);
	*p->corrupt = bad;
	return bad ? CHILD_CORRUPT : CHILD_OK;
}

/*
 * Parent: MIX_K unique pages, then 3 copies of MIX_K "shared" pages.  Peer:
 * a copy of the shared pages and a copy of the parent's unique pages.
 * After both stored everything the parent rewrites a third of its copies
 * with new content and a third with its unique pages' content (a hit on an
 * object another slot holds), stores again, then both check, store and
 * check once more.  Reference pages: [0,K) shared, [K,2K) unique,
 * [2K,3K) rewrite content.
 */
TEST_F_TIMEOUT(integrity, mixed_content, TEST_TIMEOUT)
{
	const size_t k = MIX_K, n = 4 * MIX_K;
	uint32_t idx[4 * MIX_K], peer_idx[2 * MIX_K];
	struct zstat s0, s1, d;
	struct zu_barrier *bar;
	size_t *peer_bad, bad;
	struct sync *sy;
	char *ref, *buf;
	struct peer p;
	pid_t pid;

	ref = zu_ref_alloc(3 * k, 0x1000000);
	buf = zu_map(n);
	sy = zu_map_shared(sizeof(*sy));
	ASSERT_NE(NULL, ref);
	ASSERT_NE(NULL, buf);
	ASSERT_NE(NULL, sy);
	bar = &sy->bar[0];
	peer_bad = &sy->corrupt[0];
	zu_barrier_init(bar, 2);

	for (size_t i = 0; i < k; i++) {
		idx[i] = k + i;			/* unique */
		peer_idx[i] = i;		/* shared, across processes */
		peer_idx[k + i] = k + i;	/* parent's unique, across */
	}
	for (size_t i = k; i < n; i++)
		idx[i] = i % k;			/* 3 copies within the process */

	p = (struct peer){ .ref = ref, .idx = peer_idx, .n = 2 * k,
			   .bar = bar, .corrupt = peer_bad };
	pid = zu_spawn(NULL, mixed_peer, &p);
	ASSERT_LT(0, pid);

	zu_fill_ref(buf, ref, idx, n);
	zstat_read(&s0);
	ASSERT_EQ(0, zu_barrier_wait(bar, BAR_TIMEOUT));	/* 1 */
	ASSERT_EQ(0, zu_pageout(buf, n * PAGE));
	ASSERT_EQ(0, zu_barrier_wait(bar, BAR_TIMEOUT));	/* 2 */
	zstat_read(&s1);
	d = zstat_delta(&s0, &s1);
	LOG_DELTA(variant->compressor, d);
	/* 6K pages stored, 2K distinct: 4K of them duplicates. */
	ASSERT_GE(d.stored, pct(6 * k, 90));
	if (self->env.dedup)
		ASSERT_GE(d.hits, pct(4 * k, 90));

	for (size_t i = k; i < n; i++) {
		if (i % 3 == 0)
			idx[i] = 2 * k + i % k;	/* new content */
		else if (i % 3 == 1)
			idx[i] = k + i % k;	/* content of a stored object */
		else
			continue;		/* stays in zswap */
		memcpy(buf + i * PAGE, ref + idx[i] * PAGE, PAGE);
	}
	ASSERT_EQ(0, zu_pageout(buf, n * PAGE));
	ASSERT_EQ(0, zu_barrier_wait(bar, BAR_TIMEOUT));	/* 3 */

	bad = zu_count_corrupt_ref(buf, ref, idx, n);
	ASSERT_EQ(0, zu_pageout(buf, n * PAGE));
	bad += zu_count_corrupt_ref(buf, ref, idx, n);
	ASSERT_EQ(CHILD_OK, zu_wait_child(pid));
	TH_LOG("corrupt pages: parent %zu, peer %zu", bad, *peer_bad);
	ASSERT_EQ(0UL, bad);
	ASSERT_EQ(0UL, *peer_bad);
}

/*
 * Store K pages with the variant's compressor, switch compressor (a new
 * pool), store two more copies of them and K new pages: duplicates may
 * share objects of the old pool, and must decompress with that pool.
 */
TEST_F_TIMEOUT(integrity, compressor_switch, TEST_TIMEOUT)
{
	const size_t k = MIX_K;
	uint32_t *copies = zu_idx_copies(k, 2, 0);
	char *ref, *b1, *b2, *b3;
	struct zstat s0, s1, d;
	size_t bad;

	ref = zu_ref_alloc(2 * k, 0x2000000);
	b1 = zu_map(k);
	b2 = zu_map(2 * k);
	b3 = zu_map(k);
	ASSERT_NE(NULL, copies);
	ASSERT_NE(NULL, ref);
	ASSERT_NE(NULL, b1);
	ASSERT_NE(NULL, b2);
	ASSERT_NE(NULL, b3);

	zu_fill_ref(b1, ref, NULL, k);
	zu_fill_ref(b2, ref, copies, 2 * k);
	zu_fill_ref(b3, ref + k * PAGE, NULL, k);
	zstat_read(&s0);
	ASSERT_EQ(0, zu_pageout(b1, k * PAGE));
	ASSERT_EQ(0, zu_param_write("compressor", variant->next));
	ASSERT_EQ(0, zu_pageout(b2, 2 * k * PAGE));
	ASSERT_EQ(0, zu_pageout(b3, k * PAGE));
	zstat_read(&s1);
	d = zstat_delta(&s0, &s1);
	LOG_DELTA(variant->next, d);
	ASSERT_GE(d.stored, pct(4 * k, 90));
	/*
	 * b2's two copies of b1's content go to the new pool: the first is
	 * stored again (the retired pool's objects take no new slots and
	 * drain), the second shares the first.  Sharing b1's objects would
	 * make 2k hits.
	 */
	if (self->env.dedup) {
		ASSERT_GE(d.hits, pct(k, 95));
		ASSERT_LE(d.hits, k);
	}

	bad = zu_count_corrupt_ref(b1, ref, NULL, k);
	bad += zu_count_corrupt_ref(b2, ref, copies, 2 * k);
	bad += zu_count_corrupt_ref(b3, ref + k * PAGE, NULL, k);
	TH_LOG("%s -> %s: %zu corrupt pages", variant->compressor,
	       variant->next, bad);
	ASSERT_EQ(0UL, bad);
	free(copies);
}

/* ========================================================================
 * dedup: the dedup behaviours proper
 */
FIXTURE(dedup) {
	struct env env;
};

FIXTURE_SETUP(dedup)
{
	/* Only these run without dedup (ZDEDUP_TEST_STOCK=1). */
	static const char *const stock_ok[] = {
		"writeback_shared", "swapoff_shared", "balance", "concurrency",
	};
	bool needs_dedup = true;
	const char *why;

	for (size_t i = 0; i < ARRAY_SIZE(stock_ok); i++)
		if (!strcmp(_metadata->name, stock_ok[i]))
			needs_dedup = false;
	why = env_skip_reason(needs_dedup);
	if (why)
		SKIP(return, "%s", why);
	env_setup(_metadata, &self->env);
}

FIXTURE_TEARDOWN(dedup)
{
	env_teardown(&self->env);
}

#define HAPPENS_K 1024
#define HAPPENS_N 8

/* What one run of the dedup_happens workload did. */
struct happens_run {
	struct zstat d;		/* counter deltas while stored */
	long zswap_current;	/* the cgroup's memory.zswap.current, stored */
	long zswapped;		/* the cgroup's memory.stat zswapped, stored */
	long cg_dedup;		/* the cgroup's memory.stat zswpout_dedup delta */
	size_t corrupt;
};

static void happens_run(struct __test_metadata *_metadata, struct env *e,
			const char *enabled, const char *ref,
			const uint32_t *idx, struct happens_run *r)
{
	const size_t n = HAPPENS_N * HAPPENS_K;
	struct zstat s0, s1, s2;
	long cg0;
	char *buf;

	ASSERT_EQ(0, zu_param_write("dedup_enabled", enabled));
	buf = zu_map(n);
	ASSERT_NE(NULL, buf);
	zu_fill_ref(buf, ref, idx, n);
	cg0 = cg_read_key_long(e->cg, "memory.stat", "zswpout_dedup ");
	zstat_read(&s0);
	ASSERT_EQ(0, zu_pageout(buf, n * PAGE));
	zstat_read(&s1);
	memcg_stats_settle();
	r->zswap_current = cg_zswap_current(e->cg);
	r->zswapped = cg_read_key_long(e->cg, "memory.stat", "zswapped ");
	r->cg_dedup = cg_read_key_long(e->cg, "memory.stat", "zswpout_dedup ") - cg0;
	r->d = zstat_delta(&s0, &s1);
	r->corrupt = zu_count_corrupt_ref(buf, ref, idx, n);
	zstat_read(&s2);
	zu_unmap(buf, n);
	LOG_DELTA(enabled[0] == 'Y' ? "dedup on " : "dedup off", r->d);
	TH_LOG("dedup_enabled=%s: memcg zswap.current %ld B, zswapped %ld B, "
	       "zswpout_dedup %+ld; %zu corrupt; after read-back stored %+lld "
	       "entries %+lld", enabled, r->zswap_current, r->zswapped,
	       r->cg_dedup, r->corrupt, s2.stored - s0.stored,
	       s2.entries - s0.entries);
	ASSERT_EQ(0UL, r->corrupt);
}

/*
 * N copies of K distinct pages, stored once with dedup off and once with
 * dedup on: with dedup (N-1)K stores share an object, the index holds K
 * objects, and the pool and the cgroup's zswap charge are a fraction of
 * what the same pages cost without dedup.
 */
TEST_F_TIMEOUT(dedup, dedup_happens, TEST_TIMEOUT)
{
	const long long k = HAPPENS_K, nk = HAPPENS_N * HAPPENS_K;
	const long long dups = (HAPPENS_N - 1) * HAPPENS_K;
	uint32_t *idx = zu_idx_copies(HAPPENS_K, HAPPENS_N, 0);
	char *ref = zu_ref_alloc(HAPPENS_K, 0x3000000);
	struct happens_run off, on;

	ASSERT_NE(NULL, idx);
	ASSERT_NE(NULL, ref);
	happens_run(_metadata, &self->env, "N", ref, idx, &off);
	happens_run(_metadata, &self->env, "Y", ref, idx, &on);

	/* Off: stock zswap, nothing hashed or merged. */
	ASSERT_GE(off.d.stored, pct(nk, 95));
	ASSERT_EQ(0, off.d.hashed);
	ASSERT_EQ(0, off.d.hits);
	ASSERT_EQ(0, off.d.entries);
	ASSERT_GE(off.d.pool, 1 << 20);	/* enough to compare sizes */

	/* On: every page stored, hashed; all but K of them shared. */
	ASSERT_GE(on.d.stored, pct(nk, 95));
	ASSERT_LE(on.d.stored, nk);
	ASSERT_GE(on.d.hashed, pct(nk, 95));
	ASSERT_GE(on.d.hits, pct(dups, 95));
	ASSERT_LE(on.d.hits, dups);
	ASSERT_GE(on.d.shared, pct(dups, 95));
	ASSERT_LE(on.d.shared, dups);
	ASSERT_GE(on.d.entries, pct(k, 95));
	ASSERT_LE(on.d.entries, k);
	ASSERT_EQ(0, on.d.collisions);
	/* The events say the same as the hit counter. */
	ASSERT_GE(on.d.vm_dedup, pct(on.d.hits, 99));
	ASSERT_LE(on.d.vm_dedup, on.d.hits);
	ASSERT_GE(on.cg_dedup, pct(dups, 95));

	/* Space: the pool and the memcg charge hold each object once. */
	TH_LOG("pool growth on/off = %lld/%lld = %.3f; zswap.current on/off = "
	       "%ld/%ld = %.3f; meta %.1f B per stored page",
	       on.d.pool, off.d.pool, (double)on.d.pool / off.d.pool,
	       on.zswap_current, off.zswap_current,
	       (double)on.zswap_current / off.zswap_current,
	       on.d.stored ? (double)on.d.meta / on.d.stored : 0.0);
	ASSERT_LE(on.d.pool * 4, off.d.pool);
	ASSERT_LE(on.zswap_current * 4, off.zswap_current);
	/*
	 * memory.stat zswapped is the cgroup's memory swapped out to zswap,
	 * every page counted, shared or not (as upstream's test_zswap reads
	 * it): on and off alike.
	 */
	ASSERT_GE(off.zswapped, pct(off.d.stored * PAGE_B, 95));
	ASSERT_LE(off.zswapped, off.d.stored * PAGE_B);
	ASSERT_GE(on.zswapped, pct(on.d.stored * PAGE_B, 95));
	ASSERT_LE(on.zswapped, on.d.stored * PAGE_B);
	/* Saved bytes: the compressed size of the (N-1)/N shared stores. */
	ASSERT_GE(on.d.saved, pct(off.zswap_current * (HAPPENS_N - 1) / HAPPENS_N, 90));
	ASSERT_LE(on.d.saved, pct(off.zswap_current * (HAPPENS_N - 1) / HAPPENS_N, 110));
	ASSERT_LT(0, on.d.meta);
	free(idx);
}

#define ISO_K 512

/* A process holding one copy of the K pages, in cgroup B or A. */
static int iso_peer(void *arg)
{
	struct peer *p = arg;
	char *buf = zu_map(p->n);
	size_t bad;

	if (!buf)
		return CHILD_NOMEM;
	zu_fill_ref(buf, p->ref, p->idx, p->n);
	if (zu_pageout(buf, p->n * PAGE))
		return CHILD_PAGEOUT;
	if (zu_barrier_wait(p->bar, BAR_TIMEOUT) ||	/* stored */
	    zu_barrier_wait(p->bar, BAR_TIMEOUT))	/* measured */
		return CHILD_SYNC;
	bad = zu_count_corrupt_ref(buf, p->ref, p->idx, p->n);
	*p->corrupt = bad;
	return bad ? CHILD_CORRUPT : CHILD_OK;
}

/*
 * Sibling cgroups A and B each store exactly one copy of the same K pages:
 * no store may share an object (hits stay 0) and the index holds 2K
 * objects.  Then a second process in A stores another copy: those do merge,
 * so the zero above is isolation, not a dedup that does not work.
 */
TEST_F_TIMEOUT(dedup, isolation, TEST_TIMEOUT)
{
	const long long k = ISO_K;
	struct zstat s0, s1, s2, d1, d2;
	size_t *bad, parent_bad;
	struct zu_barrier *bar;
	struct peer pb, pa;
	pid_t pid_b, pid_a;
	struct sync *sy;
	char *ref, *buf;

	env_add_sibling(_metadata, &self->env);
	ref = zu_ref_alloc(k, 0x4000000);
	buf = zu_map(k);
	sy = zu_map_shared(sizeof(*sy));
	ASSERT_NE(NULL, ref);
	ASSERT_NE(NULL, buf);
	ASSERT_NE(NULL, sy);
	bar = sy->bar;
	bad = sy->corrupt;
	zu_barrier_init(&bar[0], 2);
	zu_barrier_init(&bar[1], 2);

	zstat_read(&s0);
	/* A: this process. */
	zu_fill_ref(buf, ref, NULL, k);
	ASSERT_EQ(0, zu_pageout(buf, k * PAGE));
	/* B: a process in the sibling cgroup. */
	pb = (struct peer){ .ref = ref, .n = k, .bar = &bar[0], .corrupt = &bad[0] };
	pid_b = zu_spawn(self->env.cg2, iso_peer, &pb);
	ASSERT_LT(0, pid_b);
	ASSERT_EQ(0, zu_barrier_wait(&bar[0], BAR_TIMEOUT));
	zstat_read(&s1);

	/* A again: a second process with another copy. */
	pa = (struct peer){ .ref = ref, .n = k, .bar = &bar[1], .corrupt = &bad[1] };
	pid_a = zu_spawn(NULL, iso_peer, &pa);
	ASSERT_LT(0, pid_a);
	ASSERT_EQ(0, zu_barrier_wait(&bar[1], BAR_TIMEOUT));
	zstat_read(&s2);

	ASSERT_EQ(0, zu_barrier_wait(&bar[0], BAR_TIMEOUT));
	ASSERT_EQ(0, zu_barrier_wait(&bar[1], BAR_TIMEOUT));
	parent_bad = zu_count_corrupt_ref(buf, ref, NULL, k);
	ASSERT_EQ(CHILD_OK, zu_wait_child(pid_b));
	ASSERT_EQ(CHILD_OK, zu_wait_child(pid_a));

	d1 = zstat_delta(&s0, &s1);
	d2 = zstat_delta(&s1, &s2);
	LOG_DELTA("A + B, one copy each", d1);
	LOG_DELTA("second copy in A     ", d2);
	ASSERT_GE(d1.stored, pct(2 * k, 95));
	ASSERT_EQ(0, d1.hits);
	ASSERT_GE(d1.entries, pct(2 * k, 95));
	ASSERT_LE(d1.entries, 2 * k);
	ASSERT_GE(d2.hits, pct(k, 95));
	ASSERT_EQ(0UL, parent_bad + bad[0] + bad[1]);
}

#define RAW_K 256

/* @n pages of random bytes: they do not compress */
static char *random_ref_alloc(size_t n, uint64_t seed)
{
	uint64_t *ref = zu_map(n);
	uint64_t state = seed;

	if (!ref)
		return NULL;
	for (size_t i = 0; i < n * PAGE / sizeof(*ref); i++)
		ref[i] = zu_rand(&state);
	return (char *)ref;
}

/* What one run of the incompressible_shared workload did. */
struct raw_run {
	struct zstat first;	/* counter deltas of the first copy */
	struct zstat d;		/* ... of the second and third copies */
	long long raw_first;	/* raw objects stored by the first copy */
	long long raw;		/* ... by the second and third copies */
	long long poor_first;	/* reject_compress_poor + _fail delta */
	long long poor;		/* ... of the second and third copies */
	size_t corrupt;
};

/*
 * Whether zswap itself stores a page that does not compress as it is
 * (7.3: debugfs stored_incompressible_pages); 6.12 rejects it, and only
 * deduplication stores raw copies (dedup_raw_objects).
 */
static bool zswap_stores_raw(void)
{
	return access(ZSWAP_DEBUGFS "/stored_incompressible_pages", R_OK) == 0;
}

/* Raw objects in zswap now */
static long long raw_objects(void)
{
	return zu_debugfs(zswap_stores_raw() ? "stored_incompressible_pages" :
			  "dedup_raw_objects");
}

/* Pages that zswap rejected as incompressible, cumulative */
static long long rejected_incompressible(void)
{
	/* lzo reports a page it cannot shrink as a failure */
	return zu_debugfs("reject_compress_poor") +
	       zu_debugfs("reject_compress_fail");
}

/*
 * Three copies of the K random pages in one cgroup, paged out one after
 * the other with dedup_enabled=@enabled: two by this process, the third by
 * a second process.
 */
static void raw_run(struct __test_metadata *_metadata, const char *enabled,
		    const char *ref, struct raw_run *r)
{
	const size_t k = RAW_K;
	long long raw0, raw1, poor0, poor1;
	struct zstat s0, s1, s2;
	char *first, *buf;
	struct sync *sy;
	struct peer p;
	pid_t pid;

	ASSERT_EQ(0, zu_param_write("dedup_enabled", enabled));
	first = zu_map(k);
	buf = zu_map(k);
	sy = zu_map_shared(sizeof(*sy));
	ASSERT_NE(NULL, first);
	ASSERT_NE(NULL, buf);
	ASSERT_NE(NULL, sy);
	zu_barrier_init(&sy->bar[0], 2);
	zu_fill_ref(first, ref, NULL, k);
	zu_fill_ref(buf, ref, NULL, k);

	zstat_read(&s0);
	raw0 = raw_objects();
	poor0 = rejected_incompressible();
	ASSERT_EQ(0, zu_pageout(first, k * PAGE));
	zstat_read(&s1);
	raw1 = raw_objects();
	poor1 = rejected_incompressible();
	ASSERT_EQ(0, zu_pageout(buf, k * PAGE));
	p = (struct peer){ .ref = ref, .n = k, .bar = &sy->bar[0],
			   .corrupt = &sy->corrupt[0] };
	pid = zu_spawn(NULL, iso_peer, &p);
	ASSERT_LT(0, pid);
	ASSERT_EQ(0, zu_barrier_wait(&sy->bar[0], BAR_TIMEOUT));	/* stored */
	zstat_read(&s2);
	r->raw_first = raw1 - raw0;
	r->raw = raw_objects() - raw1;
	r->poor_first = poor1 - poor0;
	r->poor = rejected_incompressible() - poor1;
	ASSERT_EQ(0, zu_barrier_wait(&sy->bar[0], BAR_TIMEOUT));	/* measured */
	r->corrupt = zu_count_corrupt_ref(first, ref, NULL, k) +
		     zu_count_corrupt_ref(buf, ref, NULL, k);
	ASSERT_EQ(CHILD_OK, zu_wait_child(pid))
		TH_LOG("peer: %zu corrupt", sy->corrupt[0]);
	r->first = zstat_delta(&s0, &s1);
	r->d = zstat_delta(&s1, &s2);
	LOG_DELTA(enabled[0] == 'Y' ? "dedup on, first copy " :
				      "dedup off, first copy", r->first);
	LOG_DELTA(enabled[0] == 'Y' ? "dedup on, 2nd + 3rd  " :
				      "dedup off, 2nd + 3rd ", r->d);
	TH_LOG("dedup_enabled=%s: raw objects %+lld then %+lld, rejected as "
	       "incompressible %+lld then %+lld, %zu corrupt", enabled,
	       r->raw_first, r->raw, r->poor_first, r->poor, r->corrupt);
	ASSERT_EQ(0UL, r->corrupt);
	zu_unmap(first, k);
	zu_unmap(buf, k);
}

/*
 * Three copies of the same K pages of random bytes in one cgroup (model
 * weights, encrypted or compressed buffers loaded by replicas).  They do
 * not compress: without dedup zswap rejects every copy and all three go
 * to the swap device.  With dedup the first copy goes to the swap device
 * too and leaves a sighting of each content; the second copy is stored as
 * it is, K raw objects, and the third shares them: K hits, the pool about
 * K pages, 2K slots in zswap.
 */
TEST_F_TIMEOUT(dedup, incompressible_shared, TEST_TIMEOUT)
{
	const long long k = RAW_K;
	char *ref = random_ref_alloc(RAW_K, 0x7000000);
	struct raw_run off, on;

	ASSERT_NE(NULL, ref);
	raw_run(_metadata, "N", ref, &off);
	raw_run(_metadata, "Y", ref, &on);

	if (zswap_stores_raw()) {
		/* Off: zswap stores every copy raw, a page each. */
		ASSERT_LE(off.poor_first + off.poor, pct(3 * k, 5));
		ASSERT_GE(off.raw_first + off.raw, pct(3 * k, 95));
		ASSERT_GE(off.first.pool + off.d.pool, pct(3 * k * PAGE, 95));
		/* On: the first copy raw, the others share it. */
		ASSERT_GE(on.raw_first, pct(k, 95));
		ASSERT_LE(on.raw, pct(k, 5));
		ASSERT_GE(on.d.hits, pct(2 * k, 95));
		ASSERT_GE(on.d.stored, pct(2 * k, 95));
		ASSERT_LE(on.d.pool, pct(k * PAGE, 5));
		ASSERT_LE(on.first.pswpout + on.d.pswpout, pct(3 * k, 5));
		ASSERT_GE(on.d.saved, pct(2 * k * PAGE, 95));
		zu_unmap(ref, k);
		return;
	}

	/* Off: stock zswap rejects them all. */
	ASSERT_GE(off.poor_first + off.poor, pct(3 * k, 95));
	ASSERT_EQ(0, off.raw);
	ASSERT_LE(off.first.stored + off.d.stored, pct(3 * k, 5));
	ASSERT_GE(off.first.pswpout + off.d.pswpout, pct(3 * k, 95));

	/* On, first copy: to the swap device, nothing in the pool. */
	ASSERT_GE(on.poor_first, pct(k, 95));
	ASSERT_LE(on.first.stored, pct(k, 5));
	ASSERT_GE(on.first.pswpout, pct(k, 95));
	ASSERT_LE(on.first.pool, pct(k * PAGE, 5));

	/* On, second and third: in zswap, each content once, uncompressed. */
	ASSERT_LE(on.poor, pct(k, 5));
	ASSERT_EQ(0, on.raw_first);
	ASSERT_GE(on.raw, pct(k, 95));
	ASSERT_LE(on.raw, k);
	ASSERT_GE(on.d.hits, pct(k, 95));
	ASSERT_LE(on.d.hits, k);
	ASSERT_GE(on.d.stored, pct(2 * k, 95));
	ASSERT_LE(on.d.pswpout, pct(2 * k, 5));
	ASSERT_GE(on.d.pool, pct(k * PAGE, 95));
	ASSERT_LE(on.d.pool, pct(k * PAGE, 125));
	/* A hit on a raw object saves a whole page. */
	ASSERT_GE(on.d.saved, pct(k * PAGE, 95));
	zu_unmap(ref, k);
}

#define COLL_K 256
#define COLL_DUPS 64

/*
 * With dedup_hash_mask = 0x3 every page hashes to one of 4 values: K
 * distinct pages collide all the time and must each be stored privately
 * (a hash match alone never merges).  COLL_DUPS true duplicates ride
 * along.  The mask goes back to its default before the pages are read
 * back and freed: removing objects from the index must not depend on it.
 */
TEST_F_TIMEOUT(dedup, collisions, TEST_TIMEOUT)
{
	const size_t n = COLL_K + COLL_DUPS;
	struct zstat s0, s1, s2, d;
	uint32_t idx[COLL_K + COLL_DUPS];
	char *ref, *buf;
	size_t bad;

	if (!orig.have_mask)
		SKIP(return, "no debugfs zswap/dedup_hash_mask (debug Kconfig off)");
	for (size_t i = 0; i < n; i++)
		idx[i] = i % COLL_K;
	ref = zu_ref_alloc(COLL_K, 0x5000000);
	buf = zu_map(n);
	ASSERT_NE(NULL, ref);
	ASSERT_NE(NULL, buf);
	zu_fill_ref(buf, ref, idx, n);

	ASSERT_EQ(0, zu_debugfs_write_str("dedup_hash_mask", "0x3"));
	zstat_read(&s0);
	ASSERT_EQ(0, zu_pageout(buf, n * PAGE));
	zstat_read(&s1);
	ASSERT_EQ(0, zu_debugfs_write_str("dedup_hash_mask", MASK_DEFAULT));

	bad = zu_count_corrupt_ref(buf, ref, idx, n);
	zstat_read(&s2);
	d = zstat_delta(&s0, &s1);
	LOG_DELTA("mask 0x3", d);
	TH_LOG("%zu corrupt; after read-back: stored %+lld, entries %+lld",
	       bad, s2.stored - s0.stored, s2.entries - s0.entries);
	ASSERT_GE(d.stored, pct(n, 95));
	ASSERT_GT(d.collisions, COLL_K / 2);
	ASSERT_EQ(0UL, bad);
	ASSERT_LE(s2.entries, s0.entries);
}

#define WB_K 128
#define WB_N 4
#define WB_ROUNDS 8

/*
 * N copies of K pages go to zswap.  Then memory.zswap.max drops to one
 * page and, round after round, another N copies of the same pages are
 * stored and read back: every store over the limit makes zswap write back
 * one slot of the cgroup (shrink_memcg(); the first pass over a slot only
 * takes its referenced bit).  The rounds go on until as many slots were
 * written back as the first store made, so slots sharing an object are
 * written back while other slots of the same content are stored, loaded
 * and freed.  Every page must then come back intact, the written-back ones
 * from the swap device, the others from zswap.
 */
TEST_F_TIMEOUT(dedup, writeback_shared, TEST_TIMEOUT)
{
	const size_t nk = WB_N * WB_K;
	uint32_t *idx = zu_idx_copies(WB_K, WB_N, 0);
	struct zstat s0, s1, s2, d;
	char *ref, *buf, *extra;
	size_t bad, bad_extra = 0;
	int rounds = 0;

	ref = zu_ref_alloc(WB_K, 0x6000000);
	buf = zu_map(nk);
	extra = zu_map(nk);
	ASSERT_NE(NULL, idx);
	ASSERT_NE(NULL, ref);
	ASSERT_NE(NULL, buf);
	ASSERT_NE(NULL, extra);

	zu_fill_ref(buf, ref, idx, nk);
	zu_fill_ref(extra, ref, idx, nk);
	zstat_read(&s0);
	ASSERT_EQ(0, zu_pageout(buf, nk * PAGE));
	zstat_read(&s1);
	d = zstat_delta(&s0, &s1);
	LOG_DELTA("shared pages stored", d);
	ASSERT_GE(d.stored, pct(nk, 95));
	if (self->env.dedup)
		ASSERT_GE(d.shared, pct((WB_N - 1) * WB_K, 95));

	ASSERT_EQ(0, cg_write(self->env.cg, "memory.zswap.max", "4096"));
	while (rounds < WB_ROUNDS &&
	       zu_debugfs("written_back_pages") - s1.written_back < (long long)nk) {
		ASSERT_EQ(0, zu_pageout(extra, nk * PAGE));
		bad_extra += zu_count_corrupt_ref(extra, ref, idx, nk);
		rounds++;
	}
	zstat_read(&s2);
	d = zstat_delta(&s1, &s2);
	LOG_DELTA("after zswap.max=4096", d);
	TH_LOG("%d rounds of %zu more copies; shared slots of the first store "
	       "%lld -> %lld", rounds, nk, s1.shared, s2.shared);
	ASSERT_GT(d.written_back, 0);
	if (self->env.dedup)
		ASSERT_LT(s2.shared, s1.shared);	/* shared slots written back */

	bad = zu_count_corrupt_ref(buf, ref, idx, nk);
	TH_LOG("corrupt: %zu first-store pages, %zu in the rounds", bad, bad_extra);
	ASSERT_EQ(0UL, bad);
	ASSERT_EQ(0UL, bad_extra);
	free(idx);
}

#define OFF_K 256
#define OFF_N 4

/* The peer of swapoff_shared: another copy in another process. */
static int swapoff_peer(void *arg)
{
	struct peer *p = arg;
	char *buf = zu_map(p->n);
	size_t bad;

	if (!buf)
		return CHILD_NOMEM;
	zu_fill_ref(buf, p->ref, p->idx, p->n);
	if (zu_pageout(buf, p->n * PAGE))
		return CHILD_PAGEOUT;
	if (zu_barrier_wait(p->bar, BAR_TIMEOUT) ||	/* stored */
	    zu_barrier_wait(p->bar, BAR_TIMEOUT))	/* swapoff done */
		return CHILD_SYNC;
	bad = zu_count_corrupt_ref(buf, p->ref, p->idx, p->n);
	*p->corrupt = bad;
	return bad ? CHILD_CORRUPT : CHILD_OK;
}

/*
 * Shared objects held by two processes, then swapoff: try_to_unuse()
 * reads every slot back through the swap cache, so every page must be
 * intact in memory afterwards and zswap must be empty (no swap device,
 * no entry, no index object).  swapon again at the end (teardown too).
 */
TEST_F_TIMEOUT(dedup, swapoff_shared, TEST_TIMEOUT)
{
	const size_t nk = OFF_N * OFF_K;
	uint32_t *idx = zu_idx_copies(OFF_K, OFF_N, 0);
	struct zstat s0, s1, s2, d;
	struct zu_barrier *bar;
	size_t *peer_bad, bad;
	struct sync *sy;
	char *ref, *buf;
	struct peer p;
	int swaps, rc;
	pid_t pid;

	ref = zu_ref_alloc(OFF_K, 0x7000000);
	buf = zu_map(nk);
	sy = zu_map_shared(sizeof(*sy));
	ASSERT_NE(NULL, idx);
	ASSERT_NE(NULL, ref);
	ASSERT_NE(NULL, buf);
	ASSERT_NE(NULL, sy);
	bar = &sy->bar[0];
	peer_bad = &sy->corrupt[0];
	zu_barrier_init(bar, 2);

	zstat_read(&s0);
	zu_fill_ref(buf, ref, idx, nk);
	ASSERT_EQ(0, zu_pageout(buf, nk * PAGE));
	p = (struct peer){ .ref = ref, .n = OFF_K, .bar = bar, .corrupt = peer_bad };
	pid = zu_spawn(NULL, swapoff_peer, &p);
	ASSERT_LT(0, pid);
	ASSERT_EQ(0, zu_barrier_wait(bar, BAR_TIMEOUT));
	zstat_read(&s1);
	d = zstat_delta(&s0, &s1);
	LOG_DELTA("stored", d);
	ASSERT_GE(d.stored, pct(nk + OFF_K, 95));
	if (self->env.dedup)
		ASSERT_GE(d.hits, pct(nk, 95));

	rc = system("swapoff " SWAP_DEV);
	swaps = zu_swap_count();
	zstat_read(&s2);
	ASSERT_EQ(0, zu_barrier_wait(bar, BAR_TIMEOUT));
	bad = zu_count_corrupt_ref(buf, ref, idx, nk);
	ASSERT_EQ(CHILD_OK, zu_wait_child(pid));
	TH_LOG("swapoff rc %d, %d swap devices left; stored %lld -> %lld, "
	       "entries %lld -> %lld, shared %lld -> %lld; corrupt %zu + %zu",
	       rc, swaps, s1.stored, s2.stored, s1.entries, s2.entries,
	       s1.shared, s2.shared, bad, *peer_bad);
	ASSERT_EQ(0, rc);
	ASSERT_EQ(0UL, bad);
	ASSERT_EQ(0UL, *peer_bad);
	if (swaps == 0) {
		/* No swap device at all: zswap must be empty. */
		ASSERT_EQ(0, s2.stored);
		if (self->env.dedup) {
			ASSERT_EQ(0, s2.entries);
			ASSERT_EQ(0, s2.shared);
		}
	} else {
		ASSERT_LE(s2.stored, s0.stored);
		if (self->env.dedup)
			ASSERT_LE(s2.entries, s0.entries);
	}
	ASSERT_EQ(0, system("swapon " SWAP_DEV));
	ASSERT_TRUE(zu_swap_active(SWAP_DEV));
	free(idx);
}

#define TOG_K 256
#define TOG_N 4
#define TOG_ROUNDS 6

/* Flip dedup_enabled until *stop; count flips in *flips. */
struct toggler {
	volatile int stop;
	long flips;
};

static int toggle_fn(void *arg)
{
	struct toggler *t = arg;
	const char *v[2] = { "N", "Y" };

	while (!t->stop) {
		if (zu_param_write("dedup_enabled", v[t->flips & 1]))
			return CHILD_CG;
		t->flips++;
		usleep(1000);
	}
	return CHILD_OK;
}

/*
 * A process flips dedup_enabled Y/N every millisecond while this one, for
 * several rounds, fills N copies of K pages (new content every other
 * round), stores them, reads them back, stores and reads them again.
 * Objects merged while on are loaded and freed while off and the other way
 * round; nothing may be lost.
 */
TEST_F_TIMEOUT(dedup, toggle_under_load, TEST_TIMEOUT)
{
	const size_t nk = TOG_N * TOG_K;
	uint32_t *idx[2] = { zu_idx_copies(TOG_K, TOG_N, 0),
			     zu_idx_copies(TOG_K, TOG_N, TOG_K) };
	struct toggler *t = zu_map_shared(sizeof(*t));
	struct zstat s0, s1, d;
	size_t bad = 0;
	char *ref, *buf;
	pid_t pid;

	ref = zu_ref_alloc(2 * TOG_K, 0x8000000);
	buf = zu_map(nk);
	ASSERT_NE(NULL, idx[0]);
	ASSERT_NE(NULL, idx[1]);
	ASSERT_NE(NULL, t);
	ASSERT_NE(NULL, ref);
	ASSERT_NE(NULL, buf);

	zstat_read(&s0);
	pid = zu_spawn(NULL, toggle_fn, t);
	ASSERT_LT(0, pid);
	for (int round = 0; round < TOG_ROUNDS; round++) {
		const uint32_t *ix = idx[(round / 2) & 1];

		zu_fill_ref(buf, ref, ix, nk);
		for (int pass = 0; pass < 2; pass++) {
			ASSERT_EQ(0, zu_pageout(buf, nk * PAGE));
			bad += zu_count_corrupt_ref(buf, ref, ix, nk);
		}
	}
	t->stop = 1;
	ASSERT_EQ(CHILD_OK, zu_wait_child(pid));
	zstat_read(&s1);
	d = zstat_delta(&s0, &s1);
	LOG_DELTA("toggling", d);
	TH_LOG("%ld flips, %zu corrupt pages", t->flips, bad);
	ASSERT_GT(t->flips, 10);
	ASSERT_EQ(0UL, bad);
	ASSERT_GT(d.hits, 0);	/* some stores ran with dedup on */
	free(idx[0]);
	free(idx[1]);
}

#define BAL_K 256

/* The peer of balance: stores, reads back part, exits with the rest out. */
static int balance_peer(void *arg)
{
	struct peer *p = arg;
	char *buf = zu_map(p->n);
	size_t bad;

	if (!buf)
		return CHILD_NOMEM;
	zu_fill_ref(buf, p->ref, p->idx, p->n);
	if (zu_pageout(buf, p->n * PAGE))
		return CHILD_PAGEOUT;
	bad = zu_count_corrupt_ref(buf, p->ref, p->idx, p->n / 2);
	if (zu_pageout(buf, p->n * PAGE))
		return CHILD_PAGEOUT;
	*p->corrupt = bad;
	if (zu_barrier_wait(p->bar, BAR_TIMEOUT) ||	/* stored */
	    zu_barrier_wait(p->bar, BAR_TIMEOUT))	/* measured */
		return CHILD_SYNC;
	/* Exit with every page in zswap: exit_mmap frees the slots. */
	return bad ? CHILD_CORRUPT : CHILD_OK;
}

/*
 * Invariant 4.  Record the zswap counters, run a mixed workload (unique
 * pages, duplicates within and across two processes, some read back and
 * rewritten with content of other stored pages, stored again), then free
 * everything with pages still in zswap (process exit, munmap).  Every
 * "current" counter must return to its start value and the cgroup's
 * memory.zswap.current to 0.  pool_total_size counts zsmalloc pages of all
 * pools: it must not end more than BAL_POOL_SLACK bytes above its start
 * (zsmalloc frees a zspage when its last object goes; the slack covers a
 * zspage or two that other, unrelated objects keep alive).
 */
#define BAL_POOL_SLACK (64 << 10)
#define BAL_SETTLE_S 6.0

TEST_F_TIMEOUT(dedup, balance, TEST_TIMEOUT)
{
	const size_t n = 4 * BAL_K;
	uint32_t idx[4 * BAL_K], peer_idx[3 * BAL_K];
	struct zstat s0, s1, s2;
	struct zu_barrier *bar;
	size_t *peer_bad, bad;
	long cur0, cur1, cur2;
	struct sync *sy;
	char *ref, *buf;
	double deadline;
	struct peer p;
	pid_t pid;

	ref = zu_ref_alloc(3 * BAL_K, 0x9000000);
	buf = zu_map(n);
	sy = zu_map_shared(sizeof(*sy));
	ASSERT_NE(NULL, ref);
	ASSERT_NE(NULL, buf);
	ASSERT_NE(NULL, sy);
	bar = &sy->bar[0];
	peer_bad = &sy->corrupt[0];
	zu_barrier_init(bar, 2);
	for (size_t i = 0; i < BAL_K; i++) {
		idx[i] = BAL_K + i;			/* unique */
		peer_idx[i] = 2 * BAL_K + i;		/* peer's unique */
	}
	for (size_t i = BAL_K; i < n; i++)
		idx[i] = i % BAL_K;			/* 3 copies */
	for (size_t i = BAL_K; i < 3 * BAL_K; i++)
		peer_idx[i] = i % BAL_K;		/* 2 more copies */

	cur0 = cg_zswap_current(self->env.cg);
	zstat_read(&s0);

	p = (struct peer){ .ref = ref, .idx = peer_idx, .n = 3 * BAL_K,
			   .bar = bar, .corrupt = peer_bad };
	pid = zu_spawn(NULL, balance_peer, &p);
	ASSERT_LT(0, pid);
	zu_fill_ref(buf, ref, idx, n);
	ASSERT_EQ(0, zu_pageout(buf, n * PAGE));
	/* Read back half, rewrite some with other stored content, store. */
	bad = zu_count_corrupt_ref(buf, ref, idx, n / 2);
	for (size_t i = 0; i < n / 2; i += 3) {
		idx[i] = (idx[i] + 1) % BAL_K;
		memcpy(buf + i * PAGE, ref + idx[i] * PAGE, PAGE);
	}
	ASSERT_EQ(0, zu_pageout(buf, n * PAGE));
	ASSERT_EQ(0, zu_barrier_wait(bar, BAR_TIMEOUT));	/* stored */
	zstat_read(&s1);
	memcg_stats_settle();
	cur1 = cg_zswap_current(self->env.cg);
	ASSERT_EQ(0, zu_barrier_wait(bar, BAR_TIMEOUT));	/* measured */

	/* Free everything while it is in zswap. */
	ASSERT_EQ(CHILD_OK, zu_wait_child(pid));
	zu_unmap(buf, n);

	deadline = zu_now() + BAL_SETTLE_S;
	do {
		usleep(200 * 1000);
		zstat_read(&s2);
		cur2 = cg_zswap_current(self->env.cg);
		if (s2.stored == s0.stored && s2.entries == s0.entries &&
		    s2.shared == s0.shared && s2.saved == s0.saved &&
		    s2.meta == s0.meta && cur2 == 0 &&
		    s2.pool <= s0.pool + BAL_POOL_SLACK)
			break;
	} while (zu_now() < deadline);

	TH_LOG("            start    loaded       end");
	TH_LOG("stored  %9lld %9lld %9lld", s0.stored, s1.stored, s2.stored);
	TH_LOG("pool    %9lld %9lld %9lld", s0.pool, s1.pool, s2.pool);
	TH_LOG("entries %9lld %9lld %9lld", s0.entries, s1.entries, s2.entries);
	TH_LOG("shared  %9lld %9lld %9lld", s0.shared, s1.shared, s2.shared);
	TH_LOG("saved   %9lld %9lld %9lld", s0.saved, s1.saved, s2.saved);
	TH_LOG("meta    %9lld %9lld %9lld", s0.meta, s1.meta, s2.meta);
	TH_LOG("memcg zswap.current %ld %ld %ld", cur0, cur1, cur2);
	ASSERT_EQ(0UL, bad);
	ASSERT_EQ(0UL, *peer_bad);
	/* The workload did reach zswap, and shared objects. */
	ASSERT_GE(s1.stored - s0.stored, pct(n + 3 * BAL_K, 90));
	ASSERT_LT(0, cur1);
	if (self->env.dedup)
		ASSERT_LT(s0.shared, s1.shared);

	ASSERT_EQ(s0.stored, s2.stored);
	ASSERT_LE(s2.pool, s0.pool + BAL_POOL_SLACK);
	ASSERT_EQ(0, cur2);
	if (self->env.dedup) {
		ASSERT_EQ(s0.entries, s2.entries);
		ASSERT_EQ(s0.shared, s2.shared);
		ASSERT_EQ(s0.saved, s2.saved);
		ASSERT_EQ(s0.meta, s2.meta);
	}
}

#define CONC_PROCS 4
#define CONC_K 512
#define CONC_ROUNDS 4

struct conc {
	struct zu_barrier bar;
	const char *ref;
	size_t corrupt[CONC_PROCS];
};

/*
 * One of the concurrent workers: K pages, the same in every worker; each
 * round store all, read all back, and rewrite a quarter (a different one
 * per worker and round) with content of the other reference half, so that
 * stores of new content race with loads and frees of shared objects.
 */
static int conc_worker(struct conc *c, int id)
{
	uint32_t idx[CONC_K];
	char *buf = zu_map(CONC_K);
	size_t bad = 0;

	if (!buf)
		return CHILD_NOMEM;
	for (size_t i = 0; i < CONC_K; i++)
		idx[i] = i;
	zu_fill_ref(buf, c->ref, idx, CONC_K);
	if (zu_barrier_wait(&c->bar, BAR_TIMEOUT))
		return CHILD_SYNC;
	for (int round = 0; round < CONC_ROUNDS; round++) {
		if (zu_pageout(buf, CONC_K * PAGE))
			return CHILD_PAGEOUT;
		bad += zu_count_corrupt_ref(buf, c->ref, idx, CONC_K);
		for (size_t i = (id + round) % 4; i < CONC_K; i += 4) {
			idx[i] = (idx[i] + CONC_K) % (2 * CONC_K);
			memcpy(buf + i * PAGE, c->ref + idx[i] * PAGE, PAGE);
		}
	}
	c->corrupt[id] = bad;
	return bad ? CHILD_CORRUPT : CHILD_OK;
}

static struct conc *conc_shared;

static int conc_child(void *arg)
{
	return conc_worker(conc_shared, (int)(intptr_t)arg);
}

/* CONC_PROCS processes, same cgroup, same content, at the same time. */
TEST_F_TIMEOUT(dedup, concurrency, TEST_TIMEOUT)
{
	pid_t pid[CONC_PROCS];
	struct zstat s0, s1, d;
	size_t bad = 0;
	int rc[CONC_PROCS];

	conc_shared = zu_map_shared(sizeof(*conc_shared));
	ASSERT_NE(NULL, conc_shared);
	conc_shared->ref = zu_ref_alloc(2 * CONC_K, 0xa000000);
	ASSERT_NE(NULL, conc_shared->ref);
	zu_barrier_init(&conc_shared->bar, CONC_PROCS);

	zstat_read(&s0);
	for (int i = 0; i < CONC_PROCS; i++) {
		pid[i] = zu_spawn(NULL, conc_child, (void *)(intptr_t)i);
		ASSERT_LT(0, pid[i]);
	}
	for (int i = 0; i < CONC_PROCS; i++)
		rc[i] = zu_wait_child(pid[i]);
	zstat_read(&s1);
	d = zstat_delta(&s0, &s1);
	LOG_DELTA("4 workers", d);
	for (int i = 0; i < CONC_PROCS; i++) {
		TH_LOG("worker %d: exit %d, %zu corrupt", i, rc[i],
		       conc_shared->corrupt[i]);
		bad += conc_shared->corrupt[i];
	}
	ASSERT_EQ(0UL, bad);
	for (int i = 0; i < CONC_PROCS; i++)
		ASSERT_EQ(CHILD_OK, rc[i]);
	if (self->env.dedup)
		ASSERT_GE(d.hits, pct((CONC_PROCS - 1) * CONC_K, 50));
}

/* ------------------------------------------------------------------------
 * the zswap:zswap_dedup_store tracepoint, read through tracefs
 */
#define TRACEFS "/sys/kernel/tracing"
#define TRACE_EVENT_DIR TRACEFS "/events/zswap/zswap_dedup_store"
#define TRACE_K 256
#define TRACE_N 4

/* Counts of one cgroup's events in the trace buffer, by result. */
struct trace_counts {
	long long events, hit, miss, unhashed, collision, fallback, reject;
	long long builtin_domain;	/* events with the built-in memcg domain */
};

static int trace_write(const char *file, const char *value)
{
	return zu_write_file(file, value);
}

/* Mount tracefs if needed; 0 if the event exists. */
static int trace_prepare(void)
{
	if (access(TRACE_EVENT_DIR, F_OK))
		mount("tracefs", TRACEFS, "tracefs", 0, NULL);
	return access(TRACE_EVENT_DIR, F_OK);
}

/* Start tracing the events of cgroup @id only, on an empty buffer. */
static int trace_start(unsigned long long id)
{
	char filter[64];

	snprintf(filter, sizeof(filter), "cgroup == %llu", id);
	if (trace_write(TRACEFS "/buffer_size_kb", "4096") ||
	    trace_write(TRACE_EVENT_DIR "/filter", filter) ||
	    trace_write(TRACEFS "/trace", "") ||
	    trace_write(TRACE_EVENT_DIR "/enable", "1"))
		return -1;
	return 0;
}

/* Stop tracing and count what the buffer holds for cgroup @id. */
static int trace_stop_count(unsigned long long id, struct trace_counts *c)
{
	char line[512], want[40];
	FILE *f;

	memset(c, 0, sizeof(*c));
	if (trace_write(TRACE_EVENT_DIR "/enable", "0"))
		return -1;
	f = fopen(TRACEFS "/trace", "r");
	if (!f)
		return -1;
	snprintf(want, sizeof(want), "cgroup=%llu ", id);
	while (fgets(line, sizeof(line), f)) {
		const char *ev = strstr(line, "zswap_dedup_store: ");
		const char *dom = strstr(line, " domain=");
		const char *res = strstr(line, " result=");

		if (line[0] == '#' || !ev || !dom || !res || !strstr(ev, want))
			continue;
		c->events++;
		if (strtoul(dom + 8, NULL, 16) & 0x80000000UL)
			c->builtin_domain++;
		res += 8;
		if (!strncmp(res, "hit", 3))
			c->hit++;
		else if (!strncmp(res, "miss", 4))
			c->miss++;
		else if (!strncmp(res, "unhashed", 8))
			c->unhashed++;
		else if (!strncmp(res, "collision", 9))
			c->collision++;
		else if (!strncmp(res, "fallback", 8))
			c->fallback++;
		else if (!strncmp(res, "reject", 6))
			c->reject++;
	}
	fclose(f);
	trace_write(TRACE_EVENT_DIR "/filter", "0");
	trace_write(TRACEFS "/trace", "");
	return 0;
}

/*
 * Store @n pages at @buf while tracing cgroup @id: the events in *@c, the
 * counters' deltas in *@d.  0 on success.
 */
static int traced_pageout(char *buf, size_t n, unsigned long long id,
			  struct trace_counts *c, struct zstat *d)
{
	struct zstat s0, s1;
	int ret;

	if (trace_start(id))
		return -1;
	zstat_read(&s0);
	ret = zu_pageout(buf, n * PAGE);
	zstat_read(&s1);
	*d = zstat_delta(&s0, &s1);
	/* stop tracing even if the store failed */
	return trace_stop_count(id, c) || ret ? -1 : 0;
}

/*
 * N copies of K pages stored with dedup on: the tracepoint, filtered on
 * the test's cgroup, reports one event per store, K misses and (N-1)K
 * hits matching the hit counter, all in the cgroup's built-in domain.
 * With dedup off the same stores trace nothing.
 */
TEST_F_TIMEOUT(dedup, tracepoint, TEST_TIMEOUT)
{
	const long long k = TRACE_K, nk = TRACE_N * TRACE_K;
	uint32_t *idx = zu_idx_copies(TRACE_K, TRACE_N, 0);
	char *ref = zu_ref_alloc(TRACE_K, 0x7000000);
	struct trace_counts on, off;
	struct zstat d;
	unsigned long long id;
	struct stat st;
	char *buf;

	ASSERT_NE(NULL, idx);
	ASSERT_NE(NULL, ref);
	ASSERT_EQ(0, trace_prepare()) TH_LOG("no event " TRACE_EVENT_DIR);
	ASSERT_EQ(0, stat(self->env.cg, &st));
	id = st.st_ino;	/* a cgroup's id is its directory's inode number */
	buf = zu_map(nk);
	ASSERT_NE(NULL, buf);

	zu_fill_ref(buf, ref, idx, nk);
	ASSERT_EQ(0, traced_pageout(buf, nk, id, &on, &d));
	ASSERT_EQ(0UL, zu_count_corrupt_ref(buf, ref, idx, nk));
	LOG_DELTA("dedup on", d);
	TH_LOG("trace, cgroup %llu: %lld events: %lld miss, %lld hit, "
	       "%lld unhashed, %lld collision, %lld fallback, %lld reject, "
	       "%lld in the built-in domain", id, on.events, on.miss, on.hit,
	       on.unhashed, on.collision, on.fallback, on.reject,
	       on.builtin_domain);
	ASSERT_GE(on.events, pct(nk, 95));
	ASSERT_LE(on.events, nk);
	ASSERT_GE(on.miss, pct(k, 95));
	ASSERT_LE(on.miss, k);
	ASSERT_GE(on.hit, pct(nk - k, 95));
	/* this cgroup's hits are all the hits the counter saw, or fewer */
	ASSERT_LE(on.hit, d.hits);
	ASSERT_EQ(0, on.unhashed + on.collision + on.fallback);
	ASSERT_EQ(on.events, on.builtin_domain);

	ASSERT_EQ(0, zu_param_write("dedup_enabled", "N"));
	zu_fill_ref(buf, ref, idx, nk);	/* dirty again: stored anew */
	ASSERT_EQ(0, traced_pageout(buf, nk, id, &off, &d));
	LOG_DELTA("dedup off", d);
	ASSERT_GE(d.stored, pct(nk, 95));
	ASSERT_EQ(0, off.events);
	ASSERT_EQ(0UL, zu_count_corrupt_ref(buf, ref, idx, nk));
	zu_unmap(buf, nk);
	free(idx);
}

TEST_HARNESS_MAIN

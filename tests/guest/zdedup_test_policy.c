// SPDX-License-Identifier: GPL-2.0
/*
 * BPF dedup policies and zdedup-loader: one test per behaviour issue 4
 * promises.  Policies are loaded with the loader of the VM
 * (/opt/zdedup/bin/zdedup-loader) or with bpftool, exactly as an
 * administrator would; their effect is read from zswap's debugfs counters
 * and the cgroups' memory.stat.
 *
 *   policy.attach_replace_under_load  tenant, adaptive, memcg attached,
 *                                     replaced (BPF_LINK_UPDATE) and
 *                                     detached over and over while two
 *                                     processes store and fault back
 *                                     duplicates: no page lost or corrupt,
 *                                     dedup_policy names each policy, no
 *                                     slot or object left once they exit
 *   policy.second_attach              one policy at a time: the loader
 *                                     refuses without --replace, naming
 *                                     the attached policy; a second
 *                                     struct_ops registration (bpftool)
 *                                     gets EBUSY, whoever holds the hook
 *   policy.invalid_domain             a policy returning 0x90000000: each
 *                                     page counted in dedup_policy_invalid
 *                                     and merged per memcg, never across
 *   policy.verifier_rejects_writes    policies writing the cgroup or the
 *                                     context are rejected with the
 *                                     verifier's message; nothing attached,
 *                                     an attached policy stays
 *   policy.tenant_semantics           A private, B and C group 7, D off,
 *                                     E (child of B, no entry): merges
 *                                     within A, within {B, C, E}, none in
 *                                     D (not even hashed), none across
 *   policy.adaptive_backoff           unique pages: hashing stops after
 *                                     the first window, probes again after
 *                                     the back-off; duplicates keep
 *                                     merging
 *   policy.adaptive_cold_start        shuffled duplicates (half the pages
 *                                     copies) from an empty index: the
 *                                     first windows' few hits keep it
 *                                     hashing, 95% of the built-in
 *                                     policy's merges happen
 *   policy.loader_errors              every loader error of the issue:
 *                                     message, exit status, and nothing
 *                                     changed by the bad request
 *   policy.loader_errors_no_bpf       SKIP: needs a kernel without BPF
 *   policy.bpftool_register           bpftool struct_ops register attaches
 *                                     memcg (per-memcg merges); removing
 *                                     its pinned link detaches it
 *   policy.shared_writeback_rules     A and B share objects (group 7),
 *                                     charged to A: A's writeback rule
 *                                     decides, not B's.  B's reclaim
 *                                     leaves them alone while A forbids
 *                                     writeback; A's reclaim writes them
 *                                     back while B forbids it
 *   policy.owner_reclaims_charge      A's objects shared by B stay charged
 *                                     to A after A's slots are gone; A's
 *                                     own reclaim writes them back
 *   policy.replaced_domains_apart     group 7 of a replaced policy and group
 *                                     7 of its successor never merge
 *   policy.attach_needs_cap_sys_admin root without CAP_SYS_ADMIN (but with
 *                                     CAP_BPF and CAP_PERFMON) cannot
 *                                     attach a policy: EPERM, nothing
 *                                     changes; with it, it can
 *   policy.kfunc_filter               a policy calling an unrelated kfunc
 *                                     (bpf_task_from_pid) is refused by the
 *                                     verifier; one calling
 *                                     bpf_zswap_pool_pages() sees the pool
 *   policy.helper_filter              a policy calling bpf_loop() is refused
 *   policy.compat_optional_op         a policy implementing an op this
 *                                     kernel lacks: bpftool (libbpf alone)
 *                                     refuses it, the loader drops the op
 *                                     with a warning and the policy works
 *
 * Every workload runs in its own child cgroup of
 * /sys/fs/cgroup/zdedup_policy_<test>; the test process sits in the leaf
 * "self".  Pages are pushed into zswap by the process owning them
 * (MADV_PAGEOUT) and faulted back and compared at the end.  Setup and
 * teardown unload whatever policy is attached (loader unload, then every
 * pin in /sys/fs/bpf/zdedup and /sys/fs/bpf/zdedup-bpftool), so a failed
 * test leaves nothing behind for the next.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/capability.h>

/* The harness's SIGALRM handler has an unused parameter. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#pragma GCC diagnostic pop
/* See zdedup_test_dedup.c: setup and teardown re-create/undo all state. */
#pragma GCC diagnostic ignored "-Wclobbered"
#include "cgroup_util.h"
#include "zswap_util.h"
#include "policy_util.h"
#include "run_cmd.h"
#include "zdedup.h"

#define CG_ROOT "/sys/fs/cgroup"
#define SWAP_DEV "/dev/ram0"
#define BPFTOOL "/opt/zdedup/bin/bpftool"
#define BPF_DIR "/opt/zdedup/bpf"
#define TEST_TIMEOUT 150	/* seconds per test; the VM is TCG + lockdep */
#define BAR_TIMEOUT 120.0	/* seconds a holder waits for the test */
#define PAGE ZU_PAGE_SIZE
#define OUT_MAX (64 << 10)

/* Exit codes of the helper processes a test forks. */

/* ------------------------------------------------------------------------
 * Global state: what the suite found at start, restored when it ends.
 */
static struct {
	pid_t pid;
	char dedup_enabled[8];
	bool have_dedup_enabled, swap_on;
} orig;

static void ensure_swap_on(void)
{
	if (!zu_swap_active(SWAP_DEV) && system("swapon " SWAP_DEV))
		fprintf(stderr, "# swapon " SWAP_DEV " failed\n");
}

static void policy_name(char *buf, size_t len)
{
	if (zu_debugfs_read_str("dedup_policy", buf, len))
		snprintf(buf, len, "(unreadable)");
}

static void __attribute__((constructor)) save_orig(void)
{
	orig.pid = getpid();
	orig.have_dedup_enabled = !zu_param_read("dedup_enabled", orig.dedup_enabled,
						 sizeof(orig.dedup_enabled));
	orig.swap_on = zu_swap_active(SWAP_DEV);
}

/* The suite's end: no policy, no cgroup of ours, settings as found. */
static void __attribute__((destructor)) suite_end(void)
{
	DIR *d;
	struct dirent *de;

	if (getpid() != orig.pid)
		return;
	cg_enter_current(CG_ROOT);
	policy_cleanup();
	d = opendir(CG_ROOT);
	while (d && (de = readdir(d))) {
		char path[PATH_MAX];

		if (de->d_type == DT_DIR && !strncmp(de->d_name, "zdedup_policy_", 14)) {
			snprintf(path, sizeof(path), CG_ROOT "/%s", de->d_name);
			cg_destroy_tree(path);
		}
	}
	if (d)
		closedir(d);
	if (orig.have_dedup_enabled)
		zu_param_write("dedup_enabled", orig.dedup_enabled);
	if (orig.swap_on)
		ensure_swap_on();
}

/* ------------------------------------------------------------------------
 * Running the loader and bpftool
 */
static char cmd_out[OUT_MAX];

static const struct run_how how_log = { .max_lines = 40 }, how_quiet = { .quiet = true };

#define run(...) run_cmd(&how_log, cmd_out, sizeof(cmd_out), __VA_ARGS__)
#define run_quiet(...) run_cmd(&how_quiet, cmd_out, sizeof(cmd_out), __VA_ARGS__)

static bool has(const char *out, const char *pat)
{
	return !pat || strstr(out, pat);
}

/*
 * Run a command, expect exit status @rc and the text @pat (NULL: any) in
 * its output; ASSERT_RUN stops the test when it does not.
 */
#define EXPECT_RUN(rc, pat, ...) do {					\
	int __rc = run(__VA_ARGS__);					\
	EXPECT_EQ(rc, __rc);						\
	EXPECT_TRUE(has(cmd_out, pat))					\
		TH_LOG("expected '%s' in the output", (const char *)(pat)); \
} while (0)

#define ASSERT_RUN(rc, pat, ...) do {					\
	int __rc = run(__VA_ARGS__);					\
	ASSERT_EQ(rc, __rc);						\
	ASSERT_TRUE(has(cmd_out, pat))					\
		TH_LOG("expected '%s' in the output", (const char *)(pat)); \
} while (0)

/* The number after "@key": in JSON text; -1 if absent. */
static long long json_num(const char *json, const char *key)
{
	char pat[80];
	const char *p;

	snprintf(pat, sizeof(pat), "\"%s\": ", key);
	p = strstr(json, pat);
	return p ? strtoll(p + strlen(pat), NULL, 10) : -1;
}

/*
 * The number @key of the row of cgroup @path (as the loader prints it,
 * relative to the cgroup2 mount) in `status --json` text; -1 if absent.
 */
static long long json_row_num(const char *json, const char *path, const char *key)
{
	char pat[PATH_MAX + 16], row[1024];
	const char *p, *end;

	snprintf(pat, sizeof(pat), "\"path\": \"%s\"", path);
	p = strstr(json, pat);
	if (!p)
		return -1;
	end = strchr(p, '}');
	if (!end || end - p >= (long)sizeof(row))
		return -1;
	memcpy(row, p, end - p);
	row[end - p] = '\0';
	return json_num(row, key);
}

/* The link id of the attached policy per `status --json`; -1 if none. */
static long long status_link_id(void)
{
	if (run_quiet(LOADER " status --json"))
		return -1;
	return json_num(cmd_out, "link_id");
}

/* ------------------------------------------------------------------------
 * zswap counters
 */
struct cnt {
	long long stored, hits, hashed, invalid, entries;
};

static void cnt_read(struct cnt *c)
{
	c->stored = zu_debugfs("stored_pages");
	c->hits = zu_debugfs("dedup_hits");
	c->hashed = zu_debugfs("dedup_hashed");
	c->invalid = zu_debugfs("dedup_policy_invalid");
	c->entries = zu_debugfs("dedup_index_entries");
}

static struct cnt cnt_delta(const struct cnt *a, const struct cnt *b)
{
	return (struct cnt){
		.stored = b->stored - a->stored,
		.hits = b->hits - a->hits,
		.hashed = b->hashed - a->hashed,
		.invalid = b->invalid - a->invalid,
		.entries = b->entries - a->entries,
	};
}

#define LOG_CNT(what, d)						\
	TH_LOG("%-22s stored %+6lld hashed %+6lld hits %+6lld "	\
	       "entries %+6lld invalid %+6lld", what, (d).stored,	\
	       (d).hashed, (d).hits, (d).entries, (d).invalid)

/* p percent of x. */
static long long pct(long long x, int p)
{
	return x * p / 100;
}

/* memcg statistics are flushed lazily; the periodic flush runs every 2 s. */
static void memcg_stats_settle(void)
{
	usleep(2500 * 1000);
}

/* The cgroup's memory.stat zswpout_dedup: its pages stored by sharing. */
static long cg_dedup(const char *cg)
{
	return cg_read_key_long(cg, "memory.stat", "zswpout_dedup ");
}

/* ------------------------------------------------------------------------
 * workloads
 */

/*
 * A holder: a process with @copies copies of reference pages [0, k), which
 * it stores in zswap, then keeps there until the test lets it fault them
 * back and compare them.  Lives in shared memory.
 */
struct holder {
	struct zu_barrier bar;		/* the holder and the test */
	const char *ref;
	size_t k, copies;
	const char *move_to;		/* cgroup to move to once stored, or NULL */
	size_t corrupt;			/* pages found corrupt at the end */
	pid_t pid;
};

static int holder_fn(void *arg)
{
	struct holder *h = arg;
	const size_t n = h->k * h->copies;
	uint32_t *idx = zu_idx_copies(h->k, h->copies, 0);
	char *buf = zu_map(n);

	if (!idx || !buf)
		return CHILD_NOMEM;
	zu_fill_ref(buf, h->ref, idx, n);
	if (zu_pageout(buf, n * PAGE))
		return CHILD_PAGEOUT;
	/* The pages stay charged to the cgroup they were stored from. */
	if (h->move_to && cg_enter_current(h->move_to))
		return CHILD_CG;
	if (zu_barrier_wait(&h->bar, BAR_TIMEOUT) ||	/* stored */
	    zu_barrier_wait(&h->bar, BAR_TIMEOUT))	/* check */
		return CHILD_SYNC;
	h->corrupt = zu_count_corrupt_ref(buf, h->ref, idx, n);
	return h->corrupt ? CHILD_CORRUPT : CHILD_OK;
}

static struct holder *holders_alloc(int n)
{
	return zu_map_shared(n * sizeof(struct holder));
}

/* Start holder @h in cgroup @cg; returns once its pages are stored. */
static void holder_store(struct __test_metadata *_metadata, struct holder *h,
			 const char *cg)
{
	zu_barrier_init(&h->bar, 2);
	h->pid = zu_spawn(cg, holder_fn, h);
	ASSERT_LT(0, h->pid);
	ASSERT_EQ(0, zu_barrier_wait(&h->bar, BAR_TIMEOUT));
}

/* Let holder @h check its pages and exit; returns its exit status. */
static int holder_finish(struct holder *h)
{
	int rc;

	if (h->pid <= 0)
		return -1;
	zu_barrier_wait(&h->bar, BAR_TIMEOUT);
	rc = zu_wait_child(h->pid);
	h->pid = 0;
	return rc;
}

/* ========================================================================
 * fixture
 */
FIXTURE(policy) {
	char top[256];		/* /sys/fs/cgroup/zdedup_policy_<test> */
	char self[300];		/* top/self: the test process */
};

static const char *skip_reason(void)
{
	if (access(ZSWAP_PARAMS "/enabled", F_OK))
		return "zswap is not configured";
	if (!zu_have_dedup())
		return "no zswap dedup in this kernel (no debugfs zswap/dedup_hits)";
	if (access(ZSWAP_DEBUGFS "/dedup_policy", R_OK))
		return "no BPF dedup policy hook (no debugfs zswap/dedup_policy)";
	if (access(LOADER, X_OK))
		return "no " LOADER;
	return NULL;
}

/* Child cgroup @rel of the test's tree, path into @path (created). */
static void mkcg(struct __test_metadata *_metadata, FIXTURE_DATA(policy) *self,
		 const char *rel, char *path, size_t size)
{
	snprintf(path, size, "%s/%s", self->top, rel);
	ASSERT_EQ(0, cg_create(path));
}

FIXTURE_SETUP(policy)
{
	const char *why = skip_reason();

	if (why)
		SKIP(return, "%s", why);
	ensure_swap_on();
	ASSERT_TRUE(zu_swap_active(SWAP_DEV));
	ASSERT_EQ(0, zu_param_write("enabled", "Y"));
	ASSERT_EQ(0, zu_param_write("dedup_enabled", "Y"));
	ASSERT_TRUE(policy_cleanup()) {
		char cur[64];

		policy_name(cur, sizeof(cur));
		TH_LOG("a policy ('%s') stays attached after cleanup", cur);
	}

	snprintf(self->top, sizeof(self->top), CG_ROOT "/zdedup_policy_%s",
		 _metadata->name);
	cg_destroy_tree(self->top);	/* left over by a test killed on timeout */
	ASSERT_EQ(0, cg_create(self->top));
	ASSERT_EQ(0, cg_write(self->top, "cgroup.subtree_control", "+memory"));
	snprintf(self->self, sizeof(self->self), "%s/self", self->top);
	ASSERT_EQ(0, cg_create(self->self));
	ASSERT_EQ(0, cg_enter_current(self->self));
}

FIXTURE_TEARDOWN(policy)
{
	cg_enter_current(CG_ROOT);
	if (!policy_cleanup())
		TH_LOG("teardown: a policy stays attached");
	if (self->top[0])
		cg_destroy_tree(self->top);
	zu_param_write("dedup_enabled", "Y");
}

/* ========================================================================
 * 1. attach, replace and detach while pages are stored and faulted back
 */
#define CHURN_K 128		/* distinct pages per content set */
#define CHURN_COPIES 4
#define CHURN_WORKERS 2
#define CHURN_ITERS 2		/* passes over the command sequence */

struct churn {
	volatile int stop;
	const char *ref;
	long rounds[CHURN_WORKERS];
	long pages[CHURN_WORKERS];	/* pages faulted back and compared */
	size_t corrupt[CHURN_WORKERS];
};

static struct churn *churn;

/*
 * A worker: CHURN_COPIES copies of CHURN_K pages, the same in every
 * worker; each round stores all of them and faults them back, comparing
 * each; every other round they get the other content set, so new content
 * is stored (hashed or not, merged or not, as the policy of the moment
 * says) while objects stored under earlier policies are loaded and freed.
 */
static int churn_fn(void *arg)
{
	const int id = (int)(intptr_t)arg;
	const size_t n = CHURN_K * CHURN_COPIES;
	uint32_t *idx[2] = { zu_idx_copies(CHURN_K, CHURN_COPIES, 0),
			     zu_idx_copies(CHURN_K, CHURN_COPIES, CHURN_K) };
	char *buf = zu_map(n);
	int set = -1;

	if (!idx[0] || !idx[1] || !buf)
		return CHILD_NOMEM;
	while (!churn->stop) {
		int want = (churn->rounds[id] / 2) & 1;

		if (want != set) {
			zu_fill_ref(buf, churn->ref, idx[want], n);
			set = want;
		}
		if (zu_pageout(buf, n * PAGE))
			return CHILD_PAGEOUT;
		churn->corrupt[id] += zu_count_corrupt_ref(buf, churn->ref, idx[set], n);
		churn->pages[id] += n;
		churn->rounds[id]++;
	}
	return churn->corrupt[id] ? CHILD_CORRUPT : CHILD_OK;
}

static long churn_rounds(void)
{
	long r = 0;

	for (int i = 0; i < CHURN_WORKERS; i++)
		r += churn->rounds[i];
	return r;
}

/* Wait until the workers completed @n more rounds (at most 10 s). */
static void churn_wait_rounds(long n)
{
	long target = churn_rounds() + n;
	double deadline = zu_now() + 10;

	while (churn_rounds() < target && zu_now() < deadline)
		usleep(20 * 1000);
}

TEST_F_TIMEOUT(policy, attach_replace_under_load, TEST_TIMEOUT)
{
	/* %s: the workers' cgroup.  Each step: loader arguments, policy after. */
	static const struct { const char *args, *policy; } steps[] = {
		{ "load tenant", "tenant" },
		{ "set %s group 3", "tenant" },
		{ "load adaptive --replace", "adaptive" },
		{ "unload", "builtin" },
		{ "load memcg", "memcg" },
		{ "load tenant --replace", "tenant" },
		{ "set %s off", "tenant" },
		{ "load " BPF_DIR "/memcg.bpf.o --replace", "memcg" },
		{ "load adaptive --replace", "adaptive" },
		{ "unload", "builtin" },
	};
	char work[320], cur[64], args[512];
	pid_t pid[CHURN_WORKERS];
	struct cnt c0, c1, d;
	long pages = 0;
	size_t bad = 0;
	int steps_ok = 0, rc[CHURN_WORKERS];
	double t0, deadline;

	mkcg(_metadata, self, "work", work, sizeof(work));
	churn = zu_map_shared(sizeof(*churn));
	ASSERT_NE(NULL, churn);
	churn->ref = zu_ref_alloc(2 * CHURN_K, 0xc000000);
	ASSERT_NE(NULL, churn->ref);

	cnt_read(&c0);
	for (int i = 0; i < CHURN_WORKERS; i++) {
		pid[i] = zu_spawn(work, churn_fn, (void *)(intptr_t)i);
		ASSERT_LT(0, pid[i]);
	}
	churn_wait_rounds(CHURN_WORKERS);

	t0 = zu_now();
	for (int it = 0; it < CHURN_ITERS; it++) {
		for (size_t s = 0; s < ARRAY_SIZE(steps); s++) {
			int ret;

			snprintf(args, sizeof(args), steps[s].args, work);
			ret = run(LOADER " %s", args);
			policy_name(cur, sizeof(cur));
			EXPECT_EQ(0, ret);
			EXPECT_STREQ(steps[s].policy, cur);
			if (!ret && !strcmp(steps[s].policy, cur))
				steps_ok++;
			/* Let the workers store and load under this policy. */
			churn_wait_rounds(CHURN_WORKERS);
		}
	}
	TH_LOG("%d commands in %.1f s", (int)(CHURN_ITERS * ARRAY_SIZE(steps)),
	       zu_now() - t0);

	churn->stop = 1;
	for (int i = 0; i < CHURN_WORKERS; i++)
		rc[i] = zu_wait_child(pid[i]);
	/* The workers are gone: so must be every slot and object they had. */
	deadline = zu_now() + 6;
	do {
		cnt_read(&c1);
		d = cnt_delta(&c0, &c1);
	} while ((d.stored || d.entries) && zu_now() < deadline && !usleep(200 * 1000));
	LOG_CNT("churn, workers gone", d);
	for (int i = 0; i < CHURN_WORKERS; i++) {
		TH_LOG("worker %d: exit %d, %ld rounds, %ld pages compared, %zu corrupt",
		       i, rc[i], churn->rounds[i], churn->pages[i], churn->corrupt[i]);
		bad += churn->corrupt[i];
		pages += churn->pages[i];
	}
	ASSERT_EQ(0UL, bad);
	for (int i = 0; i < CHURN_WORKERS; i++)
		ASSERT_EQ(CHILD_OK, rc[i]);
	ASSERT_EQ((int)(CHURN_ITERS * ARRAY_SIZE(steps)), steps_ok);
	/* Each policy saw stores: more rounds than policy changes. */
	ASSERT_GE(churn_rounds(), (long)(CHURN_ITERS * ARRAY_SIZE(steps)));
	ASSERT_GT(d.hits, 0);
	ASSERT_EQ(0, d.stored);
	ASSERT_EQ(0, d.entries);
	ASSERT_TRUE(is_policy("builtin"));
	ASSERT_NE(0, access(PIN_DIR, F_OK));
}

/* ========================================================================
 * 2. one policy at a time: -EBUSY for a second registration
 */
TEST_F_TIMEOUT(policy, second_attach, TEST_TIMEOUT)
{
	long long link;

	/* The loader holds the hook. */
	ASSERT_RUN(0, "attached", LOADER " load tenant");
	ASSERT_TRUE(is_policy("tenant"));
	link = status_link_id();
	ASSERT_LT(0, link);

	EXPECT_RUN(1, "policy 'tenant' is already attached", LOADER " load memcg");
	EXPECT_TRUE(has(cmd_out, "--replace"));
	EXPECT_TRUE(is_policy("tenant"));

	/* A second registration at the kernel level: EBUSY. */
	EXPECT_NE(0, run(BPFTOOL " struct_ops register " BPF_DIR "/memcg.bpf.o "
			 BPFTOOL_PIN));
	EXPECT_TRUE(has(cmd_out, "Device or resource busy"));
	EXPECT_TRUE(is_policy("tenant"));
	EXPECT_NE(0, access(BPFTOOL_PIN "/memcg_ops", F_OK));
	EXPECT_EQ(link, status_link_id());

	/* The other way round: bpftool holds it, the loader and bpftool fail. */
	ASSERT_RUN(0, "detached", LOADER " unload");
	rm_dir_files(BPFTOOL_PIN);
	ASSERT_RUN(0, NULL, BPFTOOL " struct_ops register " BPF_DIR "/memcg.bpf.o "
		   BPFTOOL_PIN);
	ASSERT_TRUE(is_policy("memcg"));
	ASSERT_EQ(0, access(BPFTOOL_PIN "/memcg_ops", F_OK));
	EXPECT_NE(0, run(BPFTOOL " struct_ops register " BPF_DIR "/tenant.bpf.o "
			 BPFTOOL_PIN));
	EXPECT_TRUE(has(cmd_out, "Device or resource busy"));
	EXPECT_RUN(1, "policy 'memcg' is already attached, by another tool",
		   LOADER " load tenant");
	EXPECT_TRUE(is_policy("memcg"));
	EXPECT_NE(0, access(PIN_DIR "/link", F_OK));

	ASSERT_EQ(0, unlink(BPFTOOL_PIN "/memcg_ops"));
	ASSERT_TRUE(wait_policy("builtin", DETACH_WAIT));
}

/* ========================================================================
 * 3. invalid domains; writes to kernel memory
 */
#define INV_K 256

/*
 * test_invalid_domain returns 0x90000000 for every page.  Cgroup X stores
 * two copies of K pages, its sibling Y one copy of the same pages.  Each
 * store counts once in dedup_policy_invalid, and the pages are handled as
 * ZDEDUP_DOMAIN_MEMCG: X's second copy merges with its first (K hits), Y
 * merges with nobody.
 */
TEST_F_TIMEOUT(policy, invalid_domain, TEST_TIMEOUT)
{
	const long long k = INV_K;
	struct holder *h = holders_alloc(2);
	char x[320], y[320];
	struct cnt c0, c1, c2, dx, dy;
	long x0, y0, xd, yd;
	char *ref;
	int rx, ry;

	mkcg(_metadata, self, "X", x, sizeof(x));
	mkcg(_metadata, self, "Y", y, sizeof(y));
	ref = zu_ref_alloc(k, 0xd000000);
	ASSERT_NE(NULL, ref);
	ASSERT_NE(NULL, h);

	ASSERT_RUN(0, "attached", LOADER " load " BPF_DIR "/test_invalid_domain.bpf.o");
	ASSERT_TRUE(is_policy("invalid_domain"));

	x0 = cg_dedup(x);
	y0 = cg_dedup(y);
	h[0] = (struct holder){ .ref = ref, .k = k, .copies = 2 };
	h[1] = (struct holder){ .ref = ref, .k = k, .copies = 1 };
	cnt_read(&c0);
	holder_store(_metadata, &h[0], x);
	cnt_read(&c1);
	holder_store(_metadata, &h[1], y);
	cnt_read(&c2);
	dx = cnt_delta(&c0, &c1);
	dy = cnt_delta(&c1, &c2);
	LOG_CNT("X: 2 copies", dx);
	LOG_CNT("Y: 1 copy", dy);

	rx = holder_finish(&h[0]);
	ry = holder_finish(&h[1]);
	memcg_stats_settle();
	xd = cg_dedup(x) - x0;
	yd = cg_dedup(y) - y0;
	TH_LOG("memory.stat zswpout_dedup: X %+ld, Y %+ld; corrupt X %zu, Y %zu",
	       xd, yd, h[0].corrupt, h[1].corrupt);

	/* Every stored page went through domain() and was counted. */
	ASSERT_GE(dx.stored, pct(2 * k, 95));
	ASSERT_GE(dy.stored, pct(k, 95));
	ASSERT_GE(dx.invalid, pct(2 * k, 95));
	ASSERT_LE(dx.invalid, 2 * k + 16);
	ASSERT_GE(dy.invalid, pct(k, 95));
	ASSERT_LE(dy.invalid, k + 16);
	/* Treated as per-memcg: hashed, merged within X, not across. */
	ASSERT_GE(dx.hashed, pct(2 * k, 95));
	ASSERT_GE(dx.hits, pct(k, 95));
	ASSERT_LE(dx.hits, k);
	ASSERT_GE(xd, pct(k, 95));
	ASSERT_GE(dy.hashed, pct(k, 95));
	ASSERT_EQ(0, dy.hits);
	ASSERT_EQ(0, yd);
	ASSERT_EQ(CHILD_OK, rx);
	ASSERT_EQ(CHILD_OK, ry);
	ASSERT_TRUE(is_policy("invalid_domain"));
}

/*
 * Policies that write kernel memory: through the struct cgroup pointer
 * they are given, or into their context.  Both compile; the verifier
 * must reject both, and the loader must show its message and leave
 * nothing attached or pinned.  With tenant attached, a --replace by such
 * a policy must leave tenant attached with its settings.
 */
TEST_F_TIMEOUT(policy, verifier_rejects_writes, TEST_TIMEOUT)
{
	static const struct { const char *obj, *verifier; } bad[] = {
		{ "test_write_kernel", "only read is supported" },
		{ "test_write_ctx", "invalid bpf_context access" },
	};
	static char list0[OUT_MAX];
	char cg[320];
	long long link;

	mkcg(_metadata, self, "T", cg, sizeof(cg));
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		EXPECT_RUN(1, "verifier says", LOADER " load " BPF_DIR "/%s.bpf.o",
			   bad[i].obj);
		EXPECT_TRUE(has(cmd_out, bad[i].verifier));
		EXPECT_TRUE(is_policy("builtin"));
		EXPECT_NE(0, access(PIN_DIR "/link", F_OK));
		EXPECT_NE(0, access(PIN_DIR, F_OK));
	}

	ASSERT_RUN(0, "attached", LOADER " load tenant");
	ASSERT_RUN(0, "group 9", LOADER " set %s group 9", cg);
	ASSERT_EQ(0, run_quiet(LOADER " list --json"));
	strcpy(list0, cmd_out);
	link = status_link_id();
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		EXPECT_RUN(1, bad[i].verifier, LOADER " load " BPF_DIR "/%s.bpf.o --replace",
			   bad[i].obj);
		EXPECT_TRUE(is_policy("tenant"));
		EXPECT_EQ(link, status_link_id());
		EXPECT_EQ(0, run_quiet(LOADER " list --json"));
		EXPECT_STREQ(list0, cmd_out);
	}
}

/* ========================================================================
 * 4. tenant semantics, through the counters
 */
#define TEN_K 256

/*
 * Cgroups A (private), B and C (group 7), D (off), E (child of B, no
 * entry: inherits group 7).  The same K pages are stored once from each,
 * one cgroup after the other, and a second copy from A, each by its own
 * process that keeps them in zswap.  Order B, A, C, D, E:
 *
 *   B  first of group 7                     0 hits
 *   A  private: its second copy only        K hits (not B's)
 *   C  group 7: merges with B               K hits
 *   D  off: not even hashed                 0 hashed, 0 hits
 *   E  inherits group 7: merges with B/C    K hits
 *
 * Global counters are measured around each store alone; memory.stat
 * zswpout_dedup gives the same per cgroup (B's includes its child E).
 * B's process moves out of B once its pages are stored, so that B can
 * enable the memory controller for its child E (no internal processes);
 * the pages stay charged to B.
 */
TEST_F_TIMEOUT(policy, tenant_semantics, TEST_TIMEOUT)
{
	enum { A, B, C, D, E, NCG };
	static const char *const names[NCG] = { "A", "B", "C", "D", "E" };
	static const int order[] = { A, C, D, E };	/* after B */
	const long long k = TEN_K;
	struct holder *h = holders_alloc(NCG);
	char cg[NCG][320];
	struct cnt s[NCG][2], d[NCG];
	long dd0[NCG], dd[NCG];
	long long st[NCG][3];		/* tenant's cgroup_stats: hashed, shared, skipped */
	int rc[NCG];
	char *ref;

	ASSERT_NE(NULL, h);
	for (int i = A; i <= D; i++)
		mkcg(_metadata, self, names[i], cg[i], sizeof(cg[i]));
	ASSERT_GT((int)sizeof(cg[E]), snprintf(cg[E], sizeof(cg[E]), "%s/E", cg[B]));
	ref = zu_ref_alloc(k, 0xe000000);
	ASSERT_NE(NULL, ref);

	ASSERT_RUN(0, "attached", LOADER " load tenant");
	ASSERT_RUN(0, "private", LOADER " set %s private", cg[A]);
	ASSERT_RUN(0, "group 7", LOADER " set %s group 7", cg[B]);
	ASSERT_RUN(0, "group 7", LOADER " set %s group 7", cg[C]);
	ASSERT_RUN(0, "off", LOADER " set %s off", cg[D]);

	for (int i = 0; i < NCG; i++)
		h[i] = (struct holder){ .ref = ref, .k = k, .copies = i == A ? 2 : 1 };
	h[B].move_to = self->self;

	for (int i = A; i <= D; i++)
		dd0[i] = cg_dedup(cg[i]);
	cnt_read(&s[B][0]);
	holder_store(_metadata, &h[B], cg[B]);
	cnt_read(&s[B][1]);

	/* B is empty now: give E its own memory cgroup. */
	ASSERT_EQ(0, cg_write(cg[B], "cgroup.subtree_control", "+memory"));
	ASSERT_EQ(0, cg_create(cg[E]));
	dd0[E] = cg_dedup(cg[E]);

	for (size_t j = 0; j < ARRAY_SIZE(order); j++) {
		int i = order[j];

		cnt_read(&s[i][0]);
		holder_store(_metadata, &h[i], cg[i]);
		cnt_read(&s[i][1]);
	}
	EXPECT_EQ(0, run(LOADER " status"));
	/* The policy's own view, from its stored() feedback. */
	ASSERT_EQ(0, run_quiet(LOADER " status --json"));
	for (int i = 0; i < NCG; i++) {
		const char *rel = cg[i] + strlen(CG_ROOT);

		st[i][0] = json_row_num(cmd_out, rel, "hashed");
		st[i][1] = json_row_num(cmd_out, rel, "shared");
		st[i][2] = json_row_num(cmd_out, rel, "skipped");
	}

	for (int i = 0; i < NCG; i++)
		rc[i] = holder_finish(&h[i]);
	memcg_stats_settle();
	for (int i = 0; i < NCG; i++) {
		d[i] = cnt_delta(&s[i][0], &s[i][1]);
		dd[i] = cg_dedup(cg[i]) - dd0[i];
	}
	dd[B] -= dd[E];		/* B's memory.stat includes its child's */
	for (int i = 0; i < NCG; i++) {
		char what[64];

		snprintf(what, sizeof(what), "%s (%s)", names[i],
			 i == A ? "private, 2 copies" : i == D ? "off" :
			 i == E ? "no entry" : "group 7");
		LOG_CNT(what, d[i]);
		TH_LOG("%-22s memory.stat zswpout_dedup %+ld; tenant's stats: hashed "
		       "%lld shared %lld skipped %lld; exit %d, %zu corrupt", "",
		       dd[i], st[i][0], st[i][1], st[i][2], rc[i], h[i].corrupt);
	}

	for (int i = 0; i < NCG; i++) {
		ASSERT_EQ(CHILD_OK, rc[i]) TH_LOG("holder %s", names[i]);
		ASSERT_GE(d[i].stored, pct(k * h[i].copies, 95)) TH_LOG("%s", names[i]);
	}
	/* A: its own second copy, nothing from group 7. */
	ASSERT_GE(d[A].hashed, pct(2 * k, 95));
	ASSERT_GE(d[A].hits, pct(k, 95));
	ASSERT_LE(d[A].hits, k);
	ASSERT_GE(dd[A], pct(k, 95));
	ASSERT_LE(dd[A], k);
	/* B, C, E: one group; B, first, merged with nobody (not with A). */
	ASSERT_EQ(0, d[B].hits);
	ASSERT_GE(d[B].hashed, pct(k, 95));
	ASSERT_EQ(0, dd[B]);
	ASSERT_GE(d[C].hits, pct(k, 95));
	ASSERT_LE(d[C].hits, k);
	ASSERT_GE(d[E].hits, pct(k, 95));
	ASSERT_LE(d[E].hits, k);
	ASSERT_GE(dd[B] + dd[C] + dd[E], pct(2 * k, 95));
	ASSERT_LE(dd[B] + dd[C] + dd[E], 2 * k);
	/* D: off: not hashed, not merged (with A or group 7 alike). */
	ASSERT_EQ(0, d[D].hashed);
	ASSERT_EQ(0, d[D].hits);
	ASSERT_EQ(0, dd[D]);
	/* tenant's per-cgroup figures say the same (feedback op, skip count). */
	ASSERT_GE(st[A][0], pct(2 * k, 95));
	ASSERT_LE(st[A][0], d[A].hashed);
	ASSERT_GE(st[A][1], pct(k, 95));
	ASSERT_LE(st[A][1], d[A].hits);
	ASSERT_GE(st[B][0], pct(k, 95));
	ASSERT_EQ(0, st[B][1]);
	ASSERT_GE(st[C][1], pct(k, 95));
	ASSERT_LE(st[C][1], d[C].hits);
	ASSERT_GE(st[E][1], pct(k, 95));
	ASSERT_LE(st[E][1], d[E].hits);
	ASSERT_EQ(0, st[D][0]);
	ASSERT_EQ(0, st[D][1]);
	ASSERT_GE(st[D][2], pct(k, 95));
	ASSERT_LE(st[D][2], k + 16);
}

/* ========================================================================
 * 5. adaptive
 */
#define ADA_WINDOW ZDEDUP_ADAPTIVE_WINDOW	/* the policy's defaults */
#define ADA_BACKOFF ZDEDUP_ADAPTIVE_BACKOFF
#define ADA_ROUNDS 8
#define ADA_ROUND (ADA_BACKOFF / 4)
#define ADA_UNIQUE (ADA_WINDOW + ADA_ROUNDS * ADA_ROUND)
#define ADA_REF 64			/* base pages of the unique pages */
#define ADA_DUP_K 256
#define ADA_DUP_COPIES 4
#define ADA_DUP_ROUNDS 3

struct ada {
	struct cnt uniq[1 + ADA_ROUNDS];	/* warm-up, then the rounds */
	struct cnt dup[ADA_DUP_ROUNDS];
	size_t corrupt;
	const char *ref;
};

static struct ada *ada;

/* Unique page @i: base page i % ADA_REF, stamped with i. */
static void unique_page(char *page, size_t i)
{
	uint64_t stamp = 0x5eed000000000000ULL | i;

	memcpy(page, ada->ref + (i % ADA_REF) * PAGE, PAGE);
	memcpy(page, &stamp, sizeof(stamp));
	memcpy(page + PAGE / 2, &stamp, sizeof(stamp));
}

/* Store @n pages at @buf and record what the counters did. */
static int ada_store(char *buf, size_t n, struct cnt *out)
{
	struct cnt a, b;

	cnt_read(&a);
	if (zu_pageout(buf, n * PAGE))
		return -1;
	cnt_read(&b);
	*out = cnt_delta(&a, &b);
	return 0;
}

/*
 * Unique pages: a warm-up of one window, then ADA_ROUNDS rounds of fresh
 * pages, each stored on its own.
 */
static int ada_unique_fn(void *arg)
{
	char *buf = zu_map(ADA_UNIQUE), *page = malloc(PAGE);
	size_t off = 0, bad = 0;

	(void)arg;
	if (!buf || !page)
		return CHILD_NOMEM;
	for (int r = 0; r <= ADA_ROUNDS; r++) {
		size_t n = r ? ADA_ROUND : ADA_WINDOW;

		for (size_t i = off; i < off + n; i++)
			unique_page(buf + i * PAGE, i);
		if (ada_store(buf + off * PAGE, n, &ada->uniq[r]))
			return CHILD_PAGEOUT;
		off += n;
	}
	for (size_t i = 0; i < ADA_UNIQUE; i++) {
		unique_page(page, i);
		bad += !!memcmp(buf + i * PAGE, page, PAGE);
	}
	ada->corrupt += bad;
	return bad ? CHILD_CORRUPT : CHILD_OK;
}

/*
 * Duplicates: each round, ADA_DUP_COPIES copies of ADA_DUP_K fresh pages,
 * the copies of a page next to each other (every window sees 3 hits in 4).
 */
static int ada_dup_fn(void *arg)
{
	const size_t n = ADA_DUP_K * ADA_DUP_COPIES;
	char *ref = zu_ref_alloc(ADA_DUP_ROUNDS * ADA_DUP_K, 0xf000000);
	char *buf = zu_map(n);
	uint32_t idx[ADA_DUP_K * ADA_DUP_COPIES];
	size_t bad = 0;

	(void)arg;
	if (!ref || !buf)
		return CHILD_NOMEM;
	for (int r = 0; r < ADA_DUP_ROUNDS; r++) {
		for (size_t i = 0; i < n; i++)
			idx[i] = r * ADA_DUP_K + i / ADA_DUP_COPIES;
		zu_fill_ref(buf, ref, idx, n);
		if (ada_store(buf, n, &ada->dup[r]))
			return CHILD_PAGEOUT;
		bad += zu_count_corrupt_ref(buf, ref, idx, n);
	}
	ada->corrupt += bad;
	return bad ? CHILD_CORRUPT : CHILD_OK;
}

/* hashed / stored */
static double share(const struct cnt *d)
{
	return d->stored > 0 ? (double)d->hashed / d->stored : -1;
}

/*
 * adaptive with its default tunables (include/zdedup.h): a cgroup storing
 * only unique pages has its first window hashed, then backs off for
 * ADA_BACKOFF pages, is probed for one more window and backs off again;
 * over 2 x ADA_BACKOFF pages after the warm-up that is one window hashed.
 * A cgroup storing duplicates afterwards keeps being hashed and merging.
 */
TEST_F_TIMEOUT(policy, adaptive_backoff, TEST_TIMEOUT)
{
	struct cnt rest = {}, last = {};
	char u[320], p[320];
	int rc;

	mkcg(_metadata, self, "unique", u, sizeof(u));
	mkcg(_metadata, self, "dup", p, sizeof(p));
	ada = zu_map_shared(sizeof(*ada));
	ASSERT_NE(NULL, ada);
	ada->ref = zu_ref_alloc(ADA_REF, 0x10000000);
	ASSERT_NE(NULL, ada->ref);
	ASSERT_RUN(0, "attached", LOADER " load adaptive");
	ASSERT_TRUE(is_policy("adaptive"));

	rc = zu_wait_child(zu_spawn(u, ada_unique_fn, NULL));
	for (int r = 0; r <= ADA_ROUNDS; r++) {
		char what[32];
		struct cnt *d = &ada->uniq[r];

		snprintf(what, sizeof(what), r ? "unique round %d" : "unique warm-up", r);
		TH_LOG("%-16s stored %5lld hashed %5lld (%5.1f%%) hits %lld", what,
		       d->stored, d->hashed, 100 * share(d), d->hits);
		if (r) {
			rest.stored += d->stored;
			rest.hashed += d->hashed;
			rest.hits += d->hits;
		}
		if (r > ADA_ROUNDS - 3) {
			last.stored += d->stored;
			last.hashed += d->hashed;
		}
	}
	TH_LOG("after the warm-up: %lld of %lld hashed (%.1f%%); last 3 rounds "
	       "%.1f%%; unique cgroup exit %d, %zu corrupt", rest.hashed,
	       rest.stored, 100 * share(&rest), 100 * share(&last), rc,
	       ada->corrupt);
	EXPECT_EQ(0, run(LOADER " status"));
	ASSERT_EQ(CHILD_OK, rc);
	ASSERT_GE(ada->uniq[0].stored, pct(ADA_WINDOW, 95));
	ASSERT_GE(share(&ada->uniq[0]), 0.95);
	ASSERT_GE(rest.stored, pct(ADA_ROUNDS * ADA_ROUND, 95));
	/* One probe window in 2 x ADA_BACKOFF pages: ~3%. */
	ASSERT_LE(share(&rest), 0.10);
	ASSERT_LE(share(&last), 0.05);
	/* ... but it does probe again. */
	ASSERT_GE(rest.hashed, ADA_WINDOW / 2);
	ASSERT_EQ(0, rest.hits);

	rc = zu_wait_child(zu_spawn(p, ada_dup_fn, NULL));
	for (int r = 0; r < ADA_DUP_ROUNDS; r++) {
		struct cnt *d = &ada->dup[r];

		TH_LOG("dup round %d      stored %5lld hashed %5lld (%5.1f%%) hits %lld",
		       r, d->stored, d->hashed, 100 * share(d), d->hits);
	}
	ASSERT_EQ(CHILD_OK, rc);
	for (int r = 0; r < ADA_DUP_ROUNDS; r++) {
		const long long n = ADA_DUP_K * ADA_DUP_COPIES;
		const long long dups = (ADA_DUP_COPIES - 1) * ADA_DUP_K;

		ASSERT_GE(ada->dup[r].stored, pct(n, 95));
		ASSERT_GE(ada->dup[r].hashed, pct(n, 95));
		ASSERT_GE(ada->dup[r].hits, pct(dups, 95));
		ASSERT_LE(ada->dup[r].hits, dups);
	}
}

#define COLD_PAGES 8192
#define COLD_DISTINCT (COLD_PAGES / 2)

static struct cnt *cold;

/* COLD_PAGES pages, half of them copies, shuffled; stored and checked. */
static int ada_cold_fn(void *arg)
{
	const uint32_t *idx = arg;
	char *ref = zu_ref_alloc(COLD_DISTINCT, 0x12000000);
	char *buf = zu_map(COLD_PAGES);

	if (!ref || !buf)
		return CHILD_NOMEM;
	zu_fill_ref(buf, ref, idx, COLD_PAGES);
	if (ada_store(buf, COLD_PAGES, cold))
		return CHILD_PAGEOUT;
	return zu_count_corrupt_ref(buf, ref, idx, COLD_PAGES) ?
		CHILD_CORRUPT : CHILD_OK;
}

/*
 * A cgroup whose pages repeat, but in random order, from an empty index:
 * its first windows see few hits (a copy merges only once its original is
 * stored).  adaptive must not take that for unique content: it merges at
 * least 95% of what the built-in policy merges (every page whose content
 * was stored before).  With 1/32 as its threshold it backed off in the
 * first window and merged 31%.
 */
TEST_F_TIMEOUT(policy, adaptive_cold_start, TEST_TIMEOUT)
{
	uint32_t *idx = zu_idx_shuffled(COLD_PAGES, COLD_DISTINCT, 42);
	bool *seen = calloc(COLD_DISTINCT, sizeof(*seen));
	long long repeats = 0;
	char cg[320];
	int rc;

	ASSERT_NE(NULL, idx);
	ASSERT_NE(NULL, seen);
	for (size_t i = 0; i < COLD_PAGES; i++) {
		repeats += seen[idx[i]];
		seen[idx[i]] = true;
	}
	mkcg(_metadata, self, "cold", cg, sizeof(cg));
	cold = zu_map_shared(sizeof(*cold));
	ASSERT_NE(NULL, cold);
	ASSERT_RUN(0, "attached", LOADER " load adaptive");
	ASSERT_TRUE(is_policy("adaptive"));

	rc = zu_wait_child(zu_spawn(cg, ada_cold_fn, idx));
	TH_LOG("%d pages, %lld repeats: stored %lld hashed %lld hits %lld (%.1f%% "
	       "of the repeats); exit %d", COLD_PAGES, repeats, cold->stored,
	       cold->hashed, cold->hits,
	       repeats ? 100.0 * cold->hits / repeats : 0.0, rc);
	EXPECT_EQ(0, run(LOADER " status"));
	ASSERT_EQ(CHILD_OK, rc);
	ASSERT_GE(cold->stored, pct(COLD_PAGES, 95));
	ASSERT_GE(cold->hits, pct(repeats, 95));
	ASSERT_LE(cold->hits, repeats);
	free(seen);
	free(idx);
}

/* ========================================================================
 * 6. loader errors
 */

/* After a refused request: the same policy, link and per-cgroup map. */
static void assert_unchanged(struct __test_metadata *_metadata, const char *policy,
			     long long link, const char *list0)
{
	EXPECT_TRUE(is_policy(policy));
	EXPECT_EQ(link, status_link_id());
	if (list0) {
		EXPECT_EQ(0, run_quiet(LOADER " list --json"));
		EXPECT_STREQ(list0, cmd_out);
	}
}

TEST_F_TIMEOUT(policy, loader_errors, TEST_TIMEOUT)
{
	static char list0[OUT_MAX];
	char a[320], b[320];
	long long link;

	mkcg(_metadata, self, "A", a, sizeof(a));
	mkcg(_metadata, self, "B", b, sizeof(b));

	/* Nothing loaded. */
	EXPECT_RUN(1, "no policy is loaded", LOADER " set %s private", a);
	EXPECT_RUN(1, "no policy is loaded", LOADER " list");
	EXPECT_RUN(1, "nothing to unload", LOADER " unload");
	EXPECT_TRUE(is_policy("builtin"));
	EXPECT_NE(0, access(PIN_DIR, F_OK));
	/* No BPF filesystem to pin in (only when nothing is pinned). */
	if (!umount("/sys/fs/bpf")) {
		EXPECT_RUN(1, "no BPF filesystem", LOADER " load memcg");
		EXPECT_TRUE(is_policy("builtin"));
		ASSERT_EQ(0, mount("bpf", "/sys/fs/bpf", "bpf", 0, NULL));
	} else {
		TH_LOG("cannot unmount /sys/fs/bpf (%s): no-bpffs case not run",
		       strerror(errno));
	}

	/* A policy with settings; every bad request below must leave them. */
	ASSERT_RUN(0, "attached", LOADER " load tenant");
	ASSERT_RUN(0, NULL, LOADER " set %s group 7", a);
	ASSERT_RUN(0, NULL, LOADER " set %s off", b);
	ASSERT_EQ(0, run(LOADER " list --json"));
	strcpy(list0, cmd_out);
	ASSERT_TRUE(has(list0, "\"group\": 7"));
	link = status_link_id();
	ASSERT_LT(0, link);

	/* cgroup paths */
	EXPECT_RUN(1, "No such file or directory", LOADER " set %s/nosuch private",
		   self->top);
	assert_unchanged(_metadata, "tenant", link, list0);
	EXPECT_RUN(1, "No such file or directory", LOADER " set zdedup_nosuch group 3");
	assert_unchanged(_metadata, "tenant", link, list0);
	EXPECT_RUN(1, "not a cgroup v2 directory", LOADER " set /proc private");
	assert_unchanged(_metadata, "tenant", link, list0);
	EXPECT_RUN(1, "not a cgroup v2 directory", LOADER " set /tmp group 7");
	assert_unchanged(_metadata, "tenant", link, list0);
	EXPECT_RUN(1, "not a cgroup (not a directory)", LOADER " set %s/cgroup.procs off",
		   a);
	assert_unchanged(_metadata, "tenant", link, list0);
	EXPECT_RUN(1, "No such file or directory", LOADER " unset %s/nosuch", self->top);
	assert_unchanged(_metadata, "tenant", link, list0);

	/* modes and group numbers */
	EXPECT_RUN(2, "unknown mode 'shared'", LOADER " set %s shared", a);
	assert_unchanged(_metadata, "tenant", link, list0);
	EXPECT_RUN(2, "group number must be 1..65535, not '0'", LOADER " set %s group 0", a);
	assert_unchanged(_metadata, "tenant", link, list0);
	EXPECT_RUN(2, "group number must be 1..65535, not '65536'",
		   LOADER " set %s group %d", a, ZDEDUP_GROUP_MAX + 1);
	assert_unchanged(_metadata, "tenant", link, list0);
	EXPECT_RUN(2, "group number must be 1..65535, not '-1'", LOADER " set %s group -1", a);
	assert_unchanged(_metadata, "tenant", link, list0);
	EXPECT_RUN(2, "needs a group number", LOADER " set %s group", a);
	assert_unchanged(_metadata, "tenant", link, list0);
	/* The last valid group is accepted (and then put back). */
	EXPECT_RUN(0, "group 65535", LOADER " set %s group %d", a, ZDEDUP_GROUP_MAX);
	EXPECT_RUN(0, "group 7", LOADER " set %s group 7", a);
	assert_unchanged(_metadata, "tenant", link, list0);

	/* loading over an attached policy */
	EXPECT_RUN(1, "policy 'tenant' is already attached", LOADER " load memcg");
	EXPECT_TRUE(has(cmd_out, "--replace"));
	assert_unchanged(_metadata, "tenant", link, list0);
	EXPECT_RUN(1, "already attached", LOADER " load " BPF_DIR "/test_invalid_domain.bpf.o");
	assert_unchanged(_metadata, "tenant", link, list0);
	EXPECT_RUN(2, "unknown policy 'nosuch'", LOADER " load nosuch --replace");
	assert_unchanged(_metadata, "tenant", link, list0);
	EXPECT_RUN(1, "cannot read policy object", LOADER " load /nonexistent.bpf.o --replace");
	assert_unchanged(_metadata, "tenant", link, list0);
	EXPECT_RUN(2, "no tunable", LOADER " load memcg --replace --window 64");
	assert_unchanged(_metadata, "tenant", link, list0);
	EXPECT_RUN(2, "unknown command", LOADER " frobnicate");
	assert_unchanged(_metadata, "tenant", link, list0);
	/* (a policy failing verification: verifier_rejects_writes) */

	/* A policy without per-cgroup settings: set explains it. */
	ASSERT_RUN(0, "replaced 'tenant'", LOADER " load adaptive --replace");
	EXPECT_RUN(1, "no per-cgroup policy map", LOADER " set %s private", a);
	assert_unchanged(_metadata, "adaptive", link, NULL);
}

TEST_F(policy, loader_errors_no_bpf)
{
	SKIP(return, "needs a kernel without BPF (CONFIG_BPF_SYSCALL off): "
	     "this VM boots one kernel, with BPF");
}

/* ========================================================================
 * 7. bpftool struct_ops register
 */
#define TOOL_K 256

/*
 * bpftool registers memcg.bpf.o and pins its link in BPFTOOL_PIN: the
 * policy is memcg, two copies of K pages in one cgroup merge (K hits),
 * one copy in a sibling merges with nothing.  Removing the pin detaches
 * the policy.
 */
TEST_F_TIMEOUT(policy, bpftool_register, TEST_TIMEOUT)
{
	const long long k = TOOL_K;
	struct holder *h = holders_alloc(2);
	struct cnt c0, c1, c2, dx, dy;
	char x[320], y[320];
	int rx, ry;
	char *ref;

	mkcg(_metadata, self, "X", x, sizeof(x));
	mkcg(_metadata, self, "Y", y, sizeof(y));
	ref = zu_ref_alloc(k, 0x11000000);
	ASSERT_NE(NULL, ref);
	ASSERT_NE(NULL, h);

	ASSERT_RUN(0, NULL, BPFTOOL " struct_ops register " BPF_DIR "/memcg.bpf.o "
		   BPFTOOL_PIN);
	ASSERT_TRUE(is_policy("memcg"));
	ASSERT_EQ(0, access(BPFTOOL_PIN "/memcg_ops", F_OK));
	EXPECT_RUN(0, "another tool", LOADER " status");

	h[0] = (struct holder){ .ref = ref, .k = k, .copies = 2 };
	h[1] = (struct holder){ .ref = ref, .k = k, .copies = 1 };
	cnt_read(&c0);
	holder_store(_metadata, &h[0], x);
	cnt_read(&c1);
	holder_store(_metadata, &h[1], y);
	cnt_read(&c2);
	dx = cnt_delta(&c0, &c1);
	dy = cnt_delta(&c1, &c2);
	LOG_CNT("X: 2 copies", dx);
	LOG_CNT("Y: 1 copy", dy);

	ASSERT_EQ(0, unlink(BPFTOOL_PIN "/memcg_ops"));
	ASSERT_TRUE(wait_policy("builtin", DETACH_WAIT));
	rmdir(BPFTOOL_PIN);

	rx = holder_finish(&h[0]);
	ry = holder_finish(&h[1]);
	TH_LOG("corrupt X %zu, Y %zu", h[0].corrupt, h[1].corrupt);
	ASSERT_GE(dx.stored, pct(2 * k, 95));
	ASSERT_GE(dx.hits, pct(k, 95));
	ASSERT_LE(dx.hits, k);
	ASSERT_GE(dy.stored, pct(k, 95));
	ASSERT_GE(dy.hashed, pct(k, 95));
	ASSERT_EQ(0, dy.hits);
	ASSERT_EQ(CHILD_OK, rx);
	ASSERT_EQ(CHILD_OK, ry);
}

/* ========================================================================
 * 10. objects shared across cgroups: the owner's writeback rule
 */
#define SHR_K 256
#define SHR_ROUNDS 40		/* memory.reclaim calls per cgroup */

static long cg_stat(const char *cg, const char *key)
{
	return cg_read_key_long(cg, "memory.stat", key);
}

/*
 * Reclaim from @cg: with its pages all in zswap, only the zswap shrinker
 * has anything to give.  memory.reclaim fails with EAGAIN when it cannot
 * reclaim all it was asked for; that is expected here.
 */
static void cg_reclaim(const char *cg)
{
	for (int i = 0; i < SHR_ROUNDS; i++)
		cg_write(cg, "memory.reclaim", "4M");
}

/*
 * A and B in tenant group 7; A stores K pages and K pages of its own, B
 * the same K pages, which share A's objects.  An object follows the
 * memory.zswap.writeback of the cgroup it is charged to, A, whoever
 * reclaims it:
 *
 * 1. A forbids writeback, B allows it: B's reclaim reaches the objects it
 *    shares but writes none back (none of A's pages is written back, B
 *    keeps its zswapped).
 * 2. A allows writeback, B forbids it: A's reclaim writes back A's own
 *    objects and the shared ones, B's pages with them.  Before, B's
 *    setting vetoed every shared object, found by walking every slot of
 *    the object on each visit: a cost any tenant could raise, and a way
 *    for B to keep A's charge in place.
 */
TEST_F_TIMEOUT(policy, shared_writeback_rules, TEST_TIMEOUT)
{
	struct holder *h = holders_alloc(3);
	char a[320], b[320], shrinker[8];
	long wb_a[3], wb_b[3], zswapped_b[3];
	char *ref, *own;
	int rc[3];

	ASSERT_NE(NULL, h);
	mkcg(_metadata, self, "A", a, sizeof(a));
	mkcg(_metadata, self, "B", b, sizeof(b));
	ref = zu_ref_alloc(SHR_K, 0x5100000);
	own = zu_ref_alloc(SHR_K, 0x5200000);
	ASSERT_NE(NULL, ref);
	ASSERT_NE(NULL, own);
	ASSERT_EQ(0, zu_param_read("shrinker_enabled", shrinker, sizeof(shrinker)));

	ASSERT_RUN(0, "attached", LOADER " load tenant");
	ASSERT_RUN(0, "group 7", LOADER " set %s group 7", a);
	ASSERT_RUN(0, "group 7", LOADER " set %s group 7", b);

	h[0] = (struct holder){ .ref = ref, .k = SHR_K, .copies = 1 };
	h[1] = (struct holder){ .ref = own, .k = SHR_K, .copies = 1 };
	h[2] = h[0];
	holder_store(_metadata, &h[0], a);
	holder_store(_metadata, &h[1], a);
	holder_store(_metadata, &h[2], b);
	memcg_stats_settle();
	ASSERT_GE(cg_dedup(b), pct(SHR_K, 95)) TH_LOG("B did not share A's objects");

	ASSERT_EQ(0, zu_param_write("shrinker_enabled", "Y"));
	wb_a[0] = cg_stat(a, "zswpwb ");
	wb_b[0] = cg_stat(b, "zswpwb ");
	zswapped_b[0] = cg_stat(b, "zswapped ");
	ASSERT_EQ(0, cg_write(a, "memory.zswap.writeback", "0"));
	cg_reclaim(b);
	memcg_stats_settle();
	wb_a[1] = cg_stat(a, "zswpwb ");
	wb_b[1] = cg_stat(b, "zswpwb ");
	zswapped_b[1] = cg_stat(b, "zswapped ");

	ASSERT_EQ(0, cg_write(a, "memory.zswap.writeback", "1"));
	ASSERT_EQ(0, cg_write(b, "memory.zswap.writeback", "0"));
	cg_reclaim(a);
	ASSERT_EQ(0, zu_param_write("shrinker_enabled", shrinker));
	memcg_stats_settle();
	wb_a[2] = cg_stat(a, "zswpwb ");
	wb_b[2] = cg_stat(b, "zswpwb ");
	zswapped_b[2] = cg_stat(b, "zswapped ");

	for (int i = 0; i < 3; i++)
		rc[i] = holder_finish(&h[i]);
	TH_LOG("B's reclaim, A's writeback off: A's pages written back %ld, "
	       "B's %ld; B's zswapped %ld -> %ld B", wb_a[1] - wb_a[0],
	       wb_b[1] - wb_b[0], zswapped_b[0], zswapped_b[1]);
	TH_LOG("A's reclaim, B's writeback off: A's pages written back %ld "
	       "(%d unshared), B's %ld; B's zswapped %ld -> %ld B",
	       wb_a[2] - wb_a[1], SHR_K, wb_b[2] - wb_b[1], zswapped_b[1],
	       zswapped_b[2]);
	for (int i = 0; i < 3; i++) {
		ASSERT_EQ(CHILD_OK, rc[i])
			TH_LOG("holder %d, %zu corrupt", i, h[i].corrupt);
	}

	/*
	 * 1: nothing charged to A goes.  B's reclaim may write back a few
	 * pages of its processes' stacks and heaps, its own objects.
	 */
	ASSERT_EQ(0, wb_a[1] - wb_a[0]);
	ASSERT_LE(wb_b[1] - wb_b[0], SHR_K / 8);
	ASSERT_GE(zswapped_b[1], zswapped_b[0] - (long)(SHR_K / 8) * PAGE);
	/* 2: A's reclaim writes back the shared objects, B's slots with them */
	ASSERT_GT(wb_a[2] - wb_a[1], SHR_K);
	ASSERT_GE(wb_b[2] - wb_b[1], pct(SHR_K, 90));
	ASSERT_LT(zswapped_b[2], zswapped_b[1] / 4);
}

/*
 * A and B in tenant group 7 store the same K pages; B's share A's objects,
 * which stay charged to A.  A's process reads its pages back and exits:
 * A holds no slot any more (zswapped 0) but is still charged for the
 * objects B uses.  A's own reclaim must reach them (its shrinker counts
 * what A is charged for, not only A's slots) and write them back, B's
 * pages with them, until A's zswap charge is gone.
 */
TEST_F_TIMEOUT(policy, owner_reclaims_charge, TEST_TIMEOUT)
{
	struct holder *h = holders_alloc(2);
	char a[320], b[320], shrinker[8];
	long charge_a[3], zswapped_a, wb_b;
	char *ref;
	int rc;

	ASSERT_NE(NULL, h);
	mkcg(_metadata, self, "A", a, sizeof(a));
	mkcg(_metadata, self, "B", b, sizeof(b));
	ref = zu_ref_alloc(SHR_K, 0x5300000);
	ASSERT_NE(NULL, ref);
	ASSERT_EQ(0, zu_param_read("shrinker_enabled", shrinker, sizeof(shrinker)));

	ASSERT_RUN(0, "attached", LOADER " load tenant");
	ASSERT_RUN(0, "group 7", LOADER " set %s group 7", a);
	ASSERT_RUN(0, "group 7", LOADER " set %s group 7", b);
	h[0] = (struct holder){ .ref = ref, .k = SHR_K, .copies = 1 };
	h[1] = h[0];
	holder_store(_metadata, &h[0], a);
	holder_store(_metadata, &h[1], b);
	memcg_stats_settle();
	ASSERT_GE(cg_dedup(b), pct(SHR_K, 95)) TH_LOG("B did not share A's objects");
	charge_a[0] = cg_read_long(a, "memory.zswap.current");

	rc = holder_finish(&h[0]);	/* A's pages read back, A's slots gone */
	ASSERT_EQ(CHILD_OK, rc) TH_LOG("A: %zu corrupt", h[0].corrupt);
	memcg_stats_settle();
	charge_a[1] = cg_read_long(a, "memory.zswap.current");
	zswapped_a = cg_stat(a, "zswapped ");

	ASSERT_EQ(0, zu_param_write("shrinker_enabled", "Y"));
	wb_b = cg_stat(b, "zswpwb ");
	cg_reclaim(a);
	ASSERT_EQ(0, zu_param_write("shrinker_enabled", shrinker));
	memcg_stats_settle();
	charge_a[2] = cg_read_long(a, "memory.zswap.current");
	wb_b = cg_stat(b, "zswpwb ") - wb_b;
	rc = holder_finish(&h[1]);
	TH_LOG("A's zswap charge: %ld B stored, %ld B once A's slots are gone "
	       "(zswapped %ld), %ld B after A's reclaim; B's pages written back "
	       "%ld", charge_a[0], charge_a[1], zswapped_a, charge_a[2], wb_b);
	ASSERT_EQ(CHILD_OK, rc) TH_LOG("B: %zu corrupt", h[1].corrupt);
	ASSERT_EQ(0, zswapped_a);
	ASSERT_GE(charge_a[1], charge_a[0] / 2);	/* B still uses them */
	ASSERT_LE(charge_a[2], charge_a[1] / 10);	/* A reclaimed them */
	ASSERT_GT(wb_b, 0);
}

/* ========================================================================
 * 11. a replaced policy's domains never meet the new policy's
 */
#define GEN_K 256

/*
 * Domain 7 of the tenant policy holds A's pages.  After the policy is
 * replaced (a new attachment, the settings carried over), B goes into
 * group 7 and stores the same pages: they must not merge with A's, stored
 * under the previous policy.  C, then in group 7 too, merges with B: the
 * new policy's domain 7 works as before.
 */
TEST_F_TIMEOUT(policy, replaced_domains_apart, TEST_TIMEOUT)
{
	struct holder *h = holders_alloc(3);
	char cg[3][320];
	struct cnt s[3][2], d[3];
	char *ref;
	int rc[3];

	ASSERT_NE(NULL, h);
	for (int i = 0; i < 3; i++) {
		char rel[2] = { (char)('A' + i), 0 };

		mkcg(_metadata, self, rel, cg[i], sizeof(cg[i]));
		h[i] = (struct holder){ .k = GEN_K, .copies = 1 };
	}
	ref = zu_ref_alloc(GEN_K, 0x5300000);
	ASSERT_NE(NULL, ref);
	for (int i = 0; i < 3; i++)
		h[i].ref = ref;

	ASSERT_RUN(0, "attached", LOADER " load tenant");
	ASSERT_RUN(0, "group 7", LOADER " set %s group 7", cg[0]);
	cnt_read(&s[0][0]);
	holder_store(_metadata, &h[0], cg[0]);
	cnt_read(&s[0][1]);

	ASSERT_EQ(0, run(LOADER " load --replace tenant"));
	ASSERT_RUN(0, "group 7", LOADER " set %s group 7", cg[1]);
	ASSERT_RUN(0, "group 7", LOADER " set %s group 7", cg[2]);
	for (int i = 1; i < 3; i++) {
		cnt_read(&s[i][0]);
		holder_store(_metadata, &h[i], cg[i]);
		cnt_read(&s[i][1]);
	}
	for (int i = 0; i < 3; i++) {
		rc[i] = holder_finish(&h[i]);
		d[i] = cnt_delta(&s[i][0], &s[i][1]);
	}
	LOG_CNT("A (group 7, old)", d[0]);
	LOG_CNT("B (group 7, new)", d[1]);
	LOG_CNT("C (group 7, new)", d[2]);
	for (int i = 0; i < 3; i++) {
		ASSERT_EQ(CHILD_OK, rc[i]) TH_LOG("holder %c", 'A' + i);
	}
	ASSERT_GE(d[1].hashed, pct(GEN_K, 95));
	ASSERT_EQ(0, d[1].hits);
	ASSERT_GE(d[2].hits, pct(GEN_K, 95));
}

/* ========================================================================
 * 8. who may attach, and what a policy may call
 */

/*
 * run() from a child without CAP_SYS_ADMIN in its bounding and inheritable
 * sets: root's programs then get every capability but that one at execve
 * (CAP_BPF and CAP_PERFMON, which loading a struct_ops policy needs,
 * included).  Returns the command's exit status, its output in cmd_out.
 */
static int run_without_sys_admin(const char *cmd)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct caps[_LINUX_CAPABILITY_U32S_3];
	char *out = zu_map_shared(OUT_MAX);
	int status = -1;
	pid_t pid;

	if (!out)
		return -1;
	pid = fork();
	if (pid == 0) {
		if (prctl(PR_CAPBSET_DROP, CAP_SYS_ADMIN, 0, 0, 0) ||
		    syscall(SYS_capget, &hdr, caps))
			_exit(126);
		caps[CAP_TO_INDEX(CAP_SYS_ADMIN)].inheritable &=
			~CAP_TO_MASK(CAP_SYS_ADMIN);
		if (syscall(SYS_capset, &hdr, caps))
			_exit(126);
		_exit(run_cmd(&how_log, out, OUT_MAX, "%s", cmd));
	}
	if (pid > 0 && waitpid(pid, &status, 0) == pid)
		memcpy(cmd_out, out, OUT_MAX);
	munmap(out, OUT_MAX);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/*
 * A policy chooses which pages of every cgroup share memory: the kernel
 * takes one only from a task with CAP_SYS_ADMIN in the initial user
 * namespace.  bpftool run by root without it (but with CAP_BPF and
 * CAP_PERFMON, so the policy loads) gets EPERM from the registration and
 * nothing changes; with it, the same command attaches the policy.  The
 * loader needs CAP_SYS_ADMIN before it gets that far (to list links) and
 * says so.
 */
TEST_F_TIMEOUT(policy, attach_needs_cap_sys_admin, TEST_TIMEOUT)
{
	EXPECT_NE(0, run_without_sys_admin(BPFTOOL " struct_ops register "
					   BPF_DIR "/memcg.bpf.o " BPFTOOL_PIN));
	EXPECT_TRUE(has(cmd_out, "can't register struct_ops memcg_ops: "
			"Operation not permitted"));
	EXPECT_TRUE(is_policy("builtin"));
	EXPECT_NE(0, access(BPFTOOL_PIN "/memcg_ops", F_OK));

	EXPECT_EQ(1, run_without_sys_admin(LOADER " load memcg"));
	EXPECT_TRUE(has(cmd_out, "CAP_SYS_ADMIN"));
	EXPECT_TRUE(is_policy("builtin"));
	EXPECT_NE(0, access(PIN_DIR "/link", F_OK));

	/* The control: the same registration with CAP_SYS_ADMIN. */
	ASSERT_RUN(0, NULL, BPFTOOL " struct_ops register " BPF_DIR "/memcg.bpf.o "
		   BPFTOOL_PIN);
	ASSERT_TRUE(is_policy("memcg"));
	ASSERT_EQ(0, unlink(BPFTOOL_PIN "/memcg_ops"));
	ASSERT_TRUE(wait_policy("builtin", DETACH_WAIT));
}

#define KF_K 256

/*
 * Only the kfuncs a policy needs: bpf_task_from_pid(), registered for all
 * struct_ops programs, is refused with the verifier's message and nothing
 * attached; zswap's bpf_zswap_pool_pages() works: the value the policy saw
 * at its last call, after K pages were stored, is the pool's size then
 * (debugfs pool_total_size, in pages, less at most the last store's
 * growth).
 */
TEST_F_TIMEOUT(policy, kfunc_filter, TEST_TIMEOUT)
{
	struct holder *h = holders_alloc(1);
	long long pool, seen;
	char cg[320];
	char *ref;
	int rc;

	EXPECT_RUN(1, "verifier says",
		   LOADER " load " BPF_DIR "/test_unrelated_kfunc.bpf.o");
	EXPECT_TRUE(has(cmd_out,
			"calling kernel function bpf_task_from_pid is not allowed"));
	EXPECT_TRUE(is_policy("builtin"));
	EXPECT_NE(0, access(PIN_DIR, F_OK));

	mkcg(_metadata, self, "K", cg, sizeof(cg));
	ref = zu_ref_alloc(KF_K, 0x6100000);
	ASSERT_NE(NULL, ref);
	ASSERT_NE(NULL, h);
	ASSERT_RUN(0, "attached", LOADER " load " BPF_DIR "/test_pool_pages.bpf.o");
	ASSERT_TRUE(is_policy("pool_pages"));
	h[0] = (struct holder){ .ref = ref, .k = KF_K, .copies = 1 };
	holder_store(_metadata, &h[0], cg);
	pool = zu_debugfs("pool_total_size") / PAGE;
	rc = run(BPFTOOL " -p map lookup pinned " PIN_DIR "/pool_pages key 0 0 0 0");
	seen = json_num(strstr(cmd_out, "\"formatted\"") ?: cmd_out, "value");
	TH_LOG("pool: %lld pages; the policy saw %lld", pool, seen);
	EXPECT_EQ(CHILD_OK, holder_finish(&h[0]));
	ASSERT_EQ(0, rc);
	ASSERT_LT(0, seen);
	ASSERT_LE(seen, pool);
	ASSERT_GE(seen + 8, pool);
}

/*
 * A policy cannot stall reclaim with a helper that loops: bpf_loop() is
 * refused with the verifier's message and nothing is attached.
 */
TEST_F_TIMEOUT(policy, helper_filter, TEST_TIMEOUT)
{
	EXPECT_RUN(1, "verifier says",
		   LOADER " load " BPF_DIR "/test_loop_helper.bpf.o");
	EXPECT_TRUE(has(cmd_out, "cannot use helper bpf_loop"));
	EXPECT_TRUE(is_policy("builtin"));
	EXPECT_NE(0, access(PIN_DIR, F_OK));
}

/*
 * test_future_op implements released(), an op of a later kernel's struct
 * zswap_dedup_ops.  libbpf alone refuses the object; the loader drops the
 * op, names it, and attaches the rest: the policy's domain() merges a
 * second copy of K pages with the first within the cgroup.
 */
TEST_F_TIMEOUT(policy, compat_optional_op, TEST_TIMEOUT)
{
	struct holder *h = holders_alloc(1);
	struct cnt c0, c1, d;
	char cg[320];
	char *ref;

	EXPECT_NE(0, run(BPFTOOL " struct_ops register " BPF_DIR
			 "/test_future_op.bpf.o " BPFTOOL_PIN));
	EXPECT_TRUE(has(cmd_out, "Cannot find member released"));
	EXPECT_TRUE(is_policy("builtin"));

	mkcg(_metadata, self, "F", cg, sizeof(cg));
	ref = zu_ref_alloc(KF_K, 0x6200000);
	ASSERT_NE(NULL, ref);
	ASSERT_NE(NULL, h);
	ASSERT_RUN(0, "attached", LOADER " load " BPF_DIR "/test_future_op.bpf.o");
	EXPECT_TRUE(has(cmd_out, "has no op released(): policy 'future_op' is "
			"loaded without it"));
	ASSERT_TRUE(is_policy("future_op"));

	h[0] = (struct holder){ .ref = ref, .k = KF_K, .copies = 2 };
	cnt_read(&c0);
	holder_store(_metadata, &h[0], cg);
	cnt_read(&c1);
	d = cnt_delta(&c0, &c1);
	LOG_CNT("F: 2 copies", d);
	EXPECT_EQ(CHILD_OK, holder_finish(&h[0]));
	ASSERT_GE(d.hashed, pct(2 * KF_K, 95));
	ASSERT_GE(d.hits, pct(KF_K, 95));
	ASSERT_LE(d.hits, KF_K);
}

TEST_HARNESS_MAIN

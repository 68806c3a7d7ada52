// SPDX-License-Identifier: GPL-2.0
/*
 * zdedup-loader estimate in the VM (issue 20), exact to the page: the
 * loader runs as a command, as an operator runs it, on processes whose
 * pages are known.
 *
 *   estimate.counts_exact     processes in cgroups a, b and c with
 *                             unique, zero and repeated pages (within a
 *                             process, a cgroup, a group and across all):
 *                             pages, zero pages and duplicates per cgroup,
 *                             per --group a,b and per domain (built-in,
 *                             tenant, host), to the page
 *   estimate.swapped_apart    a process whose pages were paged out
 *                             (MADV_PAGEOUT): its pages are counted as
 *                             swapped and not read, and the scan faults
 *                             nothing in (the process's VmSwap and its
 *                             cgroup's zswapped unchanged); with
 *                             --include-swapped they are read and counted
 *                             to the page, and faulted back in
 *
 * The processes are tests/host/estimate_workload.c, the host test's
 * program, built static for the guest: it maps one region of unique, zero
 * and named pages, then pages it out ('p') or unmaps it ('u') when told.
 * Its other anonymous pages (stack, libc's data) are cancelled out as in
 * the host test: every figure is the difference between a scan with the
 * region mapped and one after every process unmapped it.  The expected
 * figures are computed from the table of processes, as the host test's
 * expected() does.  (A page shared after fork() is the host test's: a
 * forked child keeps the region when its parent unmaps it.)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* The harness's SIGALRM handler has an unused parameter. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#include "kselftest_harness.h"
#pragma GCC diagnostic pop
#include "cgroup_util.h"
#include "zswap_util.h"
#include "policy_util.h"
#include "run_cmd.h"

#define CG_ROOT "/sys/fs/cgroup"
#define SWAP_DEV "/dev/ram0"
#define WORKLOAD "/opt/zdedup/bin/estimate_workload"
#define TEST_TIMEOUT 120
#define LINE_TIMEOUT_MS (60 * 1000)
#define OUT_MAX (256 << 10)
#define MAX_NAMED 4
#define MAX_WORKERS 8

/* ------------------------------------------------------------------------
 * The processes: what each holds, and running them
 */
struct named {
	const char *name;
	char sep;		/* ':' COUNT pages of one content, '*' COUNT contents */
	unsigned long count;
};

struct spec {
	const char *cg;		/* a, b or c */
	unsigned long unique, zero;
	struct named named[MAX_NAMED];
};

struct worker {
	const struct spec *spec;
	pid_t pid;
	int to, from;		/* its stdin, its stdout */
};

static unsigned long spec_pages(const struct spec *s)
{
	unsigned long n = s->unique + s->zero;

	for (int i = 0; i < MAX_NAMED && s->named[i].name; i++)
		n += s->named[i].count;
	return n;
}

/* One line of the worker's output within LINE_TIMEOUT_MS; false if none. */
static bool read_line(struct worker *w, char *buf, size_t size)
{
	struct pollfd pfd = { .fd = w->from, .events = POLLIN };
	size_t len = 0;

	while (len + 1 < size) {
		if (poll(&pfd, 1, LINE_TIMEOUT_MS) != 1 || read(w->from, buf + len, 1) != 1)
			break;
		if (buf[len++] == '\n')
			break;
	}
	buf[len] = '\0';
	return len && buf[len - 1] == '\n';
}

/* Start @s's process in cgroup @cg; true once it wrote "ready". */
static bool worker_start(struct worker *w, const struct spec *s, const char *cg)
{
	char args[2 + MAX_NAMED][64], *argv[1 + 2 + MAX_NAMED + 1], line[64];
	int to[2], from[2], argc = 0;

	memset(w, 0, sizeof(*w));
	w->spec = s;
	argv[argc++] = WORKLOAD;
	snprintf(args[0], sizeof(args[0]), "%lu", s->unique);
	snprintf(args[1], sizeof(args[1]), "%lu", s->zero);
	argv[argc++] = args[0];
	argv[argc++] = args[1];
	for (int i = 0; i < MAX_NAMED && s->named[i].name; i++) {
		snprintf(args[2 + i], sizeof(args[2 + i]), "%s%c%lu", s->named[i].name,
			 s->named[i].sep, s->named[i].count);
		argv[argc++] = args[2 + i];
	}
	argv[argc] = NULL;
	if (pipe2(to, O_CLOEXEC) || pipe2(from, O_CLOEXEC))
		return false;
	fflush(stdout);
	fflush(stderr);
	w->pid = fork();
	if (w->pid == 0) {
		/* Charges follow the cgroup at fault time: enter before exec. */
		if (cg_enter_current(cg) || dup2(to[0], 0) < 0 || dup2(from[1], 1) < 0)
			_exit(CHILD_CG);
		execv(WORKLOAD, argv);
		_exit(127);
	}
	close(to[0]);
	close(from[1]);
	w->to = to[1];
	w->from = from[0];
	return w->pid > 0 && read_line(w, line, sizeof(line)) && !strcmp(line, "ready\n");
}

/* Send command @c; true if the worker answered @answer. */
static bool worker_do(struct worker *w, char c, const char *answer)
{
	char line[64];

	return write(w->to, &c, 1) == 1 && read_line(w, line, sizeof(line)) &&
	       !strcmp(line, answer);
}

/* End of its stdin would end it; a test that failed midway kills it. */
static void worker_stop(struct worker *w)
{
	if (w->pid <= 0)
		return;
	close(w->to);
	close(w->from);
	kill(w->pid, SIGKILL);
	waitpid(w->pid, NULL, 0);
	w->pid = 0;
}

/* ------------------------------------------------------------------------
 * What the estimate must say about the regions
 */
struct counts {
	long long pages, zero, dups;
};

/* Pages, zero pages and duplicates of the regions of @s[i] for which
 * @in(s[i]) holds: the host test's expected(). */
static struct counts expect(const struct spec *const *s, int n,
			    bool (*in)(const struct spec *s, const void *arg),
			    const void *arg)
{
	const char *one[MAX_WORKERS * MAX_NAMED], *set[MAX_WORKERS * MAX_NAMED];
	unsigned long set_size[MAX_WORKERS * MAX_NAMED];
	int nr_one = 0, nr_set = 0;
	long long distinct = 0;
	struct counts c = {};

	for (int i = 0; i < n; i++) {
		if (!in(s[i], arg))
			continue;
		c.pages += spec_pages(s[i]);
		c.zero += s[i]->zero;
		distinct += s[i]->unique;
		for (int k = 0; k < MAX_NAMED && s[i]->named[k].name; k++) {
			const struct named *nm = &s[i]->named[k];
			int j;

			if (nm->sep == ':') {
				for (j = 0; j < nr_one && strcmp(one[j], nm->name); j++)
					;
				if (j == nr_one)
					one[nr_one++] = nm->name;
				continue;
			}
			/* a data set: contents 0..count-1 of its name */
			for (j = 0; j < nr_set && strcmp(set[j], nm->name); j++)
				;
			if (j == nr_set) {
				set[nr_set] = nm->name;
				set_size[nr_set++] = 0;
			}
			if (nm->count > set_size[j])
				set_size[j] = nm->count;
		}
	}
	distinct += nr_one;
	for (int j = 0; j < nr_set; j++)
		distinct += set_size[j];
	c.dups = c.pages - c.zero - distinct;
	return c;
}

static bool in_cgroup(const struct spec *s, const void *cg)
{
	return !strcmp(s->cg, cg);
}

/* @arg: a string of cgroup names, e.g. "ab" */
static bool in_cgroups(const struct spec *s, const void *names)
{
	return strchr(names, s->cg[0]) != NULL;
}

/* ------------------------------------------------------------------------
 * Running the estimate; numbers out of its JSON document
 */
static char out_with[OUT_MAX], out_without[OUT_MAX];

/*
 * Run `zdedup-loader estimate --json --no-progress @args`, its output
 * (stdout and stderr) into @out; returns its exit status, -1 if it did not
 * exit normally.  The output is a JSON document: only its first lines are
 * shown.
 */
static int estimate(char *out, size_t size, const char *args)
{
	static const struct run_how how = { .max_lines = 8 };

	return run_cmd(&how, out, size, LOADER " estimate --json --no-progress %s", args);
}

/* The number after "@key": in [@p, @end); LLONG_MIN if absent. */
static long long num_in(const char *p, const char *end, const char *key)
{
	char pat[80];
	const char *q;

	if (!p)
		return LLONG_MIN;
	snprintf(pat, sizeof(pat), "\"%s\": ", key);
	q = strstr(p, pat);
	if (!q || (end && q >= end))
		return LLONG_MIN;
	q += strlen(pat);
	if (!strncmp(q, "true", 4))
		return 1;
	if (!strncmp(q, "false", 5))
		return 0;
	return strtoll(q, NULL, 10);
}

/* Where the figures of a cgroup, a group or a domain are in @doc, in
 * [*start, *end): each is an object without nested objects. */
struct where {
	const char *start, *end;
};

static struct where at(const char *doc, const char *after, const char *mark)
{
	struct where w = {};
	const char *p = after ? strstr(doc, after) : doc;

	if (p)
		p = strstr(p, mark);
	if (p) {
		w.start = p;
		w.end = strchr(p, '}');
	}
	return w;
}

static struct where at_cgroup(const char *doc, const char *rel)
{
	char mark[PATH_MAX + 16];

	snprintf(mark, sizeof(mark), "\"cgroup\": \"%s\"", rel);
	return at(doc, "\"cgroups\"", mark);
}

static struct where at_domain(const char *doc, const char *name)
{
	char mark[64];

	snprintf(mark, sizeof(mark), "\"%s\": {", name);
	return at(doc, "\"domains\"", mark);
}

static struct where at_group(const char *doc, int group)
{
	char mark[64];

	snprintf(mark, sizeof(mark), "\"group\": %d,", group);
	return at(doc, "\"groups\": [", mark);
}

/* @key of @w in the scan with the regions less in the scan without. */
static long long delta(struct where with, struct where without, const char *key)
{
	long long a = num_in(with.start, with.end, key);
	long long b = num_in(without.start, without.end, key);

	return a == LLONG_MIN || b == LLONG_MIN ? LLONG_MIN : a - b;
}

#define EXPECT_COUNTS(want, with, without, what) do {				\
	struct counts __w = (want);						\
	struct where __a = (with), __b = (without);				\
	long long __p = delta(__a, __b, "pages");				\
	long long __z = delta(__a, __b, "zero_pages");				\
	long long __d = delta(__a, __b, "duplicate_pages");			\
	EXPECT_TRUE(__p == __w.pages && __z == __w.zero && __d == __w.dups)	\
		TH_LOG("%s: pages %lld, zero %lld, duplicates %lld; want "	\
		       "%lld, %lld, %lld", what, __p, __z, __d, __w.pages,	\
		       __w.zero, __w.dups);					\
} while (0)

/* ------------------------------------------------------------------------
 * The process's swap, and its cgroup's zswap
 */

/* VmSwap of @pid in kB (swap entries in its page tables); -1. */
static long long vm_swap_kb(pid_t pid)
{
	char path[64], line[256];
	long long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmSwap: %lld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* memory.stat's zswapped of @cg, once the periodic flush (2 s) has run. */
static long long zswapped(const char *cg)
{
	char path[PATH_MAX];

	usleep(2500 * 1000);
	snprintf(path, sizeof(path), "%s/memory.stat", cg);
	return zu_read_key(path, "zswapped");
}

/* ========================================================================
 * fixture: /sys/fs/cgroup/zdedup_estimate_<test>/{a,b,c}; the test
 * process stays outside them (the scans name a, b and c)
 */
FIXTURE(estimate) {
	char top[300], rel[256];
	char cg[3][320];
	struct worker w[MAX_WORKERS];
	int nr;
};

FIXTURE_SETUP(estimate)
{
	if (access(LOADER, X_OK))
		SKIP(return, "no " LOADER);
	if (access(WORKLOAD, X_OK))
		SKIP(return, "no " WORKLOAD " (make guest builds it)");
	if (!zu_swap_active(SWAP_DEV))
		system("swapon " SWAP_DEV);
	ASSERT_EQ(0, zu_param_write("enabled", "Y"));
	snprintf(self->rel, sizeof(self->rel), "/zdedup_estimate_%s", _metadata->name);
	snprintf(self->top, sizeof(self->top), CG_ROOT "%s", self->rel);
	cg_destroy_tree(self->top);
	ASSERT_EQ(0, cg_create(self->top));
	ASSERT_EQ(0, cg_write(self->top, "cgroup.subtree_control", "+memory"));
	for (int i = 0; i < 3; i++) {
		snprintf(self->cg[i], sizeof(self->cg[i]), "%s/%c", self->top, 'a' + i);
		ASSERT_EQ(0, cg_create(self->cg[i]));
	}
}

FIXTURE_TEARDOWN(estimate)
{
	for (int i = 0; i < self->nr; i++)
		worker_stop(&self->w[i]);
	if (self->top[0])
		cg_destroy_tree(self->top);
}

static bool start_all(FIXTURE_DATA(estimate) *self, const struct spec *const *s, int n)
{
	for (int i = 0; i < n; i++) {
		if (!worker_start(&self->w[i], s[i], self->cg[s[i]->cg[0] - 'a']))
			return false;
		self->nr = i + 1;
	}
	return true;
}

/* ========================================================================
 * tests
 */
static const struct spec ca0 = { "a", 64, 16,
	{ { "img", '*', 96 }, { "x", ':', 32 } } };
static const struct spec ca1 = { "a", 32, 0,
	{ { "img", '*', 96 }, { "y", ':', 16 } } };
static const struct spec cb0 = { "b", 16, 8,
	{ { "img", '*', 64 }, { "y", ':', 8 }, { "x", ':', 4 } } };
static const struct spec cc0 = { "c", 8, 4,
	{ { "img", '*', 32 }, { "z", ':', 16 } } };

TEST_F_TIMEOUT(estimate, counts_exact, TEST_TIMEOUT)
{
	static const struct spec *const s[] = { &ca0, &ca1, &cb0, &cc0 };
	const int n = ARRAY_SIZE(s);
	struct counts memcg = {}, host, group;
	char args[2048], rel[3][300];
	const char *dom[] = { "memcg", "tenant", "host" };
	struct counts want[3];

	ASSERT_TRUE(start_all(self, s, n));
	for (int i = 0; i < 3; i++)
		snprintf(rel[i], sizeof(rel[i]), "%s/%c", self->rel, 'a' + i);
	snprintf(args, sizeof(args), "%s %s %s --group %s,%s", self->cg[0], self->cg[1],
		 self->cg[2], self->cg[0], self->cg[1]);
	ASSERT_EQ(0, estimate(out_with, sizeof(out_with), args))
		TH_LOG("%s", out_with);
	for (int i = 0; i < n; i++)
		ASSERT_TRUE(worker_do(&self->w[i], 'u', "unmapped\n"));
	ASSERT_EQ(0, estimate(out_without, sizeof(out_without), args))
		TH_LOG("%s", out_without);
	EXPECT_EQ(0, num_in(out_with, NULL, "partial"));
	EXPECT_EQ(0, num_in(out_with, NULL, "sampled"));
	EXPECT_EQ(1, num_in(out_with, NULL, "pfn_matched"));

	/* per cgroup: the built-in policy's domains */
	for (int i = 0; i < 3; i++) {
		const char name[2] = { (char)('a' + i), '\0' };
		struct counts c = expect(s, n, in_cgroup, name);
		struct where w1 = at_cgroup(out_with, rel[i]), w0 = at_cgroup(out_without, rel[i]);

		EXPECT_COUNTS(c, w1, w0, rel[i]);
		EXPECT_EQ(0, delta(w1, w0, "swapped_pages"));
		memcg.dups += c.dups;
	}
	/* the tenant group a+b, one domain */
	group = expect(s, n, in_cgroups, "ab");
	EXPECT_COUNTS(group, at_group(out_with, 1), at_group(out_without, 1), "group a+b");

	/* domains: duplicates within each cgroup, within a+b and c, host-wide */
	host = expect(s, n, in_cgroups, "abc");
	memcg.pages = host.pages;
	memcg.zero = host.zero;
	want[0] = memcg;
	want[1] = host;
	want[1].dups = group.dups + expect(s, n, in_cgroup, "c").dups;
	want[2] = host;
	for (int i = 0; i < 3; i++)
		EXPECT_COUNTS(want[i], at_domain(out_with, dom[i]),
			      at_domain(out_without, dom[i]), dom[i]);
	TH_LOG("duplicates: %lld per cgroup, %lld with a+b grouped, %lld host-wide, "
	       "of %lld non-zero pages", want[0].dups, want[1].dups, want[2].dups,
	       host.pages - host.zero);
}

static const struct spec sw0 = { "a", 96, 32,
	{ { "x", ':', 48 }, { "set", '*', 24 }, { "set", '*', 24 } } };

TEST_F_TIMEOUT(estimate, swapped_apart, TEST_TIMEOUT)
{
	static const struct spec *const s[] = { &sw0 };
	struct counts region = expect(s, 1, in_cgroup, "a"), none = {};
	long long swap0, swap1, swap2, swap3, zsw1, zsw2, zswpin1, zswpin2;
	struct worker *w = &self->w[0];
	char args[1024], rel[300];
	long long npages = spec_pages(&sw0);
	static char out_read[OUT_MAX];

	ASSERT_TRUE(start_all(self, s, 1));
	snprintf(rel, sizeof(rel), "%s/a", self->rel);
	swap0 = vm_swap_kb(w->pid);
	ASSERT_TRUE(worker_do(w, 'p', "paged\n"));
	swap1 = vm_swap_kb(w->pid);
	ASSERT_EQ(npages * 4, swap1 - swap0)
		TH_LOG("MADV_PAGEOUT left pages of the region in memory");
	zsw1 = zswapped(self->cg[0]);
	ASSERT_LT(0, zsw1);

	/* without --include-swapped: counted as swapped, not read, not faulted in */
	zswpin1 = zu_vmstat("zswpin");
	snprintf(args, sizeof(args), "%s", self->cg[0]);
	ASSERT_EQ(0, estimate(out_with, sizeof(out_with), args))
		TH_LOG("%s", out_with);
	zswpin2 = zu_vmstat("zswpin");
	swap2 = vm_swap_kb(w->pid);
	zsw2 = zswapped(self->cg[0]);
	EXPECT_EQ(swap1, swap2)
		TH_LOG("the scan faulted %lld kB back in", swap1 - swap2);
	EXPECT_EQ(zsw1, zsw2);
	EXPECT_EQ(zswpin1, zswpin2);
	EXPECT_EQ(0, num_in(out_with, NULL, "swapped_read"));

	/* with it: read, counted to the page, and so faulted back in */
	snprintf(args, sizeof(args), "--include-swapped %s", self->cg[0]);
	ASSERT_EQ(0, estimate(out_read, sizeof(out_read), args))
		TH_LOG("%s", out_read);
	swap3 = vm_swap_kb(w->pid);
	EXPECT_EQ(swap0, swap3)
		TH_LOG("--include-swapped left %lld kB in swap", swap3 - swap0);
	EXPECT_EQ(1, num_in(out_read, NULL, "swapped_read"));

	ASSERT_TRUE(worker_do(w, 'u', "unmapped\n"));
	ASSERT_EQ(0, estimate(out_without, sizeof(out_without), args))
		TH_LOG("%s", out_without);

	EXPECT_COUNTS(none, at_cgroup(out_with, rel), at_cgroup(out_without, rel),
		      "paged out, not read");
	EXPECT_EQ(npages, delta(at_cgroup(out_with, rel), at_cgroup(out_without, rel),
				"swapped_pages"));
	EXPECT_COUNTS(region, at_cgroup(out_read, rel), at_cgroup(out_without, rel),
		      "paged out, read with --include-swapped");
	EXPECT_EQ(npages, delta(at_cgroup(out_read, rel), at_cgroup(out_without, rel),
				"swapped_pages"));
	TH_LOG("%lld pages paged out (%lld kB of VmSwap, %lld bytes zswapped): "
	       "%lld zero, %lld duplicates when read", npages, swap1 - swap0, zsw1,
	       region.zero, region.dups);
}

TEST_HARNESS_MAIN

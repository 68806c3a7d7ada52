// SPDX-License-Identifier: GPL-2.0
/*
 * zdedup_demo: the multi-tenant story of `make demo`, one configuration
 * per run (tests/vm/scenarios/demo.sh runs it once per configuration and
 * sets the configuration up before each run).
 *
 * A host runs three tenants, memory cgroups A, B and C under the cgroup
 * root (-g, default /sys/fs/cgroup/demo), each with replicas (-n, default
 * 3) of one service.  Every replica loads the reference data of its image
 * into anonymous memory (-r pages: identical in every replica of a tenant,
 * and in A and B, which run the same image; C runs another image) and
 * builds state of its own (-u pages, unique to the replica).  Then:
 *
 *   fill      the replicas fill their memory, all at once
 *   estimate  `zdedup-loader estimate --json` on A, B and C with --group
 *             A,B (-E, default /opt/zdedup/bin/zdedup-loader; -E '' skips
 *             it): what it predicts dedup merges, per cgroup and with A
 *             and B in one domain, before anything is in zswap
 *   swap-out  memory pressure: memory.reclaim on the cgroup root, in
 *             steps, until the replicas' memory is in zswap
 *   swap-in   every replica reads all its memory back, all at once
 *   verify    every replica compares every page with what it wrote
 *
 * and swap-out, swap-in and verify again for -R rounds (default 1): the
 * zswap figures are the first round's, the times the best round's, as the
 * guest's clock is wall time in an emulator that other work on the host
 * slows down.
 *
 * Page contents come from zu_fill_page() (text-like, compress 2-4x, every
 * seed distinct), generated once per boot into a tmpfs file (-D) that is
 * charged to the caller's cgroup, not to the tenants', so reclaim leaves
 * it alone; replicas copy from it and verify against it.
 *
 * What the run measured goes to one "DEMO {json}" line: zswap's debugfs
 * counters and /proc/vmstat as deltas over the swap-out, the tenants'
 * memory.stat (their anon charge before the swap-out too), the swap-out and swap-in wall times, pages verified and
 * corrupted, and the ideal for the configuration's dedup domains (-d):
 * the number of distinct pages when each distinct page is stored once per
 * domain, known from how the workload was built.  "none" means no dedup
 * (every page stored), "A,B,C" one domain per tenant, "A+B,C" A and B
 * share a domain.  The line also carries the estimate's JSON document
 * ("estimate", or why there is none: "estimate_error"), for the report to
 * set its prediction beside what zswap then merged (zswpout_dedup /
 * zswpout).  scripts/demo-report.py turns the lines into the table.
 *
 * usage: zdedup_demo -c NAME [-l LABEL] [-d DOMAINS] [-s STEP] [-R ROUNDS]
 *                    [-n N] [-r PAGES] [-u PAGES] [-g CGROOT] [-D FILE]
 *                    [-E LOADER]
 * Exit status: 0, 1 if a page failed verification, 2 on any other error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "zswap_util.h"

#define PAGE ZU_PAGE_SIZE
#define MAX_REPLICAS 16
#define NTENANTS 3
#define RECLAIM_STEPS 8
#define STEP_TIMEOUT_MS (600 * 1000)
#define MAX_ROUNDS 10
#define ESTIMATE_OUT_MAX (1 << 20)

/* The tenants: A and B run the same image (reference set 0), C another. */
static const struct tenant {
	const char *name;
	int refset;
} tenants[NTENANTS] = {
	{ "A", 0 },
	{ "B", 0 },
	{ "C", 1 },
};
#define NREFSETS 2

/* Content seeds: every page of the workload has its own, except copies. */
#define SEED_REF(set, i)	(0xde00000000ULL + ((uint64_t)(set) << 24) + (i))
#define SEED_OWN(rep, i)	(0xd100000000ULL + ((uint64_t)(rep) << 24) + (i))

struct opts {
	const char *config, *label, *domains, *step, *cgroot, *datafile, *loader;
	int replicas, rounds;
	size_t ref_pages, own_pages;
};

/*
 * What each replica reports back, in shared memory: resident is the most
 * pages it found still in memory after a swap-out (mincore()).
 */
struct replica_result {
	long long pages, resident, verified, corrupt;
	int error;
};

struct replica {
	int tenant, index;
	pid_t pid;
	int go_fd, ack_fd;	/* parent's ends */
};

struct demo {
	struct opts o;
	size_t pages_per_replica, nreplicas, total_pages;
	char *data;		/* reference sets, then every replica's own pages */
	size_t data_pages;
	struct replica rep[NTENANTS * MAX_REPLICAS];
	struct replica_result *res;
	char *estimate;		/* the estimate's JSON document, on one line */
	char estimate_error[512];	/* or why there is none ("" if skipped) */
};

/* zswap, vmstat and per-tenant counters at one moment. */
struct tenant_snap {
	long long zswpout, zswpin, zswpout_dedup, zswapped, zswap_current, anon;
};

struct snap {
	long long stored_pages, stored_objects, pool, hits, collisions, hashed,
		  index_entries, shared_slots, saved, meta;
	long long zswpout, zswpin, zswpout_dedup;
	long long root_zswapped, root_anon;
	struct tenant_snap t[NTENANTS];
};

static void progress(const struct demo *d, const char *fmt, ...)
{
	va_list ap;

	printf("demo: [%s %s] ", d->o.step, d->o.config);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "zdedup_demo: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

/* --- cgroup files ---------------------------------------------------------- */

static char *cg_path(const struct demo *d, const char *tenant, const char *file)
{
	static char buf[4][512];
	static int next;
	char *p = buf[next++ & 3];

	if (tenant)
		snprintf(p, 512, "%s/%s/%s", d->o.cgroot, tenant, file);
	else
		snprintf(p, 512, "%s/%s", d->o.cgroot, file);
	return p;
}

/* Write @s to @path; 0 or -errno. */
static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY);
	ssize_t n;
	int err;

	if (fd < 0)
		return -errno;
	n = write(fd, s, strlen(s));
	err = n < 0 ? -errno : 0;
	close(fd);
	return err;
}

static void take_snap(const struct demo *d, struct snap *s)
{
	s->stored_pages = zu_debugfs("stored_pages");
	s->stored_objects = zu_debugfs("stored_objects");
	s->pool = zu_debugfs("pool_total_size");
	s->hits = zu_debugfs("dedup_hits");
	s->collisions = zu_debugfs("dedup_collisions");
	s->hashed = zu_debugfs("dedup_hashed");
	s->index_entries = zu_debugfs("dedup_index_entries");
	s->shared_slots = zu_debugfs("dedup_shared_slots");
	s->saved = zu_debugfs("dedup_saved_bytes");
	s->meta = zu_debugfs("dedup_meta_bytes");
	s->zswpout = zu_vmstat("zswpout");
	s->zswpin = zu_vmstat("zswpin");
	s->zswpout_dedup = zu_vmstat("zswpout_dedup");
	s->root_zswapped = zu_read_key(cg_path(d, NULL, "memory.stat"), "zswapped");
	s->root_anon = zu_read_key(cg_path(d, NULL, "memory.stat"), "anon");
	for (int t = 0; t < NTENANTS; t++) {
		const char *stat = cg_path(d, tenants[t].name, "memory.stat");
		struct tenant_snap *ts = &s->t[t];

		ts->zswpout = zu_read_key(stat, "zswpout");
		ts->zswpin = zu_read_key(stat, "zswpin");
		ts->zswpout_dedup = zu_read_key(stat, "zswpout_dedup");
		ts->zswapped = zu_read_key(stat, "zswapped");
		ts->anon = zu_read_key(stat, "anon");
		ts->zswap_current = zu_read_ll(cg_path(d, tenants[t].name,
						     "memory.zswap.current"));
	}
}

/* --- workload content --------------------------------------------------------- */

static uint64_t seed_of_page(size_t p, void *arg)
{
	const struct demo *d = arg;
	size_t refs = NREFSETS * d->o.ref_pages;

	if (p < refs)
		return SEED_REF(p / d->o.ref_pages, p % d->o.ref_pages);
	p -= refs;
	return SEED_OWN(p / d->o.own_pages, p % d->o.own_pages);
}

/* Page @i of replica @r's memory, in the data file. */
static const char *expected_page(const struct demo *d, size_t r, size_t i)
{
	size_t p;

	if (i < d->o.ref_pages)
		p = tenants[d->rep[r].tenant].refset * d->o.ref_pages + i;
	else
		p = NREFSETS * d->o.ref_pages + r * d->o.own_pages +
		    (i - d->o.ref_pages);
	return d->data + p * PAGE;
}

/*
 * The workload's content in a tmpfs file, generated on the first run of
 * the boot (zu_fill_page() is slow under TCG) and reused by the others.
 * The header page records the shape, so a different shape regenerates.
 */
static void load_data(struct demo *d)
{
	char header[PAGE], want[PAGE];
	size_t len = (d->data_pages + 1) * PAGE;
	struct stat st;
	bool fresh;
	char *map;
	int fd;

	memset(want, 0, sizeof(want));
	snprintf(want, sizeof(want), "zdedup_demo data v1 refsets=%d ref=%zu "
		 "own=%zu replicas=%zu\n", NREFSETS, d->o.ref_pages,
		 d->o.own_pages, d->nreplicas);
	fd = open(d->o.datafile, O_RDWR | O_CREAT, 0600);
	if (fd < 0)
		die("%s: %s", d->o.datafile, strerror(errno));
	fresh = fstat(fd, &st) || (size_t)st.st_size != len ||
		pread(fd, header, PAGE, 0) != (ssize_t)PAGE ||
		memcmp(header, want, PAGE);
	if (fresh && (ftruncate(fd, 0) || ftruncate(fd, len)))
		die("%s: %s", d->o.datafile, strerror(errno));
	map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	if (map == MAP_FAILED)
		die("mmap %s: %s", d->o.datafile, strerror(errno));
	d->data = map + PAGE;
	if (!fresh) {
		progress(d, "workload content: %zu distinct pages, reused from %s",
			 d->data_pages, d->o.datafile);
		return;
	}

	double t0 = zu_now(), next = t0 + 5;

	for (size_t p = 0; p < d->data_pages; p++) {
		zu_fill_page(d->data + p * PAGE, seed_of_page(p, d));
		if (zu_now() > next) {
			progress(d, "generating workload content: %zu/%zu pages",
				 p + 1, d->data_pages);
			next += 5;
		}
	}
	memcpy(map, want, PAGE);	/* header last: the file is complete */
	progress(d, "generated workload content: %zu distinct pages in %.1f s",
		 d->data_pages, zu_now() - t0);
}

/* --- replicas ---------------------------------------------------------------- */

/* Wait for the parent's go (0), or the parent gone (-1). */
static int child_wait(int fd)
{
	char c;

	return read(fd, &c, 1) == 1 ? 0 : -1;
}

static void child_ack(int fd)
{
	char c = 0;

	if (write(fd, &c, 1) != 1)
		_exit(3);
}

/*
 * One replica: enter the tenant's cgroup, then, each step on the parent's
 * go: fill, and each round read back (fault in) and verify its memory.
 */
static void replica_main(struct demo *d, size_t r, int go, int ack)
{
	struct replica_result *res = &d->res[r];
	const struct tenant *t = &tenants[d->rep[r].tenant];
	size_t n = d->pages_per_replica;
	unsigned char *vec;
	char *buf;
	char pid[32];

	/* Charges follow the cgroup at fault time: enter before touching. */
	snprintf(pid, sizeof(pid), "%d", getpid());
	if (write_str(cg_path(d, t->name, "cgroup.procs"), pid)) {
		res->error = 1;
		_exit(2);
	}
	buf = zu_map(n);
	vec = malloc(n);
	if (!buf || !vec) {
		res->error = 2;
		_exit(2);
	}
	res->pages = n;
	child_ack(ack);

	/* fill: the image's reference data, then state of its own */
	if (child_wait(go))
		_exit(3);
	for (size_t i = 0; i < n; i++)
		memcpy(buf + i * PAGE, expected_page(d, r, i), PAGE);
	child_ack(ack);

	for (int round = 0; round < d->o.rounds; round++) {
		long long resident = 0;

		/* swap-in: what is still resident, then fault everything in */
		if (child_wait(go))
			_exit(3);
		if (mincore(buf, n * PAGE, vec) == 0) {
			for (size_t i = 0; i < n; i++)
				resident += vec[i] & 1;
		} else {
			resident = n;
		}
		if (resident > res->resident)
			res->resident = resident;
		zu_touch(buf, n);
		child_ack(ack);

		/* verify: every page byte for byte */
		if (child_wait(go))
			_exit(3);
		for (size_t i = 0; i < n; i++) {
			if (memcmp(buf + i * PAGE, expected_page(d, r, i), PAGE))
				res->corrupt++;
			res->verified++;
		}
		child_ack(ack);
	}
	_exit(res->corrupt ? 1 : 0);
}

static void start_replicas(struct demo *d)
{
	for (size_t r = 0; r < d->nreplicas; r++) {
		int go[2], ack[2];
		pid_t pid;

		d->rep[r].tenant = r / d->o.replicas;
		d->rep[r].index = r % d->o.replicas;
		if (pipe2(go, O_CLOEXEC) || pipe2(ack, O_CLOEXEC))
			die("pipe: %s", strerror(errno));
		fflush(stdout);
		pid = fork();
		if (pid < 0)
			die("fork: %s", strerror(errno));
		if (pid == 0) {
			/* Only our own pipe ends: a dead sibling must read as EOF. */
			for (size_t o = 0; o < r; o++) {
				close(d->rep[o].go_fd);
				close(d->rep[o].ack_fd);
			}
			close(go[1]);
			close(ack[0]);
			replica_main(d, r, go[0], ack[1]);
		}
		close(go[0]);
		close(ack[1]);
		d->rep[r].pid = pid;
		d->rep[r].go_fd = go[1];
		d->rep[r].ack_fd = ack[0];
	}
}

/*
 * Start one step in every replica (unless @go is false: wait for a step
 * they start on their own) and wait until all have finished it, calling
 * @tick every 2 s while waiting.  Returns the wall time, or dies if a
 * replica died.
 */
static double run_step(struct demo *d, const char *what, bool go,
		       void (*tick)(struct demo *d, double t0))
{
	struct pollfd pfd[NTENANTS * MAX_REPLICAS];
	size_t left = d->nreplicas;
	double t0 = zu_now(), deadline = t0 + STEP_TIMEOUT_MS / 1000.0;
	char c = 0;

	for (size_t r = 0; r < d->nreplicas; r++) {
		pfd[r].fd = d->rep[r].ack_fd;
		pfd[r].events = POLLIN;
		if (go && write(d->rep[r].go_fd, &c, 1) != 1)
			die("%s: replica %zu gone", what, r);
	}
	while (left) {
		int n = poll(pfd, d->nreplicas, 2000);

		if (n < 0 && errno != EINTR)
			die("poll: %s", strerror(errno));
		if (zu_now() > deadline)
			die("%s: replicas did not finish within %d s", what,
			    STEP_TIMEOUT_MS / 1000);
		if (n <= 0) {
			if (tick)
				tick(d, t0);
			continue;
		}
		for (size_t r = 0; r < d->nreplicas; r++) {
			if (!pfd[r].revents)
				continue;
			if (read(pfd[r].fd, &c, 1) != 1)
				die("%s: replica %s%d died (error %d)", what,
				    tenants[d->rep[r].tenant].name,
				    d->rep[r].index, d->res[r].error);
			pfd[r].fd = -1;	/* done with this step */
			left--;
		}
	}
	return zu_now() - t0;
}

static long long swapin_base;

static const char *round_str(const struct demo *d, int round)
{
	static char buf[32];

	if (d->o.rounds == 1)
		return "";
	snprintf(buf, sizeof(buf), " (round %d/%d)", round + 1, d->o.rounds);
	return buf;
}

static int cur_round;

static void swapin_tick(struct demo *d, double t0)
{
	long long in = zu_vmstat("zswpin") - swapin_base;

	progress(d, "swap-in%s: %lld/%zu pages read back from zswap (%.0f s)",
		 round_str(d, cur_round), in, d->total_pages, zu_now() - t0);
}

/* --- estimate ----------------------------------------------------------------- */

/* @s as a JSON string's content: quotes, backslashes and controls dropped. */
static void json_safe(char *s)
{
	for (; *s; s++)
		if (*s == '"' || *s == '\\' || (unsigned char)*s < 0x20)
			*s = ' ';
}

/*
 * The loader's document on one line: drop each newline and the indent
 * after it (a JSON string holds no raw newline, so no string changes).
 */
static void one_line(char *s)
{
	char *out = s;

	for (char *in = s; *in; in++) {
		if (*in == '\n') {
			while (in[1] == ' ')
				in++;
			continue;
		}
		*out++ = *in;
	}
	*out = '\0';
}

/* The number after "@key": following @after in @doc; -1 if absent. */
static double doc_num(const char *doc, const char *after, const char *key)
{
	char pat[64];
	const char *p = strstr(doc, after);

	snprintf(pat, sizeof(pat), "\"%s\": ", key);
	p = p ? strstr(p, pat) : NULL;
	return p ? strtod(p + strlen(pat), NULL) : -1;
}

/*
 * What `zdedup-loader estimate` predicts for the tenants, as an operator
 * would run it before installing: every process of A, B and C (the
 * replicas), A and B as one tenant group as the tenant policy has them.
 * Run after the fill and before the pressure: every page is in memory.
 * Its JSON document goes into d->estimate, or why not into
 * d->estimate_error.
 */
static void run_estimate(struct demo *d)
{
	char a[512], b[512], c[512], group[1100];
	char *argv[] = { (char *)d->o.loader, "estimate", "--json", "--no-progress",
			 a, b, c, "--group", group, NULL };
	size_t len = 0, cap = ESTIMATE_OUT_MAX;
	char *out = malloc(cap);
	int fds[2], status = -1;
	double t0 = zu_now();
	ssize_t n;
	pid_t pid;

	if (!d->o.loader[0])
		return;				/* -E '': not asked for */
	if (access(d->o.loader, X_OK)) {
		snprintf(d->estimate_error, sizeof(d->estimate_error),
			 "no zdedup-loader at %s", d->o.loader);
		return;
	}
	snprintf(a, sizeof(a), "%s/A", d->o.cgroot);
	snprintf(b, sizeof(b), "%s/B", d->o.cgroot);
	snprintf(c, sizeof(c), "%s/C", d->o.cgroot);
	snprintf(group, sizeof(group), "%s,%s", a, b);
	if (!out || pipe2(fds, O_CLOEXEC))
		die("estimate: %s", strerror(errno));
	progress(d, "estimate: $ zdedup-loader estimate --json %s %s %s --group %s",
		 a, b, c, group);
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		dup2(fds[1], 1);
		execv(d->o.loader, argv);
		_exit(127);
	}
	close(fds[1]);
	while ((n = read(fds[0], out + len, cap - 1 - len)) > 0)
		len += n;
	out[len] = '\0';
	close(fds[0]);
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0 || out[0] != '{') {
		one_line(out);
		json_safe(out);
		snprintf(d->estimate_error, sizeof(d->estimate_error),
			 "zdedup-loader estimate exited with status %d: %.300s",
			 WIFEXITED(status) ? WEXITSTATUS(status) : -1, out);
		free(out);
		progress(d, "estimate FAILED: %s", d->estimate_error);
		return;
	}
	one_line(out);
	d->estimate = out;
	progress(d, "estimate: %.0f pages read in %.1f s; it predicts %.1f%% of the "
		 "pages stored merged per cgroup (built-in policy), %.1f%% with A and B "
		 "in one domain (tenant policy)", doc_num(out, "\"domains\"", "pages"),
		 zu_now() - t0, doc_num(out, "\"memcg\"", "duplicate_percent"),
		 doc_num(out, "\"tenant\"", "duplicate_percent"));
}

/* --- swap-out ----------------------------------------------------------------- */

/*
 * Memory pressure on the tenants: memory.reclaim on their common parent,
 * in RECLAIM_STEPS steps of their anonymous memory, then until nothing
 * more comes out.  Returns the wall time spent in memory.reclaim.
 */
static double swap_out(struct demo *d, long long stored0)
{
	const char *reclaim = cg_path(d, NULL, "memory.reclaim");
	const char *stat = cg_path(d, NULL, "memory.stat");
	long long anon = zu_read_key(stat, "anon");
	long long step = (anon / RECLAIM_STEPS + PAGE - 1) / PAGE * PAGE;
	double spent = 0, shown = 0;
	long long now;
	int idle = 0;

	if (anon < 0)
		die("%s: no anon counter", stat);
	for (int i = 0; idle < 3 && i < 4 * RECLAIM_STEPS; i++) {
		long long left = zu_read_key(stat, "anon");
		char amount[32];
		double t0;
		int err;

		if (left < (long long)PAGE)
			break;
		snprintf(amount, sizeof(amount), "%lld",
			 left < step ? left : step);
		t0 = zu_now();
		err = write_str(reclaim, amount);
		spent += zu_now() - t0;
		if (err && err != -EAGAIN)
			die("%s: %s", reclaim, strerror(-err));
		/* EAGAIN: reclaim got less than asked; the loop judges progress */
		now = zu_read_key(stat, "anon");
		idle = now >= left ? idle + 1 : 0;
		if (spent - shown < 2 && now >= (long long)PAGE && idle < 3)
			continue;
		shown = spent;
		progress(d, "swap-out%s: %lld/%zu pages in zswap, %lld KiB still "
			 "resident (%.1f s)", round_str(d, cur_round),
			 zu_debugfs("stored_pages") - stored0,
			 d->total_pages, now / 1024, spent);
	}
	return spent;
}

/* --- ideal ---------------------------------------------------------------- */

/*
 * Distinct pages when each distinct page is stored once per dedup domain.
 * @spec: "none", or domains separated by ',', tenants in one by '+'.
 * A tenant in no domain is not deduplicated.
 */
static long long ideal_pages(const struct demo *d, const char *spec)
{
	long long per_tenant_pages = (long long)d->o.replicas * d->pages_per_replica;
	long long own = (long long)d->o.replicas * d->o.own_pages;
	bool covered[NTENANTS] = { false };
	long long ideal = 0;
	char *copy, *dom, *save;

	if (!strcmp(spec, "none"))
		return NTENANTS * per_tenant_pages;
	copy = strdup(spec);
	for (dom = strtok_r(copy, ",", &save); dom; dom = strtok_r(NULL, ",", &save)) {
		bool refset[NREFSETS] = { false };
		char *name, *save2;

		for (name = strtok_r(dom, "+", &save2); name;
		     name = strtok_r(NULL, "+", &save2)) {
			int t;

			for (t = 0; t < NTENANTS; t++)
				if (!strcmp(name, tenants[t].name))
					break;
			if (t == NTENANTS || covered[t])
				die("-d %s: unknown or repeated tenant '%s'", spec, name);
			covered[t] = true;
			refset[tenants[t].refset] = true;
			ideal += own;
		}
		for (int s = 0; s < NREFSETS; s++)
			ideal += refset[s] ? (long long)d->o.ref_pages : 0;
	}
	for (int t = 0; t < NTENANTS; t++)
		if (!covered[t])
			ideal += per_tenant_pages;
	free(copy);
	return ideal;
}

/* --- report ----------------------------------------------------------------- */

/* One round's measurements. */
struct round {
	double swapout_s, swapin_s, verify_s;
	long long pool, stored, objects, hits, hashed;
};

static void print_doubles(const char *key, const struct round *rd, int n,
			  size_t off)
{
	printf("\"%s\":[", key);
	for (int i = 0; i < n; i++)
		printf("%s%.3f", i ? "," : "",
		       *(const double *)((const char *)&rd[i] + off));
	printf("],");
}

static void print_lls(const char *key, const struct round *rd, int n,
		      size_t off)
{
	printf("\"%s\":[", key);
	for (int i = 0; i < n; i++)
		printf("%s%lld", i ? "," : "",
		       *(const long long *)((const char *)&rd[i] + off));
	printf("],");
}

/*
 * @base: before the replicas existed, @s0/@s1: before/after the first
 * swap-out, @s2: after the first swap-in, @end: after the replicas exited
 * (back to @base if nothing leaked); @rd: every round.
 */
static void print_result(struct demo *d, const struct snap *base,
			 const struct snap *s0, const struct snap *s1,
			 const struct snap *s2, const struct snap *end,
			 double t_fill, const struct round *rd)
{
	long long verified = 0, corrupt = 0, resident = 0;
	char enabled[8] = "", comp[64] = "", policy[64] = "";
	double best_out = rd[0].swapout_s, best_in = rd[0].swapin_s;
	struct utsname u;

	for (size_t r = 0; r < d->nreplicas; r++) {
		verified += d->res[r].verified;
		corrupt += d->res[r].corrupt;
		resident += d->res[r].resident;
	}
	for (int i = 1; i < d->o.rounds; i++) {
		if (rd[i].swapout_s < best_out)
			best_out = rd[i].swapout_s;
		if (rd[i].swapin_s < best_in)
			best_in = rd[i].swapin_s;
	}
	zu_param_read("dedup_enabled", enabled, sizeof(enabled));
	zu_param_read("compressor", comp, sizeof(comp));
	zu_debugfs_read_str("dedup_policy", policy, sizeof(policy));
	uname(&u);

#define D(f) (s1->f - s0->f)
	printf("DEMO {\"type\":\"config\",\"name\":\"%s\",\"label\":\"%s\","
	       "\"step\":\"%s\",\"kernel\":\"%s\",\"compressor\":\"%s\","
	       "\"dedup_enabled\":\"%s\",\"dedup_policy\":\"%s\","
	       "\"lockdep\":%s,"
	       "\"domains\":\"%s\",\"tenants\":%d,\"replicas\":%d,"
	       "\"ref_pages\":%zu,\"own_pages\":%zu,\"pages\":%zu,"
	       "\"ideal_pages\":%lld,\"rounds\":%d,"
	       "\"stored_pages\":%lld,\"stored_objects\":%lld,\"pool_bytes\":%lld,"
	       "\"meta_bytes\":%lld,\"dedup_hits\":%lld,\"dedup_collisions\":%lld,"
	       "\"dedup_hashed\":%lld,\"dedup_index_entries\":%lld,"
	       "\"dedup_shared_slots\":%lld,\"dedup_saved_bytes\":%lld,"
	       "\"zswpout\":%lld,\"zswpout_dedup\":%lld,\"zswpin\":%lld,"
	       "\"resident_after_swapout\":%lld,\"fill_s\":%.3f,"
	       "\"swapout_s\":%.3f,\"swapin_s\":%.3f,",
	       d->o.config, d->o.label, d->o.step, u.release, comp, enabled,
	       policy, access("/proc/lockdep", F_OK) ? "false" : "true",
	       d->o.domains, NTENANTS, d->o.replicas, d->o.ref_pages,
	       d->o.own_pages, d->total_pages, ideal_pages(d, d->o.domains),
	       d->o.rounds, D(stored_pages), D(stored_objects), D(pool), D(meta),
	       D(hits), D(collisions), D(hashed), D(index_entries),
	       D(shared_slots), D(saved), D(zswpout), D(zswpout_dedup),
	       s2->zswpin - s1->zswpin, resident, t_fill, best_out, best_in);
#undef D
	print_doubles("swapout_s_rounds", rd, d->o.rounds, offsetof(struct round, swapout_s));
	print_doubles("swapin_s_rounds", rd, d->o.rounds, offsetof(struct round, swapin_s));
	print_doubles("verify_s_rounds", rd, d->o.rounds, offsetof(struct round, verify_s));
	print_lls("pool_bytes_rounds", rd, d->o.rounds, offsetof(struct round, pool));
	print_lls("stored_objects_rounds", rd, d->o.rounds, offsetof(struct round, objects));
	print_lls("dedup_hits_rounds", rd, d->o.rounds, offsetof(struct round, hits));
	print_lls("dedup_hashed_rounds", rd, d->o.rounds, offsetof(struct round, hashed));
	if (d->estimate)
		printf("\"estimate\":%s,\"estimate_error\":null,", d->estimate);
	else if (d->estimate_error[0])
		printf("\"estimate\":null,\"estimate_error\":\"%s\",", d->estimate_error);
	else
		printf("\"estimate\":null,\"estimate_error\":null,");
	printf("\"verified\":%lld,\"corrupt\":%lld,"
	       "\"stored_pages_left\":%lld,\"stored_objects_left\":%lld,"
	       "\"pool_bytes_left\":%lld,\"index_entries_left\":%lld,"
	       "\"per_tenant\":[", verified, corrupt,
	       end->stored_pages - base->stored_pages,
	       end->stored_objects - base->stored_objects, end->pool - base->pool,
	       end->index_entries - base->index_entries);
	for (int t = 0; t < NTENANTS; t++) {
		const struct tenant_snap *a = &s0->t[t], *b = &s1->t[t];

		printf("%s{\"name\":\"%s\",\"refset\":%d,\"anon_bytes\":%lld,"
		       "\"zswpout\":%lld,"
		       "\"zswpout_dedup\":%lld,\"zswapped_bytes\":%lld,"
		       "\"zswap_current_bytes\":%lld}", t ? "," : "",
		       tenants[t].name, tenants[t].refset, a->anon,
		       b->zswpout - a->zswpout,
		       b->zswpout_dedup - a->zswpout_dedup,
		       b->zswapped - a->zswapped,
		       b->zswap_current - a->zswap_current);
	}
	printf("]}\n");
	progress(d, "pool %.1f MiB for %zu pages (%lld objects, %lld merged), "
		 "swap-out %.1f s, swap-in %.1f s%s, %lld pages verified, "
		 "%lld corrupted", (s1->pool - s0->pool) / 1048576.0,
		 d->total_pages, s1->stored_objects - s0->stored_objects,
		 s1->hits - s0->hits, best_out, best_in,
		 d->o.rounds > 1 ? " (best round)" : "", verified, corrupt);
	fflush(stdout);
}

static void usage(void)
{
	fprintf(stderr, "usage: zdedup_demo -c NAME [-l LABEL] [-d none|A,B,C|A+B,C] "
		"[-s STEP] [-R rounds] [-n replicas] [-r ref_pages] [-u own_pages] "
		"[-g cgroup_root] [-D datafile] [-E loader]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	struct demo d = {
		.o = {
			.config = NULL, .label = NULL, .domains = "none",
			.step = "1/1", .cgroot = "/sys/fs/cgroup/demo",
			.datafile = "/tmp/zdedup_demo.data", .replicas = 3,
			.rounds = 1, .ref_pages = 3072, .own_pages = 1024,
			.loader = "/opt/zdedup/bin/zdedup-loader",
		},
	};
	struct snap base, first[3], s0, s1, s2, end;
	struct round rd[MAX_ROUNDS];
	long long corrupt = 0;
	double t_fill;
	int opt, ret = 0;

	while ((opt = getopt(argc, argv, "c:l:d:s:R:n:r:u:g:D:E:")) != -1) {
		switch (opt) {
		case 'c': d.o.config = optarg; break;
		case 'l': d.o.label = optarg; break;
		case 'd': d.o.domains = optarg; break;
		case 's': d.o.step = optarg; break;
		case 'R': d.o.rounds = atoi(optarg); break;
		case 'n': d.o.replicas = atoi(optarg); break;
		case 'r': d.o.ref_pages = strtoul(optarg, NULL, 10); break;
		case 'u': d.o.own_pages = strtoul(optarg, NULL, 10); break;
		case 'g': d.o.cgroot = optarg; break;
		case 'D': d.o.datafile = optarg; break;
		case 'E': d.o.loader = optarg; break;
		default: usage();
		}
	}
	if (!d.o.config || d.o.replicas < 1 || d.o.replicas > MAX_REPLICAS ||
	    d.o.rounds < 1 || d.o.rounds > MAX_ROUNDS ||
	    !d.o.ref_pages || !d.o.own_pages || strchr(d.o.config, '"') ||
	    (d.o.label && strchr(d.o.label, '"')))
		usage();
	if (!d.o.label)
		d.o.label = d.o.config;
	if (!zu_have_dedup())
		die("this kernel has no zswap dedup (no %s/dedup_hits)", ZSWAP_DEBUGFS);
	for (int t = 0; t < NTENANTS; t++)
		if (access(cg_path(&d, tenants[t].name, "memory.reclaim"), W_OK))
			die("no memory cgroup %s/%s", d.o.cgroot, tenants[t].name);

	d.pages_per_replica = d.o.ref_pages + d.o.own_pages;
	d.nreplicas = (size_t)NTENANTS * d.o.replicas;
	d.total_pages = d.nreplicas * d.pages_per_replica;
	d.data_pages = NREFSETS * d.o.ref_pages + d.nreplicas * d.o.own_pages;
	ideal_pages(&d, d.o.domains);	/* check -d before the long part */
	d.res = zu_map_shared(d.nreplicas * sizeof(*d.res));
	if (!d.res)
		die("out of memory");
	signal(SIGPIPE, SIG_IGN);

	load_data(&d);
	take_snap(&d, &base);	/* before the replicas exist */

	progress(&d, "starting %zu replicas (%d per tenant A, B, C), %zu pages "
		 "each: %zu of the image's reference data, %zu of their own",
		 d.nreplicas, d.o.replicas, d.pages_per_replica,
		 d.o.ref_pages, d.o.own_pages);
	start_replicas(&d);
	run_step(&d, "start", false, NULL);
	t_fill = run_step(&d, "fill", true, NULL);
	progress(&d, "filled %zu pages (%zu MiB) in %.1f s", d.total_pages,
		 d.total_pages * PAGE >> 20, t_fill);
	run_estimate(&d);

	for (cur_round = 0; cur_round < d.o.rounds; cur_round++) {
		struct round *r = &rd[cur_round];

		take_snap(&d, &s0);
		r->swapout_s = swap_out(&d, s0.stored_pages);
		take_snap(&d, &s1);
		swapin_base = s1.zswpin;
		progress(&d, "swap-in%s: every replica reads its memory back",
			 round_str(&d, cur_round));
		r->swapin_s = run_step(&d, "swap-in", true, swapin_tick);
		take_snap(&d, &s2);
		progress(&d, "swap-in%s: %lld pages read back from zswap in %.1f s; "
			 "verifying", round_str(&d, cur_round),
			 s2.zswpin - s1.zswpin, r->swapin_s);
		r->verify_s = run_step(&d, "verify", true, NULL);
		r->pool = s1.pool - s0.pool;
		r->stored = s1.stored_pages - s0.stored_pages;
		r->objects = s1.stored_objects - s0.stored_objects;
		r->hits = s1.hits - s0.hits;
		r->hashed = s1.hashed - s0.hashed;
		if (cur_round == 0) {
			first[0] = s0;
			first[1] = s1;
			first[2] = s2;
		}
	}

	for (size_t r = 0; r < d.nreplicas; r++) {
		int status = zu_wait_child(d.rep[r].pid);

		if (status != 0 && status != 1)
			ret = 2;
		corrupt += d.res[r].corrupt;
	}
	take_snap(&d, &end);
	print_result(&d, &base, &first[0], &first[1], &first[2], &end, t_fill, rd);
	if (corrupt)
		ret = 1;
	return ret;
}

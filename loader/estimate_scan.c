/* SPDX-License-Identifier: GPL-2.0 */
/*
 * estimate: reading one process's anonymous pages.
 *
 * /proc/PID/smaps lists the process's mappings with how much anonymous
 * memory and swap each holds; only private mappings holding some are
 * read.  /proc/PID/pagemap says, page by page, whether a page is present
 * (and its PFN, to root), in swap (and its swap entry), or a page of a
 * file or shared memory (left out: zswap stores anonymous pages).  Runs
 * of present pages are read with pread() from /proc/PID/mem, which does
 * not stop the process but, like any access through it, marks the pages
 * read as referenced (reclaim sees them as recently used for a while).
 * Pages in swap are only counted: reading them would fault them back in,
 * which only --include-swapped does.  (A page reclaimed between its
 * pagemap entry and its read is faulted back in: the window is one run
 * of at most 2 MiB.)
 *
 * Each page read is zero-filled (counted apart: the swap core keeps those
 * out of zswap) or hashed with xxh64, the kernel's hash, from libxxhash
 * (inlined: the loader stays one static binary without another library).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#define XXH_INLINE_ALL
#include <xxhash.h>
#include "estimate.h"

#define PM_PRESENT	(1ULL << 63)
#define PM_SWAP		(1ULL << 62)
#define PM_FILE		(1ULL << 61)	/* file page or shared anonymous */
#define PM_PFN_MASK	((1ULL << 55) - 1)
#define PM_SWAP_KEY	(1ULL << 62)	/* est_seen() keys of swap entries */
#define RUN_PAGES	512		/* pagemap entries and pages per read */

double est_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

void est_partial(struct est *e, const char *fmt, ...)
{
	size_t len = strlen(e->partial_why);
	va_list ap;

	e->partial = true;
	if (len + 3 >= sizeof(e->partial_why))
		return;
	if (len) {
		strcpy(e->partial_why + len, "; ");
		len += 2;
	}
	va_start(ap, fmt);
	vsnprintf(e->partial_why + len, sizeof(e->partial_why) - len, fmt, ap);
	va_end(ap);
}

/* Progress on stderr, at most every 2 s, once the scan has taken 2 s. */
static void progress(struct est *e)
{
	double now = est_now();

	if (!e->progress || now - e->start < 2 || now - e->last_progress < 2)
		return;
	e->last_progress = now;
	fprintf(stderr, "%s: estimate: %lu of %lu processes, %llu MiB read, %.0f s\n",
		prog_name, e->procs_done, e->procs_total, e->bytes_read >> 20,
		now - e->start);
}

static bool is_zero(const unsigned char *p, size_t n)
{
	return !p[0] && !memcmp(p, p + 1, n - 1);
}

/* Account the @n pages read at @buf to cgroup @cg. */
static void add_pages(struct est *e, __u32 cg, const unsigned char *buf, size_t n)
{
	struct est_cgroup *c = &e->cg[cg];

	for (size_t i = 0; i < n; i++) {
		const unsigned char *p = buf + i * e->page_size;

		c->c.pages++;
		if (is_zero(p, e->page_size))
			c->c.zero++;
		else
			est_table_add(e, XXH64(p, e->page_size, 0), cg);
	}
	e->bytes_read += n * e->page_size;
}

/*
 * Read @n pages at @addr: 0, or -ESRCH when the process is gone (its mm
 * reads as end of file).  Pages the kernel refuses (-EIO: a mapping of
 * device memory) are counted unreadable.
 */
static int read_run(struct est *e, int mem, __u32 cg, unsigned long addr, size_t n,
		    unsigned char *buf)
{
	size_t len = n * e->page_size;
	ssize_t r = pread(mem, buf, len, addr);

	if (r == (ssize_t)len) {
		add_pages(e, cg, buf, n);
		return 0;
	}
	if (r == 0 || (r < 0 && errno == ESRCH))
		return -ESRCH;
	/* Short or failed: page by page, to keep what can be read. */
	for (size_t i = 0; i < n; i++) {
		r = pread(mem, buf, e->page_size, addr + i * e->page_size);
		if (r == (ssize_t)e->page_size)
			add_pages(e, cg, buf, 1);
		else if (r == 0 || (r < 0 && errno == ESRCH))
			return -ESRCH;
		else
			e->cg[cg].unreadable++;
	}
	return 0;
}

/* One mapping, [start, end). */
static int scan_vma(struct est *e, int pm, int mem, __u32 cg, unsigned long start,
		    unsigned long end, __u64 *ents, unsigned char *buf)
{
	size_t ps = e->page_size;

	for (unsigned long a = start; a < end; a += RUN_PAGES * ps) {
		size_t n = (end - a) / ps, run = 0;
		unsigned long run_start = 0;
		ssize_t r;
		int ret;

		if (n > RUN_PAGES)
			n = RUN_PAGES;
		r = pread(pm, ents, n * sizeof(*ents), a / ps * sizeof(*ents));
		if (r == 0 || (r < 0 && errno == ESRCH))
			return -ESRCH;
		if (r < 0)
			return -errno;
		n = r / sizeof(*ents);
		for (size_t i = 0; i <= n; i++) {
			bool read = false;

			if (i < n && !(ents[i] & PM_FILE)) {
				__u64 v = ents[i];

				if (v & PM_PRESENT) {
					__u64 pfn = v & PM_PFN_MASK;

					if (pfn)
						e->pfn_known = true;
					if (pfn && est_seen(e, pfn))
						e->shared_mapped++;
					else
						read = true;
				} else if (v & PM_SWAP) {
					if (est_seen(e, PM_SWAP_KEY | (v & PM_PFN_MASK))) {
						e->shared_mapped++;
					} else {
						e->cg[cg].swapped++;
						read = e->include_swapped;
					}
				}
			}
			if (read) {
				if (!run)
					run_start = a + i * ps;
				run++;
				continue;
			}
			if (!run)
				continue;
			ret = read_run(e, mem, cg, run_start, run, buf);
			if (ret)
				return ret;
			run = 0;
		}
		progress(e);
		if (e->timeout && est_now() - e->start > e->timeout)
			return -ETIME;
	}
	return 0;
}

/* Mappings whose pages are not process memory: skip. */
static bool skip_mapping(const char *name)
{
	if (!strncmp(name, "[vvar", 5) || !strcmp(name, "[vsyscall]"))
		return true;
	return !strncmp(name, "/dev/", 5) && strncmp(name, "/dev/zero", 9);
}

/*
 * Walk smaps: a mapping's header line ("start-end perms offset dev inode
 * name"), then its "Key: N kB" lines.  A private mapping is scanned when
 * it has Anonymous or Swap pages (known at the next header, or the end).
 */
static int scan_maps(struct est *e, int pm, int mem, __u32 cg, char *smaps)
{
	__u64 *ents = malloc(RUN_PAGES * sizeof(*ents));
	unsigned char *buf = malloc(RUN_PAGES * e->page_size);
	unsigned long start = 0, end = 0, kb;
	bool cand = false, has = false;
	char *line, *save = NULL;
	int ret = 0;

	if (!ents || !buf) {
		free(ents);
		free(buf);
		return -ENOMEM;
	}
	for (line = strtok_r(smaps, "\n", &save); ; line = strtok_r(NULL, "\n", &save)) {
		unsigned long s = 0, t = 0;
		char perms[8] = "";
		int name_at = 0;

		if (line && sscanf(line, "%lx-%lx %7s %*s %*s %*s %n", &s, &t, perms,
				   &name_at) >= 3 && strchr(line, '-') < strchr(line, ' ')) {
			/* A header: finish the previous mapping first. */
		} else if (line) {
			if ((sscanf(line, "Anonymous: %lu kB", &kb) == 1 ||
			     sscanf(line, "Swap: %lu kB", &kb) == 1) && kb)
				has = true;
			continue;
		}
		if (cand && has)
			ret = scan_vma(e, pm, mem, cg, start, end, ents, buf);
		if (ret || !line)
			break;
		start = s;
		end = t;
		has = false;
		cand = perms[3] == 'p' && !(name_at && skip_mapping(line + name_at));
	}
	free(ents);
	free(buf);
	return ret;
}

int est_scan_process(struct est *e, pid_t pid, __u32 cg)
{
	char path[64], *smaps = NULL;
	int pm = -1, mem = -1, ret;

	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
	ret = read_file(path, 256 << 20, &smaps, NULL);
	if (ret == -ENOENT || ret == -ESRCH)
		return -ESRCH;
	if (ret)
		return ret;
	if (!smaps[0]) {			/* a kernel thread, or a zombie */
		free(smaps);
		return -ENODATA;
	}
	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)pid);
	pm = open(path, O_RDONLY | O_CLOEXEC);
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	mem = open(path, O_RDONLY | O_CLOEXEC);
	if (pm < 0 || mem < 0) {
		ret = errno == ENOENT ? -ESRCH : -errno;
		goto out;
	}
	ret = scan_maps(e, pm, mem, cg, smaps);
out:
	if (pm >= 0)
		close(pm);
	if (mem >= 0)
		close(mem);
	free(smaps);
	return ret;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * zdedup-systest: the workload of the system test (make system-test), run
 * by tests/system/run-checks.sh as a systemd service in a tenant's slice.
 *
 * It fills memory with COPIES copies of PAGES reference pages (page r's
 * content depends only on SEED and r, so that two workers with the same
 * seed hold byte-equal pages: replicas of one image), pushes all of it
 * out with MADV_PAGEOUT, and reports from its own cgroup's memory.stat how
 * many of its stores zswap shared with a stored copy (zswpout_dedup).  It
 * then holds its pages in zswap until DIR/release exists (so that the
 * next worker can share them), reads every page back and verifies it.
 *
 *   zdedup-systest NAME DIR SEED PAGES COPIES
 *
 * Writes DIR/NAME.out once its pages are out:
 *   cgroup=PATH pages=N out=N zswpout=N dedup=N
 * and DIR/NAME.done after the verification:
 *   verified=N corrupted=N zswpin=N
 * Exit status 0 when every page went out and came back intact, 1 when
 * not, 2 on an error (printed).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif
#define PAGE 4096UL
/* How long a worker waits for DIR/release before it gives up. */
#define HOLD_SECONDS 600
/* memcg statistics reach memory.stat within 2 s (the periodic flush). */
#define STAT_SETTLE_US 2500000

static const char *name;

static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "zdedup-systest %s: ", name ? name : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static uint64_t mix(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/*
 * Reference page @r of @seed: text-like records (compressible to about a
 * third, as zswap needs) that differ from every other page's.
 */
static void fill(unsigned char *p, uint64_t seed, uint64_t r)
{
	static const char *const words[8] = {
		"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel",
	};
	uint64_t state = seed * 1000003ULL + r;
	size_t off = 0;
	unsigned int rec = 0;

	while (off < PAGE) {
		char line[64];
		uint64_t x = mix(&state);
		int n = snprintf(line, sizeof(line), "%08llx/%06llx %03u %s=%s %u\n",
				 (unsigned long long)seed, (unsigned long long)r, rec++,
				 words[x & 7], words[(x >> 3) & 7],
				 (unsigned int)(x >> 32) % 100000);

		if ((size_t)n > PAGE - off)
			n = PAGE - off;
		memcpy(p + off, line, n);
		off += n;
	}
}

/* The cgroup v2 directory of this process. */
static void own_cgroup(char *buf, size_t size)
{
	char line[4096];
	FILE *f = fopen("/proc/self/cgroup", "r");

	if (!f)
		die("/proc/self/cgroup: %s", strerror(errno));
	buf[0] = '\0';
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "0::", 3)) {
			line[strcspn(line, "\n")] = '\0';
			snprintf(buf, size, "%s", line + 3);
		}
	}
	fclose(f);
	if (!buf[0])
		die("no cgroup v2 line in /proc/self/cgroup");
}

static long long stat_key(const char *cgroup, const char *key)
{
	char path[4200], k[64];
	long long v, found = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/fs/cgroup%s/memory.stat", cgroup);
	f = fopen(path, "r");
	if (!f)
		die("%s: %s", path, strerror(errno));
	while (fscanf(f, "%63s %lld", k, &v) == 2) {
		if (!strcmp(k, key))
			found = v;
	}
	fclose(f);
	if (found < 0)
		die("%s: no %s (a kernel without zswap dedup?)", path, key);
	return found;
}

static void write_file(const char *dir, const char *file, const char *fmt, ...)
{
	char path[4200], tmp[4300];
	va_list ap;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "w");
	if (!f)
		die("%s: %s", tmp, strerror(errno));
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	if (fclose(f) || rename(tmp, path))
		die("%s: %s", path, strerror(errno));
}

/* Pages of [p, p + len) not resident: out in swap (zswap). */
static size_t count_out(unsigned char *p, size_t len)
{
	size_t n = len / PAGE, out = 0;
	unsigned char *vec = malloc(n);

	if (!vec || mincore(p, len, vec))
		die("mincore: %s", strerror(errno));
	for (size_t i = 0; i < n; i++)
		out += !(vec[i] & 1);
	free(vec);
	return out;
}

int main(int argc, char **argv)
{
	unsigned char *mem, expect[PAGE];
	unsigned long long seed, pages, copies, total, out, corrupted = 0;
	long long zswpout0, dedup0, zswpin0;
	char cgroup[4096], release[4200];
	const char *dir;
	size_t len;
	int waited;

	if (argc != 6) {
		fprintf(stderr, "usage: zdedup-systest NAME DIR SEED PAGES COPIES\n");
		return 2;
	}
	name = argv[1];
	dir = argv[2];
	seed = strtoull(argv[3], NULL, 0);
	pages = strtoull(argv[4], NULL, 0);
	copies = strtoull(argv[5], NULL, 0);
	if (!pages || !copies)
		die("PAGES and COPIES must be positive");
	total = pages * copies;
	len = total * PAGE;

	own_cgroup(cgroup, sizeof(cgroup));
	zswpout0 = stat_key(cgroup, "zswpout");
	dedup0 = stat_key(cgroup, "zswpout_dedup");
	zswpin0 = stat_key(cgroup, "zswpin");

	mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (mem == MAP_FAILED)
		die("mmap %zu bytes: %s", len, strerror(errno));
	madvise(mem, len, MADV_NOHUGEPAGE);
	for (unsigned long long i = 0; i < total; i++)
		fill(mem + i * PAGE, seed, i % pages);

	/* Out to zswap; a page the first pass misses (busy) goes on a later one. */
	for (int pass = 0; pass < 5 && count_out(mem, len) < total; pass++) {
		if (madvise(mem, len, MADV_PAGEOUT))
			die("MADV_PAGEOUT: %s (no swap?)", strerror(errno));
	}
	out = count_out(mem, len);
	usleep(STAT_SETTLE_US);
	{
		char file[256];

		snprintf(file, sizeof(file), "%s.out", name);
		write_file(dir, file, "cgroup=%s pages=%llu out=%llu zswpout=%lld dedup=%lld\n",
			   cgroup, total, out, stat_key(cgroup, "zswpout") - zswpout0,
			   stat_key(cgroup, "zswpout_dedup") - dedup0);
	}

	/* Hold the pages in zswap until the test releases every worker. */
	snprintf(release, sizeof(release), "%s/release", dir);
	for (waited = 0; access(release, F_OK); waited++) {
		if (waited > HOLD_SECONDS * 10)
			die("%s never appeared", release);
		usleep(100000);
	}

	for (unsigned long long i = 0; i < total; i++) {
		fill(expect, seed, i % pages);
		if (memcmp(mem + i * PAGE, expect, PAGE)) {
			if (corrupted < 5)
				fprintf(stderr, "zdedup-systest %s: page %llu (reference %llu) "
					"corrupted\n", name, i, i % pages);
			corrupted++;
		}
	}
	usleep(STAT_SETTLE_US);
	{
		char file[256];

		snprintf(file, sizeof(file), "%s.done", name);
		write_file(dir, file, "verified=%llu corrupted=%llu zswpin=%lld\n",
			   total, corrupted, stat_key(cgroup, "zswpin") - zswpin0);
	}
	return corrupted || out != total ? 1 : 0;
}

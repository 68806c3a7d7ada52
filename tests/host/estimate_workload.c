// SPDX-License-Identifier: GPL-2.0
/*
 * A process whose anonymous pages have known contents, for
 * tests/host/test_estimate.py: `zdedup-loader estimate` must count them to
 * the page.
 *
 *   estimate_workload [--fork] UNIQUE ZERO [NAME:COUNT | NAME*COUNT]...
 *
 * maps one private anonymous region (no transparent huge pages) of
 * UNIQUE + ZERO + sum(COUNT) pages and writes: UNIQUE pages of contents no
 * other page has, ZERO zero-filled pages, for each NAME:COUNT, COUNT
 * pages of one content derived from NAME alone, and for each NAME*COUNT,
 * COUNT pages of distinct contents derived from NAME and their index (a
 * data set: every process given the same NAME*COUNT holds the same
 * COUNT contents).  A page's content is random in its first quarter and
 * zero after: distinct for every seed, and compressible (about 4x) as
 * zswap's stores want it.  Then it writes "ready\n" and reads commands
 * from stdin without allocating anything: 'u' unmaps the region (so that
 * a second estimate sees the process without it) and answers
 * "unmapped\n"; 'p' pages the region out (MADV_PAGEOUT, once on every CPU
 * the process may run on, as a folio in another CPU's LRU batch is not
 * isolated) and answers "paged\n", or "pageout failed\n"; end of file
 * exits.  --fork forks after writing: the child shares every page with
 * the parent and dies with it.  The guest suite zdedup_test_estimate runs
 * it in the VM too (built static as build/guest/estimate_workload).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "../guest/pageout.h"

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void fill(unsigned char *p, size_t size, uint64_t seed)
{
	for (size_t i = 0; i < size / 4; i += 8) {
		uint64_t v = splitmix(&seed);

		memcpy(p + i, &v, 8);
	}
	memset(p + size / 4, 0, size - size / 4);
}

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

int main(int argc, char **argv)
{
	size_t ps = sysconf(_SC_PAGESIZE), total, at = 0;
	unsigned long unique, zero, count;
	uint64_t nonce = 0;
	int i = 1, fd, do_fork = 0;
	unsigned char *r;
	char c, sep, name[256];

	if (argc > 1 && !strcmp(argv[1], "--fork"))
		do_fork = 1, i++;
	if (argc - i < 2) {
		fprintf(stderr, "usage: %s [--fork] UNIQUE ZERO [NAME:COUNT | NAME*COUNT]...\n",
			argv[0]);
		return 2;
	}
	unique = strtoul(argv[i], NULL, 0);
	zero = strtoul(argv[i + 1], NULL, 0);
	total = unique + zero;
	for (int a = i + 2; a < argc; a++) {
		if (sscanf(argv[a], "%255[^:*]%c%lu", name, &sep, &count) != 3)
			return 2;
		total += count;
	}
	fd = open("/dev/urandom", O_RDONLY);
	if (fd < 0 || read(fd, &nonce, sizeof(nonce)) != sizeof(nonce))
		return 1;
	close(fd);

	r = mmap(NULL, total * ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		 -1, 0);
	if (r == MAP_FAILED)
		return 1;
	madvise(r, total * ps, MADV_NOHUGEPAGE);
	for (unsigned long k = 0; k < unique; k++, at++)
		fill(r + at * ps, ps, nonce ^ ((uint64_t)getpid() << 32) ^ k);
	for (unsigned long k = 0; k < zero; k++, at++)
		memset(r + at * ps, 0, ps);	/* a write fault: a real zero-filled page */
	for (int a = i + 2; a < argc; a++) {
		sscanf(argv[a], "%255[^:*]%c%lu", name, &sep, &count);
		for (unsigned long k = 0; k < count; k++, at++)
			fill(r + at * ps, ps, fnv1a(name) + (sep == '*' ? k << 32 : 0));
	}
	if (do_fork && fork() == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);	/* dies with its parent */
		if (getppid() == 1)
			return 0;
		for (;;)
			pause();
	}
	if (write(1, "ready\n", 6) != 6)
		return 1;
	while (read(0, &c, 1) == 1) {
		if (c == 'u') {
			munmap(r, total * ps);
			if (write(1, "unmapped\n", 9) != 9)
				return 1;
		} else if (c == 'p') {
			const char *a = zu_pageout(r, total * ps) ? "pageout failed\n" : "paged\n";

			if (write(1, a, strlen(a)) != (ssize_t)strlen(a))
				return 1;
		}
	}
	return 0;
}

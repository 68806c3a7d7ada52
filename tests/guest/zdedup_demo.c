// SPDX-License-Identifier: GPL-2.0
/*
 * zdedup-demo: page a workload out through zswap, read it back, and print
 * what zswap did (pages stored, pool size, compression ratio, timings).
 *
 * usage: zdedup_demo [MiB]   (default 64)
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "zswap_util.h"

static uint64_t seed_of(size_t i, void *arg)
{
	(void)arg;
	return i + 1;
}

int main(int argc, char **argv)
{
	size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 64;
	size_t npages = mib * 256, corrupt;
	long long stored0, pool0, stored1, pool1;
	double t0, t_out, t_in;
	char comp[64] = "?";
	void *buf;
	int ret;

	buf = mmap(NULL, npages * ZU_PAGE_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	zu_param_read("compressor", comp, sizeof(comp));
	zu_fill(buf, npages, seed_of, NULL);

	stored0 = zu_debugfs("stored_pages");
	pool0 = zu_debugfs("pool_total_size");
	t0 = zu_now();
	ret = zu_pageout(buf, npages * ZU_PAGE_SIZE);
	t_out = zu_now() - t0;
	if (ret) {
		fprintf(stderr, "madvise(MADV_PAGEOUT): error %d\n", ret);
		return 1;
	}
	stored1 = zu_debugfs("stored_pages");
	pool1 = zu_debugfs("pool_total_size");

	t0 = zu_now();
	corrupt = zu_count_corrupt(buf, npages, seed_of, NULL);
	t_in = zu_now() - t0;

	printf("\n  zswap page-out of a %zu MiB workload (compressor %s)\n\n",
	       mib, comp);
	printf("  %-28s %14s\n", "", "value");
	printf("  %-28s %14zu\n", "pages written by workload", npages);
	printf("  %-28s %14lld\n", "pages stored in zswap", stored1 - stored0);
	printf("  %-28s %14lld\n", "pool size (bytes)", pool1 - pool0);
	if (pool1 > pool0)
		printf("  %-28s %13.2fx\n", "compression ratio",
		       (double)(stored1 - stored0) * ZU_PAGE_SIZE / (pool1 - pool0));
	printf("  %-28s %12.0f/s\n", "swap-out throughput (pages)", npages / t_out);
	printf("  %-28s %12.0f/s\n", "swap-in throughput (pages)", npages / t_in);
	printf("  %-28s %14zu\n", "pages verified", npages);
	printf("  %-28s %14zu\n\n", "pages corrupted", corrupt);
	return corrupt ? 1 : 0;
}

// SPDX-License-Identifier: GPL-2.0
/*
 * Integrity of pages that pass through zswap: fill memory with known
 * content, push it out with MADV_PAGEOUT, check through debugfs that zswap
 * stored it, then fault every page back and compare it byte for byte.
 * Runs once per compressor the VM kernel offers.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "kselftest_harness.h"
#include "zswap_util.h"

#define NR_PAGES 8192 /* 32 MiB */
/* seconds per test: 32 MiB through zstd twice under TCG, on a busy host */
#define TEST_TIMEOUT 120

static uint64_t seed_unique(size_t i, void *arg)
{
	return (uint64_t)(uintptr_t)arg * 1000003ULL + i + 1;
}

FIXTURE(pageout) {
	char saved_compressor[64];
	void *buf;
};

FIXTURE_VARIANT(pageout) {
	const char *compressor;
};

FIXTURE_VARIANT_ADD(pageout, lzo) { .compressor = "lzo" };
FIXTURE_VARIANT_ADD(pageout, lz4) { .compressor = "lz4" };
FIXTURE_VARIANT_ADD(pageout, zstd) { .compressor = "zstd" };

FIXTURE_SETUP(pageout)
{
	ASSERT_EQ(0, zu_param_read("compressor", self->saved_compressor,
				   sizeof(self->saved_compressor)));
	ASSERT_EQ(0, zu_param_write("compressor", variant->compressor));
	self->buf = mmap(NULL, NR_PAGES * ZU_PAGE_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, self->buf);
}

FIXTURE_TEARDOWN(pageout)
{
	munmap(self->buf, NR_PAGES * ZU_PAGE_SIZE);
	zu_param_write("compressor", self->saved_compressor);
}

/* Every page written comes back intact after a round trip through zswap. */
TEST_F_TIMEOUT(pageout, stored_and_read_back, TEST_TIMEOUT)
{
	long long before, after, zswpout_before;

	zu_fill(self->buf, NR_PAGES, seed_unique, (void *)1);
	before = zu_debugfs("stored_pages");
	zswpout_before = zu_vmstat("zswpout");
	ASSERT_LE(0, before);

	ASSERT_EQ(0, zu_pageout(self->buf, NR_PAGES * ZU_PAGE_SIZE));
	after = zu_debugfs("stored_pages");
	TH_LOG("%s: stored_pages %lld -> %lld, pool %lld bytes", variant->compressor,
	       before, after, zu_debugfs("pool_total_size"));
	/* Nearly every page reached zswap (a few may be busy elsewhere). */
	ASSERT_GE(after - before, NR_PAGES * 95 / 100);
	ASSERT_GE(zu_vmstat("zswpout") - zswpout_before, NR_PAGES * 95 / 100);

	ASSERT_EQ(0UL, zu_count_corrupt(self->buf, NR_PAGES, seed_unique, (void *)1));
	/* Faulting the pages back in released their zswap copies. */
	ASSERT_LE(zu_debugfs("stored_pages"), before + NR_PAGES / 100);
}

/* Content that changes between swap-outs: the newest version comes back. */
TEST_F_TIMEOUT(pageout, rewritten_between_pageouts, TEST_TIMEOUT)
{
	zu_fill(self->buf, NR_PAGES, seed_unique, (void *)2);
	ASSERT_EQ(0, zu_pageout(self->buf, NR_PAGES * ZU_PAGE_SIZE));
	zu_fill(self->buf, NR_PAGES, seed_unique, (void *)3);
	ASSERT_EQ(0, zu_pageout(self->buf, NR_PAGES * ZU_PAGE_SIZE));
	ASSERT_EQ(0UL, zu_count_corrupt(self->buf, NR_PAGES, seed_unique, (void *)3));
}

TEST_HARNESS_MAIN

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the zdedup guest programs: page content generators,
 * pushing memory into zswap and reading zswap's counters back.
 */
#ifndef ZSWAP_UTIL_H
#define ZSWAP_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ZU_PAGE_SIZE 4096UL
#define ZSWAP_DEBUGFS "/sys/kernel/debug/zswap"
#define ZSWAP_PARAMS "/sys/module/zswap/parameters"

/*
 * Fill one page with text-like records derived from @seed: compresses
 * about 2-4x (like logs or serialized records), is never zero- or
 * same-filled, and differs for every seed.
 */
void zu_fill_page(void *page, uint64_t seed);

/* Fill @npages pages at @buf, page i with seed seed_of(i). */
void zu_fill(void *buf, size_t npages, uint64_t (*seed_of)(size_t i, void *arg),
	     void *arg);

/*
 * Count the pages at @buf that differ from what seed_of() generates;
 * touching each page faults it back in from zswap.
 */
size_t zu_count_corrupt(const void *buf, size_t npages,
			uint64_t (*seed_of)(size_t i, void *arg), void *arg);

/* madvise(MADV_PAGEOUT) over the range; returns 0 or -errno. */
int zu_pageout(void *buf, size_t len);

/* Read a decimal counter from /sys/kernel/debug/zswap/@name; -1 if absent. */
long long zu_debugfs(const char *name);

/* Read/write a zswap module parameter as a string. */
int zu_param_read(const char *name, char *buf, size_t len);
int zu_param_write(const char *name, const char *value);

/* Read a "key value" line from /proc/vmstat; -1 if absent. */
long long zu_vmstat(const char *key);

/* Monotonic clock in seconds. */
double zu_now(void);

#endif

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
#include <sys/types.h>

#include "pageout.h"	/* zu_pageout() */

#define ZU_PAGE_SIZE 4096UL
#define ZSWAP_DEBUGFS "/sys/kernel/debug/zswap"
#define ZSWAP_PARAMS "/sys/module/zswap/parameters"

/*
 * Fill one page with text-like records derived from @seed: compresses
 * about 2-4x (like logs or serialized records), is never zero- or
 * same-filled, and differs for every seed.
 */
void zu_fill_page(void *page, uint64_t seed);

/*
 * One step of splitmix64, a small well-mixed PRNG: the same @state gives
 * the same sequence (seeded, replayable runs).
 */
uint64_t zu_rand(uint64_t *state);

/* Fill @npages pages at @buf, page i with seed seed_of(i). */
void zu_fill(void *buf, size_t npages, uint64_t (*seed_of)(size_t i, void *arg),
	     void *arg);

/*
 * Count the pages at @buf that differ from what seed_of() generates;
 * touching each page faults it back in from zswap.
 */
size_t zu_count_corrupt(const void *buf, size_t npages,
			uint64_t (*seed_of)(size_t i, void *arg), void *arg);


/* Read a decimal counter from /sys/kernel/debug/zswap/@name; -1 if absent. */
long long zu_debugfs(const char *name);

/*
 * Read the first line of @path into @buf (without its newline) / write
 * @value to @path: 0 or -errno.
 */
int zu_read_file(const char *path, char *buf, size_t len);
int zu_write_file(const char *path, const char *value);

/* Read/write a zswap module parameter as a string. */
int zu_param_read(const char *name, char *buf, size_t len);
int zu_param_write(const char *name, const char *value);

/* Read a "key value" line from /proc/vmstat; -1 if absent. */
long long zu_vmstat(const char *key);

/* The value of a "key value" line of a flat-keyed file (memory.stat,
 * /proc/vmstat); -1 if absent. */
long long zu_read_key(const char *path, const char *key);

/* Monotonic clock in seconds. */
double zu_now(void);

/* --- memory for workloads ------------------------------------------------ */

/*
 * A private anonymous mapping of @npages pages, not yet faulted in (pages
 * are charged to the memory cgroup of the process that first touches
 * them); NULL on failure.
 */
void *zu_map(size_t npages);
void zu_unmap(void *buf, size_t npages);

/* Shared anonymous memory, for results and barriers of forked processes. */
void *zu_map_shared(size_t len);

/*
 * @n reference pages, page i filled by zu_fill_page(seed_base + i): the
 * distinct contents a workload is built from.  Generated once, so that
 * filling and checking copies is a memcpy/memcmp instead of a regeneration.
 */
void *zu_ref_alloc(size_t n, uint64_t seed_base);

/* Page i of @buf becomes reference page idx[i] (page i if idx is NULL). */
void zu_fill_ref(void *buf, const void *ref, const uint32_t *idx, size_t npages);

/*
 * Count the pages of @buf that differ from reference page idx[i] (page i
 * if idx is NULL); touching each page faults it back in from zswap.
 */
size_t zu_count_corrupt_ref(const void *buf, const void *ref,
			    const uint32_t *idx, size_t npages);

/* Read one byte of every page (faults them in); returns their sum. */
unsigned long zu_touch(const void *buf, size_t npages);

/* --- zswap and swap state ------------------------------------------------ */

/* The kernel has zswap dedup: debugfs zswap/dedup_hits exists. */
bool zu_have_dedup(void);

/* Read/write a zswap debugfs file as a string (e.g. dedup_hash_mask). */
int zu_debugfs_read_str(const char *name, char *buf, size_t len);
int zu_debugfs_write_str(const char *name, const char *value);

/* @dev is an active swap device (listed in /proc/swaps). */
bool zu_swap_active(const char *dev);
/* Number of active swap devices (lines of /proc/swaps); -1 on error. */
int zu_swap_count(void);

/* --- processes ------------------------------------------------------------ */

/*
 * A reusable barrier for @n forked processes in shared memory
 * (zu_map_shared).  zu_barrier_wait() returns 0, or -1 if the others did
 * not arrive within @timeout_s seconds (a participant died).
 */
struct zu_barrier {
	int n;
	int count;
	int generation;
};
void zu_barrier_init(struct zu_barrier *b, int n);
int zu_barrier_wait(struct zu_barrier *b, double timeout_s);

/* Wait for child @pid; returns its exit status, or -1 if it did not exit. */
int zu_wait_child(int pid);

/* Exit codes of helper processes forked by the test suites. */
enum { CHILD_OK, CHILD_CORRUPT, CHILD_NOMEM, CHILD_SYNC, CHILD_PAGEOUT, CHILD_CG };

/* idx for @n copies of reference pages [base, base + k), copy-major. */
uint32_t *zu_idx_copies(size_t k, size_t n, uint32_t base);

/*
 * @n pages of @distinct contents (malloc'ed, NULL on failure): each content
 * once, the other pages random copies, all shuffled as in a real heap.
 */
uint32_t *zu_idx_shuffled(size_t n, size_t distinct, uint64_t seed);

/*
 * Fork a process running fn(arg), in cgroup @cg if not NULL (exit status
 * CHILD_CG if it cannot enter it).
 */
pid_t zu_spawn(const char *cg, int (*fn)(void *arg), void *arg);

/* A decimal number from the start of @path; -1 if unreadable. */
long long zu_read_ll(const char *path);

#endif

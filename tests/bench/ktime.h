/* SPDX-License-Identifier: GPL-2.0 */
/*
 * ktime: zswap_store() and zswap_load() timed per call from inside the
 * kernel (tests/bench/zdedup_ktime.bpf.c), for zdedup_bench.
 *
 *	kt = kt_open(max_samples);	load; NULL: kt_why() says why
 *	kt_print_info(kt);		which functions are probed, and how
 *	kt_begin(kt, KT_PASS_OUTER);	attach one pass's programs
 *	... the workload ...
 *	kt_end(kt);			detach, take medians and means
 *	kt_print(kt, "\"mode\":\"on\"");  one BENCH {"type":"kernel"} line
 *	kt_close(kt);
 */
#ifndef KTIME_H
#define KTIME_H

#include <stdbool.h>
#include <stddef.h>

enum kt_pass {
	KT_PASS_OUTER,		/* zswap_store() and zswap_load() only */
	KT_PASS_OUTCOME,	/* the same, stores split by dedup outcome */
	KT_PASS_FLOOR,		/* the same plus hash, compress, decompress,
				 * memcmp inside them */
	KT_PASS_VERIFY,		/* the same plus the dedup compare alone */
	KT_PASS_POLICY,		/* the same plus the BPF policy's calls */
	KT_PASS_CALIB_FENTRY,	/* kt_calibrate()'s */
	KT_PASS_CALIB_KPROBE,
	KT_NR_PASSES
};

struct kt;

/*
 * Load the timing programs for this process, with room for @max_samples
 * timed calls per pass, and check that each attaches.  NULL if the kernel
 * cannot time zswap_store() and zswap_load(); kt_why() says why.
 */
struct kt *kt_open(size_t max_samples);
const char *kt_why(void);
void kt_close(struct kt *kt);

/* A BENCH {"type":"kernel_info"} line: how each function is probed, or
 * why the in-kernel timing is unavailable (@kt NULL). */
void kt_print_info(const struct kt *kt);

/* @pass can run on this kernel (the outcome pass needs the tracepoint). */
bool kt_has_pass(const struct kt *kt, enum kt_pass pass);
const char *kt_pass_name(enum kt_pass pass);

/* Attach the programs of @pass, with an empty sample buffer / detach them
 * and summarise the samples.  0 or -errno. */
int kt_begin(struct kt *kt, enum kt_pass pass);
int kt_end(struct kt *kt);

/*
 * Print the last pass's summary as BENCH {"type":"kernel", @ids,
 * "pass":..., "stats":{kind:{"n","median","mean","p10","p90"}}}; @ids
 * are the caller's JSON members (without braces) naming the run.
 */
void kt_print(const struct kt *kt, const char *ids);

/* Time @calls getpid(2) (its __task_pid_nr_ns()) under each probe pair
 * the kernel has and print the lines (mode "calib"): what a pair of
 * probes adds to a call. */
int kt_calibrate(struct kt *kt, int calls, const char *ids);

#endif

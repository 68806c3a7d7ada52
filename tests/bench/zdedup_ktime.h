/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What zdedup_ktime.bpf.c records and ktime.c reads: the kinds of timed
 * calls.  A sample is one u64, (kind << KT_KIND_SHIFT) | nanoseconds.
 * No types here: the BPF side includes vmlinux.h, the user side libc.
 */
#ifndef ZDEDUP_KTIME_H
#define ZDEDUP_KTIME_H

#define KT_KIND_SHIFT 56
#define KT_NS_MASK ((1ULL << KT_KIND_SHIFT) - 1)

/* zswap_store() calls of one task nested in each other (reclaim from an
 * allocation inside a store); deeper ones are not timed. */
#define KT_DEPTH 4

enum kt_kind {
	KT_STORE,		/* zswap_store() returned true, no outcome seen */
	KT_STORE_FAIL,		/* zswap_store() returned false */
	KT_LOAD,		/* zswap_load() returned true */
	KT_LOAD_FAIL,		/* zswap_load() returned false (not in zswap) */
	/* a store whose outcome the zswap_dedup_store tracepoint gave:
	 * KT_OUTCOME + result (0 unhashed ... 5 reject) */
	KT_OUTCOME,
	KT_OUTCOME_LAST = KT_OUTCOME + 5,
	/* floors, inside zswap_store() unless said otherwise */
	KT_HASH,		/* xxh64(page, 4096) */
	KT_COMPRESS,		/* the pool's acomp compress */
	KT_DECOMPRESS,		/* acomp decompress: the dedup compare's */
	KT_DECOMPRESS_LOAD,	/* acomp decompress inside zswap_load() */
	KT_MEMCMP,		/* memcmp(page, copy, 4096) */
	KT_VERIFY,		/* zswap_dedup_same(): decompress + memcmp */
	/* an attached BPF policy, as zswap_store() calls it: the domain()
	 * op, the stored() op, each with its RCU section and trampoline */
	KT_POLICY_DOMAIN,
	KT_POLICY_STORED,
	/* a call less the floors timed inside it (hash, compress, decompress,
	 * memcmp), per call: zswap's own time; only where a floor ran */
	KT_STORE_OWN,
	KT_LOAD_OWN,
	/* probe overhead: an fentry/fexit (kprobe/kretprobe) pair around
	 * __task_pid_nr_ns(), whose own work is a few instructions */
	KT_CALIB_FENTRY,
	KT_CALIB_KPROBE,
	KT_NR_KINDS
};

/* The floor functions, indexes of the per-task start times. */
enum kt_floor {
	KT_F_HASH,
	KT_F_COMPRESS,
	KT_F_DECOMPRESS,
	KT_F_MEMCMP,
	KT_F_VERIFY,
	KT_F_POLICY_DOMAIN,
	KT_F_POLICY_STORED,
	KT_F_CALIB,
	KT_NR_FLOORS
};

#endif

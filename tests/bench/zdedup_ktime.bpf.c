// SPDX-License-Identifier: GPL-2.0
/*
 * zdedup_ktime: how long zswap_store() and zswap_load() take per call,
 * from inside the kernel, and how long the work they cannot avoid takes
 * (the floors), for make bench (tests/bench/ktime.c drives it).
 *
 * End-to-end throughput mixes dedup's cost with everything else a
 * swap-out does (rmap, TLB flushes, swap slot allocation); these programs
 * time the calls themselves.  Every timed call of the benchmark's process
 * (targ_tgid) becomes one exact sample, (kind << 56) | ns, in the
 * mmap-able array samples, at an index taken with an atomic add: user
 * space takes medians, which a log2 histogram could not give to 1%.
 *
 * The programs are attached in passes, so that probes never time each
 * other:
 *
 *   outer    store_entry/exit, load_entry/exit only: the same programs
 *            with dedup off and on, so their own cost cancels in ratios
 *   outcome  the same plus dedup_store_tp, the zswap_dedup_store
 *            tracepoint, which tags the current store with its result
 *            (hit, miss, collision, ...) for store_exit to file it under
 *   floor    the same plus the kernel's own functions as zswap calls them:
 *            the page hash (xxh64 of 4 KiB), the pool's compress and
 *            decompress and the memcmp of 4 KiB, counted only inside
 *            zswap_store() (and, for decompress, zswap_load()) of this
 *            process; each call they ran in also records its time less
 *            theirs (store_own, load_own), per call
 *   verify   the same plus zswap_dedup_same() (decompress + memcmp: the
 *            dedup compare) alone, for kernels where memcmp cannot be
 *            probed: its time less the floor pass's decompress is the
 *            compare, with no probe nested inside it
 *   policy   outer plus the attached BPF policy's calls from
 *            zswap_store(): domain() and stored(), each whole (RCU
 *            section, trampoline, program)
 *   calib    an fentry/fexit and a kprobe/kretprobe pair around
 *            __task_pid_nr_ns(), a few instructions getpid(2) calls:
 *            what a pair of probes adds to a measured call
 *
 * xxh64() and memcmp() live in lib/, which the kernel builds without
 * ftrace hooks, and kprobe events refuse functions ftrace cannot hook
 * (unless CONFIG_KPROBE_EVENTS_ON_NOTRACE): each floor has fallbacks,
 * and user space loads for each the first the running kernel can attach
 * (tests/bench/ktime.c).
 *
 * zswap_store() and zswap_load() may sleep and migrate: start times live
 * per task (a hash keyed by thread id), never per CPU.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "zdedup_ktime.h"

char LICENSE[] SEC("license") = "GPL";

#define PAGE_BYTES 4096

const volatile __u32 targ_tgid;		/* the process whose calls count */
const volatile __u32 max_samples;		/* entries of samples */
/* zswap_load() returns 0 or -errno (7.3) instead of true on success (6.12) */
const volatile bool load_returns_errno;

__u32 nr_samples;				/* next free index (may pass max) */
__u32 dropped;				/* samples that found no room */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1);		/* sized by user space */
	__type(key, u32);
	__type(value, u64);
} samples SEC(".maps");

/* What one thread is in the middle of. */
struct kt_task {
	u64 store_start[KT_DEPTH];
	u32 store_outcome[KT_DEPTH];	/* tracepoint result + 1; 0: none */
	u64 store_inner[KT_DEPTH];	/* ns in timed floors inside it */
	u32 store_depth;		/* zswap_store() calls in progress */
	u32 load_depth;			/* zswap_load() calls in progress */
	u64 load_start;
	u64 load_inner;
	u64 floor_start[KT_NR_FLOORS];	/* 0: not timing this floor */
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, u32);		/* thread id */
	__type(value, struct kt_task);
} tasks SEC(".maps");

static const struct kt_task zero_task;

/* This thread's state, NULL for threads of other processes. */
static __always_inline struct kt_task *task(bool create)
{
	u64 id = bpf_get_current_pid_tgid();
	u32 tid = (u32)id;
	struct kt_task *t;

	if ((u32)(id >> 32) != targ_tgid)
		return NULL;
	t = bpf_map_lookup_elem(&tasks, &tid);
	if (t || !create)
		return t;
	bpf_map_update_elem(&tasks, &tid, &zero_task, BPF_NOEXIST);
	return bpf_map_lookup_elem(&tasks, &tid);
}

static __always_inline void record(u32 kind, u64 ns)
{
	u32 i = __sync_fetch_and_add(&nr_samples, 1);
	u64 *slot;

	if (i >= max_samples) {
		__sync_fetch_and_add(&dropped, 1);
		return;
	}
	slot = bpf_map_lookup_elem(&samples, &i);
	if (slot)
		*slot = (u64)kind << KT_KIND_SHIFT | (ns & KT_NS_MASK);
}

/* --- the timed calls: every pass ------------------------------------------ */

SEC("fentry/zswap_store")
int BPF_PROG(store_entry)
{
	struct kt_task *t = task(true);
	u32 d;

	if (!t)
		return 0;
	d = t->store_depth++;
	if (d < KT_DEPTH) {
		t->store_outcome[d] = 0;
		t->store_inner[d] = 0;
		t->store_start[d] = bpf_ktime_get_ns();	/* last: not timed */
	}
	return 0;
}

/* bool return: only its low byte is defined (x86-64 ABI). */
SEC("fexit/zswap_store")
int BPF_PROG(store_exit, void *folio, u64 ret)
{
	u64 now = bpf_ktime_get_ns();	/* first: not timed */
	struct kt_task *t = task(false);
	u32 d, kind;

	if (!t || !t->store_depth)
		return 0;
	d = --t->store_depth;
	if (d >= KT_DEPTH)
		return 0;
	if (!(ret & 0xff))
		kind = KT_STORE_FAIL;
	else if (t->store_outcome[d])
		kind = KT_OUTCOME + t->store_outcome[d] - 1;
	else
		kind = KT_STORE;
	record(kind, now - t->store_start[d]);
	if (t->store_inner[d] && kind != KT_STORE_FAIL)
		record(KT_STORE_OWN, now - t->store_start[d] - t->store_inner[d]);
	return 0;
}

SEC("fentry/zswap_load")
int BPF_PROG(load_entry)
{
	struct kt_task *t = task(true);

	if (!t)
		return 0;
	if (!t->load_depth++) {
		t->load_inner = 0;
		t->load_start = bpf_ktime_get_ns();
	}
	return 0;
}

SEC("fexit/zswap_load")
int BPF_PROG(load_exit, void *folio, u64 ret)
{
	u64 now = bpf_ktime_get_ns();
	struct kt_task *t = task(false);
	bool loaded;

	if (!t || !t->load_depth || --t->load_depth)
		return 0;
	loaded = load_returns_errno ? (int)ret == 0 : (ret & 0xff) != 0;
	record(loaded ? KT_LOAD : KT_LOAD_FAIL, now - t->load_start);
	if (t->load_inner && loaded)
		record(KT_LOAD_OWN, now - t->load_start - t->load_inner);
	return 0;
}

/* --- outcome pass ---------------------------------------------------------- */

/* Fires inside zswap_store() when dedup is enabled (result: 0 unhashed,
 * 1 miss, 2 hit, 3 collision, 4 fallback, 5 reject): the event of 6.12
 * (folio, domain, result) or of 7.3, which also names the page's slot. */
static __always_inline int dedup_store_outcome(int result)
{
	struct kt_task *t = task(false);
	u32 d;

	if (!t)
		return 0;
	d = t->store_depth;
	if (d < 1 || d > KT_DEPTH || result < 0 ||
	    result > KT_OUTCOME_LAST - KT_OUTCOME)
		return 0;
	t->store_outcome[d - 1] = result + 1;
	return 0;
}

SEC("tp_btf/zswap_dedup_store")
int BPF_PROG(dedup_store_tp, void *folio, u32 domain, int result)
{
	return dedup_store_outcome(result);
}

SEC("tp_btf/zswap_dedup_store")
int BPF_PROG(dedup_store_slot_tp, void *folio, u64 swp, u32 domain, int result)
{
	return dedup_store_outcome(result);
}

/* --- floor pass ------------------------------------------------------------ */

/* Start timing floor @f if this thread is inside zswap_store() (or, with
 * @in_load, zswap_load()). */
static __always_inline void floor_enter(u32 f, bool in_load)
{
	struct kt_task *t = task(false);

	if (!t || f >= KT_NR_FLOORS)
		return;
	if (!t->store_depth && !(in_load && t->load_depth))
		return;
	t->floor_start[f] = bpf_ktime_get_ns();
}

/* Stop timing floor @f: its duration, or 0 if it was not being timed. */
static __always_inline u64 floor_exit(struct kt_task *t, u64 now, u32 f)
{
	u64 start;

	if (!t || f >= KT_NR_FLOORS)
		return 0;
	start = t->floor_start[f];
	if (!start)
		return 0;
	t->floor_start[f] = 0;
	return now - start;
}

/*
 * Charge @ns of floor @f to the call it ran in, which then also records
 * its own time (KT_STORE_OWN, KT_LOAD_OWN): the floors of the floor pass
 * only, not the dedup compare (it contains a floor) or a policy's calls.
 */
static __always_inline void floor_charge(struct kt_task *t, u32 f, u64 ns)
{
	u32 d;

	if (f != KT_F_HASH && f != KT_F_COMPRESS && f != KT_F_DECOMPRESS &&
	    f != KT_F_MEMCMP)
		return;
	d = t->store_depth;
	if (d >= 1 && d <= KT_DEPTH)
		t->store_inner[d - 1] += ns;
	else if (t->load_depth)
		t->load_inner += ns;
}

static __always_inline void floor_record(u32 f, u32 kind)
{
	u64 now = bpf_ktime_get_ns();
	struct kt_task *t = task(false);
	u64 ns = floor_exit(t, now, f);

	if (!t || !ns)
		return;
	record(kind, ns);
	floor_charge(t, f, ns);
}

/* The page hash: xxh64(page, PAGE_SIZE, seed). */
SEC("fentry/xxh64")
int BPF_PROG(hash_fentry, const void *in, size_t len)
{
	if (len == PAGE_BYTES)
		floor_enter(KT_F_HASH, false);
	return 0;
}

SEC("fexit/xxh64")
int BPF_PROG(hash_fexit)
{
	floor_record(KT_F_HASH, KT_HASH);
	return 0;
}

SEC("kprobe/xxh64")
int BPF_KPROBE(hash_kprobe, const void *in, size_t len)
{
	if (len == PAGE_BYTES)
		floor_enter(KT_F_HASH, false);
	return 0;
}

SEC("kretprobe/xxh64")
int BPF_KRETPROBE(hash_kretprobe)
{
	floor_record(KT_F_HASH, KT_HASH);
	return 0;
}

/* Where neither reaches xxh64(): the dedup kernel's own wrapper (kmap,
 * xxh64, a counter; not inlined since kernel-patches 0008 for this). */
SEC("fentry/zswap_dedup_index_key")
int BPF_PROG(hash_key_entry)
{
	floor_enter(KT_F_HASH, false);
	return 0;
}

SEC("fexit/zswap_dedup_index_key")
int BPF_PROG(hash_key_exit)
{
	floor_record(KT_F_HASH, KT_HASH);
	return 0;
}

/* The dedup compare: memcmp(page, decompressed copy, PAGE_SIZE). */
SEC("fentry/memcmp")
int BPF_PROG(memcmp_fentry, const void *p, const void *q, size_t n)
{
	if (n == PAGE_BYTES)
		floor_enter(KT_F_MEMCMP, false);
	return 0;
}

SEC("fexit/memcmp")
int BPF_PROG(memcmp_fexit)
{
	floor_record(KT_F_MEMCMP, KT_MEMCMP);
	return 0;
}

SEC("kprobe/memcmp")
int BPF_KPROBE(memcmp_kprobe, const void *p, const void *q, size_t n)
{
	if (n == PAGE_BYTES)
		floor_enter(KT_F_MEMCMP, false);
	return 0;
}

SEC("kretprobe/memcmp")
int BPF_KRETPROBE(memcmp_kretprobe)
{
	floor_record(KT_F_MEMCMP, KT_MEMCMP);
	return 0;
}

/* The pool's compressor through scomp (lzo and lz4; zstd on 6.12). */
SEC("fentry/scomp_acomp_compress")
int BPF_PROG(compress_entry)
{
	floor_enter(KT_F_COMPRESS, false);
	return 0;
}

SEC("fexit/scomp_acomp_compress")
int BPF_PROG(compress_exit)
{
	floor_record(KT_F_COMPRESS, KT_COMPRESS);
	return 0;
}

SEC("fentry/scomp_acomp_decompress")
int BPF_PROG(decompress_entry)
{
	floor_enter(KT_F_DECOMPRESS, true);
	return 0;
}

/* A decompress inside a store is the dedup compare's; outside, a load's. */
static __always_inline int decompress_done(void)
{
	u64 now = bpf_ktime_get_ns();
	struct kt_task *t = task(false);
	u64 ns = floor_exit(t, now, KT_F_DECOMPRESS);

	if (!t || !ns)
		return 0;
	record(t->store_depth ? KT_DECOMPRESS : KT_DECOMPRESS_LOAD, ns);
	floor_charge(t, KT_F_DECOMPRESS, ns);
	return 0;
}

SEC("fexit/scomp_acomp_decompress")
int BPF_PROG(decompress_exit)
{
	return decompress_done();
}

/*
 * zstd on 7.3 is a native acomp algorithm: zswap's requests reach
 * zstd_compress()/zstd_decompress() without scomp_acomp_*().  On 6.12 the
 * same names are zstd's legacy crypto_alg hooks, which zswap never calls.
 */
SEC("fentry/zstd_compress")
int BPF_PROG(acomp_compress_entry)
{
	floor_enter(KT_F_COMPRESS, false);
	return 0;
}

SEC("fexit/zstd_compress")
int BPF_PROG(acomp_compress_exit)
{
	floor_record(KT_F_COMPRESS, KT_COMPRESS);
	return 0;
}

SEC("fentry/zstd_decompress")
int BPF_PROG(acomp_decompress_entry)
{
	floor_enter(KT_F_DECOMPRESS, true);
	return 0;
}

SEC("fexit/zstd_decompress")
int BPF_PROG(acomp_decompress_exit)
{
	return decompress_done();
}

/* zswap_dedup_same(): decompress + memcmp with the acomp context held. */
SEC("fentry/zswap_dedup_same")
int BPF_PROG(verify_entry)
{
	floor_enter(KT_F_VERIFY, false);
	return 0;
}

SEC("fexit/zswap_dedup_same")
int BPF_PROG(verify_exit)
{
	floor_record(KT_F_VERIFY, KT_VERIFY);
	return 0;
}

/* Where zswap_dedup_same() is inlined: its caller, which adds a reference
 * drop and a counter on a collision only. */
SEC("fentry/zswap_dedup_verify")
int BPF_PROG(verify_alt_entry)
{
	floor_enter(KT_F_VERIFY, false);
	return 0;
}

SEC("fexit/zswap_dedup_verify")
int BPF_PROG(verify_alt_exit)
{
	floor_record(KT_F_VERIFY, KT_VERIFY);
	return 0;
}

/* --- policy pass ----------------------------------------------------------- */

/* An attached BPF policy as zswap_store() calls it (mm/zswap_bpf.c): the
 * RCU section, the indirect call through the struct_ops trampoline and
 * the program, with the domain validated.  Never called without one. */
SEC("fentry/zswap_dedup_bpf_domain")
int BPF_PROG(policy_domain_entry)
{
	floor_enter(KT_F_POLICY_DOMAIN, false);
	return 0;
}

SEC("fexit/zswap_dedup_bpf_domain")
int BPF_PROG(policy_domain_exit)
{
	floor_record(KT_F_POLICY_DOMAIN, KT_POLICY_DOMAIN);
	return 0;
}

/* The optional stored() op, called only while the policy has one. */
SEC("fentry/zswap_dedup_bpf_stored")
int BPF_PROG(policy_stored_entry)
{
	floor_enter(KT_F_POLICY_STORED, false);
	return 0;
}

SEC("fexit/zswap_dedup_bpf_stored")
int BPF_PROG(policy_stored_exit)
{
	floor_record(KT_F_POLICY_STORED, KT_POLICY_STORED);
	return 0;
}

/* --- calibration pass ------------------------------------------------------ */

static __always_inline void calib_enter(void)
{
	struct kt_task *t = task(true);

	if (t)
		t->floor_start[KT_F_CALIB] = bpf_ktime_get_ns();
}

SEC("fentry/__task_pid_nr_ns")
int BPF_PROG(calib_fentry)
{
	calib_enter();
	return 0;
}

SEC("fexit/__task_pid_nr_ns")
int BPF_PROG(calib_fexit)
{
	floor_record(KT_F_CALIB, KT_CALIB_FENTRY);
	return 0;
}

SEC("kprobe/__task_pid_nr_ns")
int BPF_KPROBE(calib_kprobe)
{
	calib_enter();
	return 0;
}

SEC("kretprobe/__task_pid_nr_ns")
int BPF_KRETPROBE(calib_kretprobe)
{
	floor_record(KT_F_CALIB, KT_CALIB_KPROBE);
	return 0;
}

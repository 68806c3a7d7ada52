// SPDX-License-Identifier: GPL-2.0
/*
 * ktime: the user side of zdedup_ktime.bpf.c.  Chooses, for each kernel
 * function, a probe the running kernel can attach (fentry/fexit where
 * ftrace can hook it, else kprobe/kretprobe), loads only those, attaches
 * one pass at a time and turns the exact per-call samples into medians.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "ktime.h"
#include "zdedup_ktime.h"
#include "zdedup_ktime.skel.h"

#define PASS(p) (1u << (p))
#define TIMED (PASS(KT_PASS_OUTER) | PASS(KT_PASS_OUTCOME) | PASS(KT_PASS_FLOOR) | \
	       PASS(KT_PASS_VERIFY) | PASS(KT_PASS_POLICY))
#define FLOOR PASS(KT_PASS_FLOOR)

enum how { NONE, FENTRY, KPROBE, TRACEPOINT };
static const char *const how_names[] = { "", "fentry", "kprobe", "tp_btf" };

/* One way to time a kernel function: its pair of programs (a tracepoint
 * has one). */
struct variant {
	enum how how;
	const char *func;		/* kernel function or tracepoint */
	const char *entry, *exit;	/* program names */
	unsigned int nargs;		/* a tracepoint's arguments, as the program reads them */
};

#define MAX_VARIANTS 4

/*
 * What is timed, and the ways to time it, best first: fentry/fexit, whose
 * overhead the calibration measures, before kprobes (an int3 where ftrace
 * cannot hook the function, and kprobe events allow that only with
 * CONFIG_KPROBE_EVENTS_ON_NOTRACE).
 */
struct probe {
	const char *what;		/* name in the kernel_info line */
	unsigned int passes;		/* PASS() bits it belongs to */
	bool required;			/* no timing at all without it */
	struct variant v[MAX_VARIANTS];
};

static const struct probe probes[] = {
	{ "store", TIMED, true,
	  { { FENTRY, "zswap_store", "store_entry", "store_exit", 0 } } },
	{ "load", TIMED, true,
	  { { FENTRY, "zswap_load", "load_entry", "load_exit", 0 } } },
	{ "outcome", PASS(KT_PASS_OUTCOME), false,
	  { { TRACEPOINT, "zswap_dedup_store", "dedup_store_tp", NULL, 3 },
	    { TRACEPOINT, "zswap_dedup_store", "dedup_store_slot_tp", NULL, 4 } } },
	{ "hash", FLOOR, false,
	  { { FENTRY, "xxh64", "hash_fentry", "hash_fexit", 0 },
	    { FENTRY, "zswap_dedup_index_key", "hash_key_entry", "hash_key_exit", 0 },
	    { KPROBE, "xxh64", "hash_kprobe", "hash_kretprobe", 0 } } },
	{ "compress", FLOOR, false,
	  { { FENTRY, "scomp_acomp_compress", "compress_entry", "compress_exit", 0 } } },
	{ "decompress", FLOOR, false,
	  { { FENTRY, "scomp_acomp_decompress", "decompress_entry", "decompress_exit", 0 } } },
	/* A compressor that is a native acomp algorithm (zstd on 7.3) is not
	 * reached through scomp: its own probe, attached alongside. */
	{ "compress_acomp", FLOOR, false,
	  { { FENTRY, "zstd_compress", "acomp_compress_entry", "acomp_compress_exit", 0 } } },
	{ "decompress_acomp", FLOOR, false,
	  { { FENTRY, "zstd_decompress", "acomp_decompress_entry",
	      "acomp_decompress_exit", 0 } } },
	{ "memcmp", FLOOR, false,
	  { { FENTRY, "memcmp", "memcmp_fentry", "memcmp_fexit", 0 },
	    { KPROBE, "memcmp", "memcmp_kprobe", "memcmp_kretprobe", 0 } } },
	{ "verify", PASS(KT_PASS_VERIFY), false,
	  { { FENTRY, "zswap_dedup_same", "verify_entry", "verify_exit", 0 },
	    { FENTRY, "zswap_dedup_verify", "verify_alt_entry", "verify_alt_exit", 0 } } },
	{ "policy_domain", PASS(KT_PASS_POLICY), false,
	  { { FENTRY, "zswap_dedup_bpf_domain", "policy_domain_entry",
	      "policy_domain_exit", 0 } } },
	{ "policy_stored", PASS(KT_PASS_POLICY), false,
	  { { FENTRY, "zswap_dedup_bpf_stored", "policy_stored_entry",
	      "policy_stored_exit", 0 } } },
	{ "calib_fentry", PASS(KT_PASS_CALIB_FENTRY), false,
	  { { FENTRY, "__task_pid_nr_ns", "calib_fentry", "calib_fexit", 0 } } },
	{ "calib_kprobe", PASS(KT_PASS_CALIB_KPROBE), false,
	  { { KPROBE, "__task_pid_nr_ns", "calib_kprobe", "calib_kretprobe", 0 } } },
};
#define NR_PROBES (sizeof(probes) / sizeof(probes[0]))

static const char *const kind_names[KT_NR_KINDS] = {
	[KT_STORE] = "store", [KT_STORE_FAIL] = "store_fail",
	[KT_LOAD] = "load", [KT_LOAD_FAIL] = "load_fail",
	[KT_OUTCOME + 0] = "unhashed", [KT_OUTCOME + 1] = "miss",
	[KT_OUTCOME + 2] = "hit", [KT_OUTCOME + 3] = "collision",
	[KT_OUTCOME + 4] = "fallback", [KT_OUTCOME + 5] = "reject",
	[KT_HASH] = "hash", [KT_COMPRESS] = "compress",
	[KT_DECOMPRESS] = "decompress", [KT_DECOMPRESS_LOAD] = "decompress_load",
	[KT_MEMCMP] = "memcmp", [KT_VERIFY] = "verify",
	[KT_POLICY_DOMAIN] = "policy_domain",
	[KT_POLICY_STORED] = "policy_stored",
	[KT_STORE_OWN] = "store_own", [KT_LOAD_OWN] = "load_own",
	[KT_CALIB_FENTRY] = "calib_fentry",
	[KT_CALIB_KPROBE] = "calib_kprobe",
};

static const char *const pass_names[KT_NR_PASSES] = {
	"outer", "outcome", "floor", "verify", "policy", "calib_fentry",
	"calib_kprobe",
};

struct summary {
	size_t n;
	double median, mean, p10, p90;
};

struct kt {
	struct zdedup_ktime *skel;
	int chosen[NR_PROBES];		/* index of the variant used, or -1 */
	bool loadable[NR_PROBES][MAX_VARIANTS];
	bool load_returns_errno;	/* zswap_load() of 7.3 */
	char note[NR_PROBES][320];	/* why each variant is unusable */
	struct bpf_link *links[2 * NR_PROBES];
	int nr_links;
	const uint64_t *samples;	/* the array map, mmapped */
	size_t max_samples, map_len;
	enum kt_pass pass;
	size_t taken, dropped;
	struct summary sum[KT_NR_KINDS];
};

static char why[512];

const char *kt_why(void)
{
	return why;
}

const char *kt_pass_name(enum kt_pass pass)
{
	return pass < KT_NR_PASSES ? pass_names[pass] : "?";
}

static void set_why(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
}

/* libbpf's own messages: warnings only, and not while probing. */
static bool quiet;

static int print_libbpf(enum libbpf_print_level level, const char *fmt,
			va_list ap)
{
	if (level != LIBBPF_WARN || quiet)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

/*
 * Mark which of @names appear as the @col-th whitespace-separated word
 * (0-based) of a line of @path.  -errno if it cannot be read.
 */
static int find_words(const char *path, int col, const char *const *names,
		      bool *found, size_t n)
{
	char line[512];
	FILE *f = fopen(path, "re");

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *save, *w = strtok_r(line, " \t\n", &save);

		for (int c = 0; w && c < col; c++)
			w = strtok_r(NULL, " \t\n", &save);
		for (size_t i = 0; w && i < n; i++)
			if (!found[i] && !strcmp(w, names[i]))
				found[i] = true;
	}
	fclose(f);
	return 0;
}

/* Where ftrace lists the functions it can hook (fentry needs that). */
static const char *const ftrace_lists[] = {
	"/sys/kernel/tracing/available_filter_functions",
	"/sys/kernel/debug/tracing/available_filter_functions",
};

/* Append "how func: reason" to probe @i's note. */
static void note(struct kt *kt, size_t i, const struct variant *v, const char *fmt, ...)
{
	char *buf = kt->note[i];
	size_t len = strlen(buf);
	va_list ap;

	if (len + 2 >= sizeof(kt->note[i]))
		return;
	len += snprintf(buf + len, sizeof(kt->note[i]) - len, "%s%s %s: ",
			len ? "; " : "", how_names[v->how], v->func);
	if (len >= sizeof(kt->note[i]))
		return;
	va_start(ap, fmt);
	vsnprintf(buf + len, sizeof(kt->note[i]) - len, fmt, ap);
	va_end(ap);
}

/* The distinct function names of probes[], for one pass over each list. */
static size_t all_funcs(const char **names)
{
	size_t n = 0;

	for (size_t i = 0; i < NR_PROBES; i++)
		for (int j = 0; j < MAX_VARIANTS && probes[i].v[j].func; j++) {
			size_t k = 0;

			while (k < n && strcmp(names[k], probes[i].v[j].func))
				k++;
			if (k == n)
				names[n++] = probes[i].v[j].func;
		}
	return n;
}

static bool listed(const char **names, const bool *found, size_t n, const char *func)
{
	for (size_t k = 0; k < n; k++)
		if (!strcmp(names[k], func))
			return found[k];
	return false;
}

/* The arguments of tracepoint typedef @tp (btf_trace_NAME: a pointer to a
 * function of void *data and the event's arguments), or -1. */
static int tracepoint_nargs(const struct btf *btf, const char *tp)
{
	int id = btf__find_by_name_kind(btf, tp, BTF_KIND_TYPEDEF);
	const struct btf_type *t;

	if (id <= 0)
		return -1;
	t = btf__type_by_id(btf, btf__resolve_type(btf, id));
	if (!t || !btf_is_ptr(t))
		return -1;
	t = btf__type_by_id(btf, t->type);
	if (!t || !btf_is_func_proto(t) || btf_vlen(t) < 1)
		return -1;
	return (int)btf_vlen(t) - 1;
}

/* Whether zswap_load() returns 0 or -errno (int, 7.3) rather than whether
 * it loaded (bool, 6.12). */
static bool load_returns_errno(const struct btf *btf)
{
	int id = btf__find_by_name_kind(btf, "zswap_load", BTF_KIND_FUNC);
	const struct btf_type *t;
	const char *name;

	if (id <= 0)
		return false;
	t = btf__type_by_id(btf, btf__type_by_id(btf, id)->type);
	if (!t || !btf_is_func_proto(t))
		return false;
	t = btf__type_by_id(btf, t->type);
	name = t ? btf__name_by_offset(btf, t->name_off) : NULL;
	return name && !strcmp(name, "int");
}

/* Which variants the running kernel can load (kt->loadable), and why the
 * others cannot (kt->note). */
static int choose(struct kt *kt)
{
	const char *names[NR_PROBES * MAX_VARIANTS];
	bool ftrace[NR_PROBES * MAX_VARIANTS] = { 0 }, ksym[NR_PROBES * MAX_VARIANTS] = { 0 };
	bool banned[NR_PROBES * MAX_VARIANTS] = { 0 };
	bool have_ftrace = false, have_kprobe;
	struct btf *btf = btf__load_vmlinux_btf();
	size_t n = all_funcs(names);

	if (!btf) {
		set_why("no kernel BTF (/sys/kernel/btf/vmlinux): CONFIG_DEBUG_INFO_BTF");
		return -ENOENT;
	}
	if (libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_TRACING, NULL) != 1) {
		set_why("the kernel cannot load BPF tracing programs: it needs "
			"CONFIG_BPF_EVENTS (CONFIG_KPROBE_EVENTS, CONFIG_PERF_EVENTS) "
			"and CONFIG_FUNCTION_TRACER for fentry/fexit");
		btf__free(btf);
		return -EOPNOTSUPP;
	}
	have_kprobe = libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_KPROBE, NULL) == 1 &&
		access("/sys/bus/event_source/devices/kprobe/type", R_OK) == 0;
	for (size_t i = 0; i < 2 && !have_ftrace; i++)
		have_ftrace = !find_words(ftrace_lists[i], 0, names, ftrace, n);
	find_words("/proc/kallsyms", 2, names, ksym, n);
	find_words("/sys/kernel/debug/kprobes/blacklist", 1, names, banned, n);

	for (size_t i = 0; i < NR_PROBES; i++) {
		for (int j = 0; j < MAX_VARIANTS && probes[i].v[j].func; j++) {
			const struct variant *v = &probes[i].v[j];
			char tp[96];
			int nargs;

			switch (v->how) {
			case FENTRY:
				if (btf__find_by_name_kind(btf, v->func, BTF_KIND_FUNC) <= 0)
					note(kt, i, v, "not in the kernel's BTF");
				else if (!have_ftrace)
					note(kt, i, v, "no ftrace (CONFIG_FUNCTION_TRACER)");
				else if (!listed(names, ftrace, n, v->func))
					note(kt, i, v, "not ftrace-traceable");
				else
					kt->loadable[i][j] = true;
				break;
			case KPROBE:
				if (!have_kprobe)
					note(kt, i, v, "no kprobes (CONFIG_KPROBE_EVENTS)");
				else if (!listed(names, ksym, n, v->func))
					note(kt, i, v, "not in /proc/kallsyms");
				else if (listed(names, banned, n, v->func))
					note(kt, i, v, "on the kprobe blacklist");
				else
					kt->loadable[i][j] = true;
				break;
			case TRACEPOINT:
				snprintf(tp, sizeof(tp), "btf_trace_%s", v->func);
				nargs = tracepoint_nargs(btf, tp);
				if (nargs < 0)
					note(kt, i, v, "no such tracepoint in the kernel's BTF");
				else if (nargs != (int)v->nargs)
					note(kt, i, v, "the kernel's event has %d arguments, not %u",
					     nargs, v->nargs);
				else
					kt->loadable[i][j] = true;
				break;
			case NONE:
				break;
			}
		}
	}
	kt->load_returns_errno = load_returns_errno(btf);
	btf__free(btf);
	return 0;
}

static struct bpf_program *prog(const struct kt *kt, const char *name)
{
	return name ? bpf_object__find_program_by_name(kt->skel->obj, name) : NULL;
}

static void detach(struct kt *kt)
{
	while (kt->nr_links > 0)
		bpf_link__destroy(kt->links[--kt->nr_links]);
}

/* Attach variant @j of probe @i; -errno if a program does not attach. */
static int attach(struct kt *kt, size_t i, int j)
{
	const struct variant *v = &probes[i].v[j];
	const char *names[2] = { v->entry, v->exit };

	for (int k = 0; k < 2; k++) {
		struct bpf_link *l;

		if (!names[k])
			continue;
		l = bpf_program__attach(prog(kt, names[k]));
		if (!l)
			return -errno;
		kt->links[kt->nr_links++] = l;
	}
	return 0;
}

/* Settle on the first variant of each probe that attaches. */
static void try_attach(struct kt *kt)
{
	for (size_t i = 0; i < NR_PROBES; i++) {
		kt->chosen[i] = -1;
		for (int j = 0; j < MAX_VARIANTS && kt->chosen[i] < 0; j++) {
			const struct variant *v = &probes[i].v[j];
			int err;

			if (!kt->loadable[i][j])
				continue;
			err = attach(kt, i, j);
			detach(kt);
			if (!err)
				kt->chosen[i] = j;
			else if (v->how == KPROBE && err == -EINVAL)
				note(kt, i, v, "attach failed (kprobe events refuse functions "
				     "ftrace cannot hook, unless CONFIG_KPROBE_EVENTS_ON_NOTRACE)");
			else
				note(kt, i, v, "attach failed (%s)", strerror(-err));
		}
	}
}

struct kt *kt_open(size_t max_samples)
{
	struct kt *kt = calloc(1, sizeof(*kt));
	struct bpf_program *p;
	int err;

	if (!kt) {
		set_why("out of memory");
		return NULL;
	}
	libbpf_set_print(print_libbpf);
	if (choose(kt))
		goto fail;
	kt->skel = zdedup_ktime__open();
	if (!kt->skel) {
		set_why("cannot open the BPF object: %s", strerror(errno));
		goto fail;
	}
	kt->max_samples = max_samples;
	kt->skel->rodata->targ_tgid = getpid();
	kt->skel->rodata->max_samples = max_samples;
	kt->skel->rodata->load_returns_errno = kt->load_returns_errno;
	bpf_map__set_max_entries(kt->skel->maps.samples, max_samples);
	/* Load the loadable variants only: the others would not verify. */
	bpf_object__for_each_program(p, kt->skel->obj)
		bpf_program__set_autoload(p, false);
	for (size_t i = 0; i < NR_PROBES; i++)
		for (int j = 0; j < MAX_VARIANTS; j++) {
			const struct variant *v = &probes[i].v[j];

			if (!kt->loadable[i][j])
				continue;
			bpf_program__set_autoload(prog(kt, v->entry), true);
			if (v->exit)
				bpf_program__set_autoload(prog(kt, v->exit), true);
		}
	err = zdedup_ktime__load(kt->skel);
	if (err) {
		set_why("cannot load the BPF programs: %s", strerror(-err));
		goto fail;
	}
	kt->map_len = (max_samples * sizeof(uint64_t) + 4095) & ~4095UL;
	kt->samples = mmap(NULL, kt->map_len, PROT_READ, MAP_SHARED,
			   bpf_map__fd(kt->skel->maps.samples), 0);
	if (kt->samples == MAP_FAILED) {
		kt->samples = NULL;
		set_why("cannot mmap the sample array: %s", strerror(errno));
		goto fail;
	}
	/* libbpf's messages would only repeat the notes. */
	quiet = true;
	try_attach(kt);
	quiet = false;
	for (size_t i = 0; i < NR_PROBES; i++)
		if (probes[i].required && kt->chosen[i] < 0) {
			set_why("%s cannot be timed: %s", probes[i].what, kt->note[i]);
			goto fail;
		}
	return kt;
fail:
	kt_close(kt);
	return NULL;
}

void kt_close(struct kt *kt)
{
	if (!kt)
		return;
	detach(kt);
	if (kt->samples)
		munmap((void *)kt->samples, kt->map_len);
	zdedup_ktime__destroy(kt->skel);
	free(kt);
}

/* "what":"how:function", or why not (the notes hold no quotes). */
static void print_probe(const struct kt *kt, size_t i)
{
	int j = kt->chosen[i];

	if (j >= 0)
		printf("\"%s\":\"%s:%s\"", probes[i].what,
		       how_names[probes[i].v[j].how], probes[i].v[j].func);
	else
		printf("\"%s\":\"unavailable: %s\"", probes[i].what, kt->note[i]);
}

void kt_print_info(const struct kt *kt)
{
	if (!kt) {
		printf("BENCH {\"type\":\"kernel_info\",\"available\":false,"
		       "\"reason\":\"%s\"}\n", why);
		fflush(stdout);
		return;
	}
	printf("BENCH {\"type\":\"kernel_info\",\"available\":true,"
	       "\"max_samples\":%zu,\"probes\":{", kt->max_samples);
	for (size_t i = 0; i < NR_PROBES; i++) {
		if (i)
			putchar(',');
		print_probe(kt, i);
	}
	printf("}}\n");
	fflush(stdout);
}

bool kt_has_pass(const struct kt *kt, enum kt_pass pass)
{
	bool any = false;

	if (!kt)
		return false;
	for (size_t i = 0; i < NR_PROBES; i++) {
		if (!(probes[i].passes & PASS(pass)))
			continue;
		if (probes[i].required && kt->chosen[i] < 0)
			return false;
		any |= !probes[i].required && kt->chosen[i] >= 0;
	}
	/* outer needs only the required probes; the others need their own */
	return pass == KT_PASS_OUTER || any;
}

int kt_begin(struct kt *kt, enum kt_pass pass)
{
	uint32_t tid = gettid();
	int err = 0;

	if (!kt_has_pass(kt, pass))
		return -EOPNOTSUPP;
	detach(kt);
	kt->pass = pass;
	kt->skel->bss->nr_samples = 0;
	kt->skel->bss->dropped = 0;
	bpf_map__delete_elem(kt->skel->maps.tasks, &tid, sizeof(tid), 0);
	for (size_t i = 0; i < NR_PROBES; i++) {
		if (!(probes[i].passes & PASS(pass)) || kt->chosen[i] < 0)
			continue;
		err = attach(kt, i, kt->chosen[i]);
		if (err) {
			fprintf(stderr, "ktime: %s of %s: attach failed (%s)\n",
				probes[i].what, probes[i].v[kt->chosen[i]].func,
				strerror(-err));
			detach(kt);
			break;
		}
	}
	return err;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* The value at quantile @q of sorted @v (linear interpolation). */
static double quantile(const uint64_t *v, size_t n, double q)
{
	double pos = q * (n - 1);
	size_t lo = (size_t)pos;

	if (lo + 1 >= n)
		return v[n - 1];
	return v[lo] + (pos - lo) * (double)(v[lo + 1] - v[lo]);
}

int kt_end(struct kt *kt)
{
	size_t count[KT_NR_KINDS] = { 0 }, at[KT_NR_KINDS] = { 0 }, off = 0;
	uint64_t *sorted;

	detach(kt);
	memset(kt->sum, 0, sizeof(kt->sum));
	kt->taken = kt->skel->bss->nr_samples;
	if (kt->taken > kt->max_samples)
		kt->taken = kt->max_samples;
	kt->dropped = kt->skel->bss->dropped;
	for (size_t i = 0; i < kt->taken; i++) {
		unsigned int k = kt->samples[i] >> KT_KIND_SHIFT;

		if (k < KT_NR_KINDS)
			count[k]++;
	}
	sorted = malloc((kt->taken + 1) * sizeof(*sorted));
	if (!sorted)
		return -ENOMEM;
	/* Group the samples by kind (counting sort), then sort each group. */
	for (int k = 0; k < KT_NR_KINDS; k++) {
		at[k] = off;
		off += count[k];
	}
	for (size_t i = 0; i < kt->taken; i++) {
		unsigned int k = kt->samples[i] >> KT_KIND_SHIFT;

		if (k < KT_NR_KINDS)
			sorted[at[k]++] = kt->samples[i] & KT_NS_MASK;
	}
	off = 0;
	for (int k = 0; k < KT_NR_KINDS; k++) {
		uint64_t *v = sorted + off;
		struct summary *s = &kt->sum[k];
		double total = 0;

		off += count[k];
		if (!count[k])
			continue;
		qsort(v, count[k], sizeof(*v), cmp_u64);
		for (size_t i = 0; i < count[k]; i++)
			total += v[i];
		s->n = count[k];
		s->mean = total / count[k];
		s->median = quantile(v, count[k], 0.5);
		s->p10 = quantile(v, count[k], 0.1);
		s->p90 = quantile(v, count[k], 0.9);
	}
	free(sorted);
	return 0;
}

void kt_print(const struct kt *kt, const char *ids)
{
	bool first = true;

	printf("BENCH {\"type\":\"kernel\",%s,\"pass\":\"%s\",\"samples\":%zu,"
	       "\"dropped\":%zu,\"stats\":{", ids, kt_pass_name(kt->pass),
	       kt->taken, kt->dropped);
	for (int k = 0; k < KT_NR_KINDS; k++) {
		const struct summary *s = &kt->sum[k];

		if (!s->n)
			continue;
		printf("%s\"%s\":{\"n\":%zu,\"median\":%.1f,\"mean\":%.1f,"
		       "\"p10\":%.1f,\"p90\":%.1f}", first ? "" : ",",
		       kind_names[k], s->n, s->median, s->mean, s->p10, s->p90);
		first = false;
	}
	printf("}}\n");
	fflush(stdout);
}

int kt_calibrate(struct kt *kt, int calls, const char *ids)
{
	static const enum kt_pass passes[] = { KT_PASS_CALIB_FENTRY, KT_PASS_CALIB_KPROBE };

	for (size_t p = 0; p < 2; p++) {
		if (!kt_has_pass(kt, passes[p]))
			continue;
		if (kt_begin(kt, passes[p]))
			return -1;
		for (int i = 0; i < calls; i++)
			syscall(SYS_getpid);
		if (kt_end(kt))
			return -1;
		kt_print(kt, ids);
	}
	return 0;
}

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * estimate: the table of page hashes, and counting duplicates by domain.
 *
 * Every non-zero page read becomes a record (xxh64 of its content, its
 * cgroup).  Duplicates of a domain are its pages less its distinct
 * contents; after the scan, sorting the records by (domain, hash) counts
 * the distinct contents of every cgroup, every tenant domain and the host
 * in one pass each.
 *
 * The table holds at most --max-pages records.  When it is full it keeps
 * only pages whose hash has one more low zero bit, drops the others, and
 * goes on with that sample.  Sampling by content keeps every copy of a
 * content or none, so the sample's duplicate fraction estimates the
 * whole's without bias; its duplicate counts are scaled up by 2^shift.
 * Page and zero-page counts stay exact.
 *
 * A physical page mapped by several processes (after fork) or several
 * times is one page to zswap; so is a swap entry.  est_seen() remembers
 * the PFNs and swap entries counted, in an open-addressing set that holds
 * at least --max-pages of them, at most half full; once that is reached,
 * further pages are no longer matched by PFN (the output says so).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "estimate.h"

int est_table_init(struct est *e)
{
	size_t cap = 64;

	e->recs = calloc(e->max_pages, sizeof(*e->recs));
	while (cap < e->max_pages * 2 && cap < ((size_t)1 << 40))
		cap <<= 1;
	e->seen_cap = cap;
	e->seen = calloc(cap, sizeof(*e->seen));
	if (!e->recs || !e->seen) {
		est_table_free(e);
		return -ENOMEM;
	}
	return 0;
}

void est_table_free(struct est *e)
{
	free(e->recs);
	free(e->seen);
	e->recs = NULL;
	e->seen = NULL;
}

static bool in_sample(__u64 hash, unsigned int shift)
{
	return !(hash & ((1ULL << shift) - 1));
}

void est_table_add(struct est *e, __u64 hash, __u32 cg)
{
	if (!in_sample(hash, e->shift))
		return;
	while (e->nr_recs == e->max_pages) {
		size_t n = 0;

		if (e->shift == 63)
			return;		/* only pathological hashes get here */
		e->shift++;
		for (size_t i = 0; i < e->nr_recs; i++)
			if (in_sample(e->recs[i].hash, e->shift))
				e->recs[n++] = e->recs[i];
		e->nr_recs = n;
		if (!in_sample(hash, e->shift))
			return;
	}
	e->recs[e->nr_recs].hash = hash;
	e->recs[e->nr_recs].cg = cg;
	e->nr_recs++;
}

/* A 64-bit mix (splitmix64's finalizer): PFNs are dense, slots must not be. */
static __u64 mix(__u64 x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

bool est_seen(struct est *e, __u64 key)
{
	size_t mask = e->seen_cap - 1, i;

	key++;			/* 0 marks a free slot */
	for (i = mix(key) & mask; e->seen[i]; i = (i + 1) & mask)
		if (e->seen[i] == key)
			return true;
	if (e->nr_seen >= e->seen_cap / 2) {	/* >= max_pages: stop there */
		e->pfn_set_full = true;
		return false;
	}
	e->seen[i] = key;
	e->nr_seen++;
	return false;
}

/* Sort key of a record: its domain, then its hash. */
struct keyed {
	__u64 domain;
	__u64 hash;
};

static int cmp_keyed(const void *a, const void *b)
{
	const struct keyed *x = a, *y = b;

	if (x->domain != y->domain)
		return x->domain < y->domain ? -1 : 1;
	if (x->hash != y->hash)
		return x->hash < y->hash ? -1 : 1;
	return 0;
}

enum by { BY_CGROUP, BY_TENANT, BY_HOST };

/*
 * The kernel's built-in policy does not merge the pages of the root
 * cgroup (every task outside a cgroup would share one domain): in a
 * cgroup's own domain, each of its pages stands alone.
 */
static bool merged_by_default(const struct est *e, __u32 cg)
{
	return strcmp(e->cg[cg].path, "/") != 0;
}

/* The domain of cgroup @cg: itself, its tenant domain, or the host. */
static __u64 domain_of(const struct est *e, __u32 cg, enum by by)
{
	switch (by) {
	case BY_CGROUP:
		return cg;
	case BY_TENANT:
		/* A group's domain, or the cgroup's own (private) one. */
		if (e->cg[cg].group >= 0)
			return e->cg[cg].group;
		return EST_MAX_GROUPS + (__u64)cg;
	default:
		return 0;
	}
}

/* Sort @k by domain and hash; add each domain's sampled and distinct
 * counts to @out[domain] (NULL: skip) and all of them to @total. */
static void count(struct keyed *k, size_t n, struct est_count *(*out)(struct est *, __u64),
		  struct est *e, struct est_count *total)
{
	qsort(k, n, sizeof(*k), cmp_keyed);
	for (size_t i = 0; i < n; i++) {
		bool first = !i || k[i].domain != k[i - 1].domain ||
			     k[i].hash != k[i - 1].hash;
		struct est_count *c = out ? out(e, k[i].domain) : NULL;

		if (c) {
			c->sampled++;
			c->distinct += first;
		}
		total->sampled++;
		total->distinct += first;
	}
}

static struct est_count *cgroup_count(struct est *e, __u64 d)
{
	return &e->cg[d].c;
}

static struct est_count *tenant_count(struct est *e, __u64 d)
{
	return d < EST_MAX_GROUPS ? &e->groups[d].c : NULL;
}

void est_group_by(struct est *e)
{
	struct keyed *k = malloc((e->nr_recs ? e->nr_recs : 1) * sizeof(*k));
	static const enum by bys[] = { BY_CGROUP, BY_TENANT, BY_HOST };

	memset(&e->memcg, 0, sizeof(e->memcg));
	memset(&e->tenant, 0, sizeof(e->tenant));
	memset(&e->host, 0, sizeof(e->host));
	/* Exact page counts: per cgroup as scanned, summed for every domain. */
	for (size_t i = 0; i < e->nr_cg; i++) {
		struct est_count *c = &e->cg[i].c;
		int g = e->cg[i].group;

		c->sampled = c->distinct = 0;
		if (g >= 0) {
			e->groups[g].c.pages += c->pages;
			e->groups[g].c.zero += c->zero;
		}
		e->memcg.pages += c->pages;
		e->memcg.zero += c->zero;
		e->swapped_total += e->cg[i].swapped;
		e->unreadable_total += e->cg[i].unreadable;
	}
	e->tenant.pages = e->host.pages = e->memcg.pages;
	e->tenant.zero = e->host.zero = e->memcg.zero;
	if (!k)
		return;		/* cannot happen for sizes calloc()ed before */
	for (size_t b = 0; b < sizeof(bys) / sizeof(bys[0]); b++) {
		for (size_t i = 0; i < e->nr_recs; i++) {
			__u32 cg = e->recs[i].cg;
			bool own = bys[b] == BY_CGROUP ||
				   (bys[b] == BY_TENANT && e->cg[cg].group < 0);

			k[i].domain = domain_of(e, cg, bys[b]);
			/* a distinct key for each page the kernel keeps apart */
			k[i].hash = own && !merged_by_default(e, cg) ?
				    i : e->recs[i].hash;
		}
		if (bys[b] == BY_CGROUP)
			count(k, e->nr_recs, cgroup_count, e, &e->memcg);
		else if (bys[b] == BY_TENANT)
			count(k, e->nr_recs, tenant_count, e, &e->tenant);
		else
			count(k, e->nr_recs, NULL, e, &e->host);
	}
	free(k);
}

unsigned long long est_dups(const struct est *e, const struct est_count *c)
{
	return (c->sampled - c->distinct) << e->shift;
}

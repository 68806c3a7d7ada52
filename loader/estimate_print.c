/* SPDX-License-Identifier: GPL-2.0 */
/*
 * estimate: the result as text or as one JSON document.
 *
 * Duplicates are pages less distinct contents, zero pages left out (the
 * swap core keeps zero-filled pages out of zswap on stock Linux); their
 * percent is of the non-zero pages read, the pages zswap would store.
 */
#include <string.h>
#include "estimate.h"

static double pct(const struct est *e, const struct est_count *c)
{
	unsigned long long nz = c->pages - c->zero;

	return nz ? 100.0 * est_dups(e, c) / nz : 0;
}

static unsigned long procs_scanned(const struct est *e, unsigned long *vanished)
{
	unsigned long n = 0;

	*vanished = 0;
	for (size_t i = 0; i < e->nr_cg; i++) {
		n += e->cg[i].procs;
		*vanished += e->cg[i].vanished;
	}
	return n;
}

static void json_count(struct json *j, const struct est *e, const struct est_count *c)
{
	unsigned long long d = est_dups(e, c);

	json_u64(j, "pages", c->pages);
	json_u64(j, "zero_pages", c->zero);
	json_u64(j, "duplicate_pages", d);
	json_u64(j, "duplicate_bytes", d * e->page_size);
	json_double(j, "duplicate_percent", pct(e, c));
}

void est_print_json(const struct est *e)
{
	unsigned long vanished, procs = procs_scanned(e, &vanished);
	struct json j;

	json_begin(&j, stdout);
	json_obj_open(&j, NULL);
	json_u64(&j, "page_size", e->page_size);
	json_u64(&j, "processes", procs);
	json_u64(&j, "processes_vanished", vanished);
	json_u64(&j, "pages", e->host.pages);
	json_u64(&j, "zero_pages", e->host.zero);
	json_u64(&j, "swapped_pages", e->swapped_total);
	json_bool(&j, "swapped_read", e->include_swapped);
	json_u64(&j, "unreadable_pages", e->unreadable_total);
	json_u64(&j, "shared_mappings", e->shared_mapped);
	json_bool(&j, "pfn_matched", e->pfn_known && !e->pfn_set_full);
	json_double(&j, "seconds", e->elapsed);
	json_u64(&j, "max_pages", e->max_pages);
	json_bool(&j, "sampled", e->shift > 0);
	json_double(&j, "sample_rate", 1.0 / (1ULL << e->shift));
	json_bool(&j, "partial", e->partial);
	if (e->partial)
		json_str(&j, "partial_reason", e->partial_why);
	else
		json_null(&j, "partial_reason");

	json_obj_open(&j, "domains");
	json_obj_open(&j, "memcg");
	json_count(&j, e, &e->memcg);
	json_obj_close(&j);
	if (e->nr_groups) {
		json_obj_open(&j, "tenant");
		json_count(&j, e, &e->tenant);
		json_obj_close(&j);
	} else {
		json_null(&j, "tenant");
	}
	json_obj_open(&j, "host");
	json_count(&j, e, &e->host);
	json_obj_close(&j);
	json_obj_close(&j);

	json_arr_open(&j, "cgroups");
	for (size_t i = 0; i < e->nr_cg; i++) {
		const struct est_cgroup *c = &e->cg[i];

		if (!c->procs)
			continue;
		json_obj_open(&j, NULL);
		json_str(&j, "cgroup", c->path);
		json_u64(&j, "processes", c->procs);
		json_u64(&j, "processes_vanished", c->vanished);
		json_count(&j, e, &c->c);
		json_u64(&j, "swapped_pages", c->swapped);
		json_u64(&j, "unreadable_pages", c->unreadable);
		if (c->group >= 0)
			json_u64(&j, "group", c->group + 1);
		else
			json_null(&j, "group");
		json_obj_close(&j);
	}
	json_arr_close(&j);

	json_arr_open(&j, "groups");
	for (int g = 0; g < e->nr_groups; g++) {
		const struct est_group *gr = &e->groups[g];

		json_obj_open(&j, NULL);
		json_u64(&j, "group", g + 1);
		json_arr_open(&j, "members");
		for (int m = 0; m < gr->nr_members; m++)
			json_str(&j, NULL, gr->members[m]);
		json_arr_close(&j);
		json_count(&j, e, &gr->c);
		json_obj_close(&j);
	}
	json_arr_close(&j);
	json_obj_close(&j);
	json_end(&j);
}

/* "12.3 MiB" */
static const char *mib(const struct est *e, unsigned long long pages, char *buf,
		       size_t size)
{
	snprintf(buf, size, "%.1f MiB", (double)pages * e->page_size / (1 << 20));
	return buf;
}

static void text_row(const struct est *e, const char *name, unsigned long procs,
		     const struct est_count *c, unsigned long long swapped)
{
	char b[32];
	unsigned long long d = est_dups(e, c);

	printf("%-32s %6lu %10llu %9llu %10llu %11s %6.1f%% %9llu\n", name, procs,
	       c->pages, c->zero, d, mib(e, d, b, sizeof(b)), pct(e, c), swapped);
}

void est_print_text(const struct est *e)
{
	unsigned long vanished, procs = procs_scanned(e, &vanished);
	char b[32], name[600];
	struct {
		const char *what;
		const struct est_count *c;
	} dom[] = {
		{ "per cgroup (built-in policy)", &e->memcg },
		{ "tenant groups (--group)", e->nr_groups ? &e->tenant : NULL },
		{ "host (what KSM could merge)", &e->host },
	};

	printf("%lu processes in %zu cgroups: %llu pages read (%s) in %.1f s\n", procs,
	       e->nr_cg, e->host.pages, mib(e, e->host.pages, b, sizeof(b)), e->elapsed);
	if (e->partial)
		printf("PARTIAL: %s\n", e->partial_why);
	if (e->shift)
		printf("sampled: the table holds at most %llu pages (--max-pages); 1 content "
		       "in %llu was kept and duplicates are scaled up by that\n",
		       e->max_pages, 1ULL << e->shift);
	printf("\n%-32s %6s %10s %9s %10s %11s %7s %9s\n", "cgroup", "procs", "pages", "zero",
	       "duplicates", "", "%", "swapped");
	for (size_t i = 0; i < e->nr_cg; i++) {
		const struct est_cgroup *c = &e->cg[i];

		if (c->procs)
			text_row(e, c->path, c->procs, &c->c, c->swapped);
	}
	for (int g = 0; g < e->nr_groups; g++) {
		unsigned long n = 0;
		unsigned long long sw = 0;

		for (size_t i = 0; i < e->nr_cg; i++)
			if (e->cg[i].group == g) {
				n += e->cg[i].procs;
				sw += e->cg[i].swapped;
			}
		snprintf(name, sizeof(name), "group %d: %s", g + 1, e->groups[g].spec);
		text_row(e, name, n, &e->groups[g].c, sw);
	}

	printf("\n%-32s %10s %11s %21s\n", "domain", "duplicates", "", "% of non-zero pages");
	for (size_t i = 0; i < sizeof(dom) / sizeof(dom[0]); i++) {
		unsigned long long d;

		if (!dom[i].c) {
			printf("%-32s (give --group A,B to see a tenant policy's)\n",
			       dom[i].what);
			continue;
		}
		d = est_dups(e, dom[i].c);
		printf("%-32s %10llu %11s %20.1f%%\n", dom[i].what, d,
		       mib(e, d, b, sizeof(b)), pct(e, dom[i].c));
	}
	printf("\nzero pages: %llu (%.1f%% of the pages read; stock zswap stores none of "
	       "them)\n", e->host.zero,
	       e->host.pages ? 100.0 * e->host.zero / e->host.pages : 0);
	if (e->include_swapped)
		printf("pages in swap: %llu, read (and so faulted back in)\n",
		       e->swapped_total);
	else
		printf("pages in swap: %llu, not read (--include-swapped reads them)\n",
		       e->swapped_total);
	if (e->unreadable_total)
		printf("pages the kernel would not let us read: %llu\n", e->unreadable_total);
	if (!e->pfn_known)
		printf("note: pagemap gave no page frame numbers: a page several processes "
		       "map may count once for each\n");
	else if (e->pfn_set_full)
		printf("note: beyond --max-pages pages, a page several processes map may "
		       "count once for each\n");
}

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * status: the three ways of printing it.
 *
 *   text          for people: the policy, who attached it, the counters,
 *                 one row per cgroup
 *   --json        one JSON document with the same content, for machines
 *   --prometheus  node_exporter's textfile format, one metric family per
 *                 figure, labelled by cgroup path, so that fleets can graph
 *                 the savings per cgroup
 */
#include <string.h>
#include <time.h>
#include "status.h"

static const char *state_name(const struct zdedup_adaptive_state *s)
{
	return s->backoff_left > 0 ? "backoff" : "on";
}

static void hit_pct(char *buf, size_t size, __u64 shared, __u64 hashed)
{
	if (hashed)
		snprintf(buf, size, "%.1f%%", 100.0 * shared / hashed);
	else
		copy_str(buf, size, "-");
}

/* 1536 -> "1.5K": bytes for a column. */
static void human(char *buf, size_t size, unsigned long long v, bool ok)
{
	static const char units[] = "KMGTPE";
	double d = v;
	int u = -1;

	if (!ok) {
		copy_str(buf, size, "-");
		return;
	}
	while (d >= 1024 && u < 5) {
		d /= 1024;
		u++;
	}
	if (u < 0)
		snprintf(buf, size, "%llu", v);
	else
		snprintf(buf, size, "%.1f%c", d, units[u]);
}

static void mode_text(char *buf, size_t size, const struct row *row,
		      bool have_pol_map)
{
	if (!row->has_pol)
		copy_str(buf, size, have_pol_map ? "private*" : "-");
	else if (row->pol.mode == ZDEDUP_MODE_GROUP)
		snprintf(buf, size, "group %u%s", row->pol.group, row->inherited ? "*" : "");
	else
		snprintf(buf, size, "%s%s", mode_name(row->pol.mode),
			 row->inherited ? "*" : "");
}

static void print_policy_text(const struct status *s)
{
	const struct live *l = &s->l;
	const struct attached *a = &l->a;

	if (!a->attached) {
		printf("policy:         builtin (per-memcg; no BPF policy attached)\n");
	} else {
		printf("policy:         %s\n", a->name);
		if (l->ours && !l->info_err) {
			char when[64];
			time_t t = l->info.loaded_at;

			strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", localtime(&t));
			printf("loaded from:    %s%s%s, at %s\n", l->info.source,
			       l->info.options[0] ? " " : "", l->info.options, when);
		} else if (!l->ours) {
			printf("loaded by:      another tool, not zdedup-loader\n");
		}
		if (a->link_id)
			printf("attached by:    link id %u, struct_ops map id %u\n",
			       a->link_id, a->map_id);
		else if (a->legacy)
			printf("attached by:    struct_ops map id %u (no link)\n", a->map_id);
	}
	if (l->stale) {
		char why[512];

		live_describe_stale(l, why, sizeof(why));
		printf("stale pins:     %s; not trusted ('unload' removes them)\n", why);
	}
	printf("dedup_enabled:  %s\n", s->enabled);
}

static void print_counters_text(const struct status *s)
{
	if (!s->nc) {
		printf("counters:       unavailable (%s missing: mount debugfs, as root)\n",
		       DEBUGFS_ZSWAP);
	} else {
		printf("counters (%s):\n", DEBUGFS_ZSWAP);
		for (size_t i = 0; i < s->nc; i++)
			printf("  %-24s %llu\n", s->c[i].name, s->c[i].val);
	}
	if (s->vm.ok) {
		printf("vmstat:         zswpout %llu, zswpin %llu", s->vm.zswpout,
		       s->vm.zswpin);
		if (s->vm.has_dedup)
			printf(", zswpout_dedup %llu", s->vm.zswpout_dedup);
		printf("\n");
	}
}

void status_print_text(const struct status *s)
{
	const struct rows *r = &s->r;
	bool adaptive = r->have_state_map && !r->have_stats_map;
	bool policy_cols = r->have_stats_map || r->have_state_map;

	print_policy_text(s);
	print_counters_text(s);
	if (!r->n)
		return;
	printf("cgroups:\n");
	printf("  %-8s %-32s %-10s", "ID", "PATH", adaptive ? "STATE" : "MODE");
	if (policy_cols)
		printf(" %10s %10s %7s %10s", "HASHED", "SHARED", "HIT", "SKIPPED");
	if (adaptive)
		printf(" %8s", "BACKOFFS");
	printf(" %9s %9s %10s\n", "ZSWAPPED", "ZSWAP", "DEDUP_OUT");
	for (size_t i = 0; i < r->n; i++) {
		const struct row *row = &r->v[i];
		const char *path = row->exists ? row->path : "(gone)";
		char hit[16], mode[32], zd[16], zs[16], dd[24];
		__u64 hashed = adaptive ? row->as.hashed : row->st.hashed;
		__u64 shared = adaptive ? row->as.shared : row->st.shared;
		__u64 skipped = adaptive ? row->as.skipped : row->st.skipped;

		if (adaptive)
			copy_str(mode, sizeof(mode), row->has_state ? state_name(&row->as) : "-");
		else
			mode_text(mode, sizeof(mode), row, r->have_pol_map);
		printf("  %-8llu %-32s %-10s", (unsigned long long)row->id, path, mode);
		if (policy_cols && (adaptive ? row->has_state : row->has_stats)) {
			hit_pct(hit, sizeof(hit), shared, hashed);
			printf(" %10llu %10llu %7s %10llu", (unsigned long long)hashed,
			       (unsigned long long)shared, hit, (unsigned long long)skipped);
		} else if (policy_cols) {
			printf(" %10s %10s %7s %10s", "-", "-", "-", "-");
		}
		if (adaptive && row->has_state)
			printf(" %8llu", (unsigned long long)row->as.backoffs);
		else if (adaptive)
			printf(" %8s", "-");
		human(zd, sizeof(zd), row->ms.zswapped, row->ms.ok);
		human(zs, sizeof(zs), row->ms.zswap, row->ms.ok);
		if (row->ms.ok && row->ms.has_dedup)
			snprintf(dd, sizeof(dd), "%llu", row->ms.zswpout_dedup);
		else
			copy_str(dd, sizeof(dd), "-");
		printf(" %9s %9s %10s\n", zd, zs, dd);
	}
	if (!adaptive && r->have_pol_map)
		printf("  (* inherited from an ancestor, or the default)\n");
	printf("  (ZSWAPPED, ZSWAP, DEDUP_OUT: memory.stat zswapped, zswap and "
	       "zswpout_dedup, which include descendants)\n");
}

static void row_json(struct json *j, const struct rows *r, const struct row *row)
{
	json_obj_open(j, NULL);
	json_u64(j, "id", row->id);
	if (row->exists)
		json_str(j, "path", row->path);
	else
		json_null(j, "path");
	if (row->has_pol) {
		json_str(j, "mode", mode_name(row->pol.mode));
		if (row->pol.mode == ZDEDUP_MODE_GROUP)
			json_u64(j, "group", row->pol.group);
		json_bool(j, "inherited", row->inherited);
	} else if (r->have_pol_map) {
		json_str(j, "mode", "private");
		json_bool(j, "inherited", true);
	}
	if (row->has_stats) {
		json_u64(j, "hashed", row->st.hashed);
		json_u64(j, "shared", row->st.shared);
		json_u64(j, "skipped", row->st.skipped);
	}
	if (row->has_state) {
		json_str(j, "state", state_name(&row->as));
		json_u64(j, "hashed", row->as.hashed);
		json_u64(j, "shared", row->as.shared);
		json_u64(j, "skipped", row->as.skipped);
		json_u64(j, "backoffs", row->as.backoffs);
		json_u64(j, "backoff_left",
			 row->as.backoff_left > 0 ? row->as.backoff_left : 0);
		json_u64(j, "window_hashed", row->as.window_hashed);
		json_u64(j, "window_shared", row->as.window_shared);
	}
	if (row->ms.ok) {
		json_u64(j, "zswapped_bytes", row->ms.zswapped);
		json_u64(j, "zswap_bytes", row->ms.zswap);
		json_u64(j, "zswpout", row->ms.zswpout);
		if (row->ms.has_dedup)
			json_u64(j, "zswpout_dedup", row->ms.zswpout_dedup);
	}
	json_obj_close(j);
}

void status_print_json(const struct status *s)
{
	const struct live *l = &s->l;
	const struct attached *a = &l->a;
	bool info = l->ours && !l->info_err;
	struct json j;

	json_begin(&j, stdout);
	json_obj_open(&j, NULL);

	json_obj_open(&j, "policy");
	json_bool(&j, "attached", a->attached);
	json_str(&j, "name", a->attached ? a->name : "builtin");
	json_bool(&j, "loader", a->attached && l->ours);
	if (a->attached && info) {
		json_str(&j, "source", l->info.source);
		json_str(&j, "options", l->info.options);
		json_u64(&j, "loaded_at", l->info.loaded_at);
	}
	if (a->link_id)
		json_u64(&j, "link_id", a->link_id);
	if (a->map_id)
		json_u64(&j, "map_id", a->map_id);
	json_bool(&j, "legacy_attach", a->legacy);
	json_obj_close(&j);

	json_bool(&j, "stale_pins", l->stale);
	if (l->stale) {
		char why[512];

		live_describe_stale(l, why, sizeof(why));
		json_str(&j, "stale_reason", why);
	}
	if (!strcmp(s->enabled, "Y") || !strcmp(s->enabled, "N"))
		json_bool(&j, "dedup_enabled", s->enabled[0] == 'Y');
	else
		json_null(&j, "dedup_enabled");

	if (s->nc) {
		json_obj_open(&j, "counters");
		for (size_t i = 0; i < s->nc; i++)
			json_u64(&j, s->c[i].name, s->c[i].val);
		json_obj_close(&j);
	} else {
		json_null(&j, "counters");
	}
	if (s->vm.ok) {
		json_obj_open(&j, "vmstat");
		json_u64(&j, "zswpout", s->vm.zswpout);
		json_u64(&j, "zswpin", s->vm.zswpin);
		if (s->vm.has_dedup)
			json_u64(&j, "zswpout_dedup", s->vm.zswpout_dedup);
		json_obj_close(&j);
	}

	json_arr_open(&j, "cgroups");
	for (size_t i = 0; i < s->r.n; i++)
		row_json(&j, &s->r, &s->r.v[i]);
	json_arr_close(&j);

	json_obj_close(&j);
	json_end(&j);
}

/* A label value: backslash, double quote and newline escaped. */
static void prom_label(const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			printf("\\%c", *s);
		else if (*s == '\n')
			printf("\\n");
		else
			putchar(*s);
	}
}

static void prom_family(const char *name, const char *type, const char *help)
{
	printf("# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* One family of per-cgroup samples, from the rows that have the figure. */
static void prom_cgroups(const struct rows *r, const char *name, const char *type,
			 const char *help, bool (*get)(const struct row *,
						       unsigned long long *))
{
	bool any = false;

	for (size_t i = 0; i < r->n; i++) {
		const struct row *row = &r->v[i];
		unsigned long long v;

		if (!row->exists || !get(row, &v))
			continue;
		if (!any)
			prom_family(name, type, help);
		any = true;
		printf("%s{cgroup=\"", name);
		prom_label(row->path);
		printf("\"} %llu\n", v);
	}
}

#define ROW_GETTER(fn, cond, expr)					\
static bool fn(const struct row *row, unsigned long long *v)		\
{									\
	if (!(cond))							\
		return false;						\
	*v = (expr);							\
	return true;							\
}
ROW_GETTER(get_zswapped, row->ms.ok, row->ms.zswapped)
ROW_GETTER(get_zswap, row->ms.ok, row->ms.zswap)
ROW_GETTER(get_zswpout, row->ms.ok, row->ms.zswpout)
ROW_GETTER(get_zswpout_dedup, row->ms.ok && row->ms.has_dedup, row->ms.zswpout_dedup)
ROW_GETTER(get_hashed, row->has_stats || row->has_state,
	   row->has_stats ? row->st.hashed : row->as.hashed)
ROW_GETTER(get_shared, row->has_stats || row->has_state,
	   row->has_stats ? row->st.shared : row->as.shared)
ROW_GETTER(get_skipped, row->has_stats || row->has_state,
	   row->has_stats ? row->st.skipped : row->as.skipped)
ROW_GETTER(get_group, row->has_pol, row->pol.mode == ZDEDUP_MODE_GROUP ?
	   row->pol.group : 0)

void status_print_prometheus(const struct status *s)
{
	const struct attached *a = &s->l.a;

	prom_family("zdedup_policy_info", "gauge",
		    "The zswap dedup policy attached (always 1; see the labels).");
	printf("zdedup_policy_info{policy=\"");
	prom_label(a->attached ? a->name : "builtin");
	printf("\",loader=\"%s\",source=\"", s->l.ours ? "zdedup-loader" :
	       a->attached ? "other" : "none");
	prom_label(s->l.ours && !s->l.info_err ? s->l.info.source : "");
	printf("\"} 1\n");
	prom_family("zdedup_stale_pins", "gauge",
		    "1 when the pins in " ZDEDUP_PIN_DIR " are not the attached policy.");
	printf("zdedup_stale_pins %d\n", s->l.stale);
	if (!strcmp(s->enabled, "Y") || !strcmp(s->enabled, "N")) {
		prom_family("zdedup_enabled", "gauge",
			    "1 when zswap deduplication is enabled (dedup_enabled).");
		printf("zdedup_enabled %d\n", s->enabled[0] == 'Y');
	}
	for (size_t i = 0; i < s->nc; i++) {
		char name[96], help[160];

		snprintf(name, sizeof(name), "zdedup_zswap_%s", s->c[i].name);
		for (char *c = name; *c; c++)
			if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
			      (*c >= '0' && *c <= '9') || *c == '_'))
				*c = '_';
		snprintf(help, sizeof(help), "%s/%s.", DEBUGFS_ZSWAP, s->c[i].name);
		prom_family(name, "untyped", help);
		printf("%s %llu\n", name, s->c[i].val);
	}
	if (s->vm.ok && s->vm.has_dedup) {
		prom_family("zdedup_vmstat_zswpout_dedup_pages_total", "counter",
			    "Pages zswap stored by sharing an identical copy (/proc/vmstat).");
		printf("zdedup_vmstat_zswpout_dedup_pages_total %llu\n", s->vm.zswpout_dedup);
	}
	if (s->vm.ok) {
		prom_family("zdedup_vmstat_zswpout_pages_total", "counter",
			    "Pages stored in zswap (/proc/vmstat zswpout).");
		printf("zdedup_vmstat_zswpout_pages_total %llu\n", s->vm.zswpout);
	}
	prom_cgroups(&s->r, "zdedup_cgroup_zswapped_bytes", "gauge",
		     "Bytes of the cgroup's pages in zswap (memory.stat zswapped; "
		     "includes descendants).", get_zswapped);
	prom_cgroups(&s->r, "zdedup_cgroup_zswap_bytes", "gauge",
		     "Compressed bytes zswap holds for the cgroup (memory.stat zswap; "
		     "includes descendants).", get_zswap);
	prom_cgroups(&s->r, "zdedup_cgroup_zswpout_pages_total", "counter",
		     "Pages of the cgroup stored in zswap (memory.stat zswpout).",
		     get_zswpout);
	prom_cgroups(&s->r, "zdedup_cgroup_zswpout_dedup_pages_total", "counter",
		     "Pages of the cgroup stored by sharing an identical copy "
		     "(memory.stat zswpout_dedup).", get_zswpout_dedup);
	prom_cgroups(&s->r, "zdedup_cgroup_policy_hashed_pages_total", "counter",
		     "Pages the policy let the kernel hash (the policy's count).",
		     get_hashed);
	prom_cgroups(&s->r, "zdedup_cgroup_policy_shared_pages_total", "counter",
		     "Hashed pages merged with an identical page (the policy's count).",
		     get_shared);
	prom_cgroups(&s->r, "zdedup_cgroup_policy_skipped_pages_total", "counter",
		     "Pages the policy told the kernel not to hash (the policy's count).",
		     get_skipped);
	prom_cgroups(&s->r, "zdedup_cgroup_group", "gauge",
		     "The cgroup's dedup group under the tenant policy (0: off or "
		     "private).", get_group);
}

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * status: what is attached, whether dedup is on, the kernel's counters and
 * the policy's per-cgroup figures, as text or (--json) for machines.
 *
 * Per-cgroup rows come from whichever of the known maps the loaded policy
 * pinned (cgroup_policy, cgroup_stats, cgroup_state), joined on cgroup id;
 * ids are shown with their path when the cgroup still exists.
 */
#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <bpf/bpf.h>
#include "zdedup-loader.h"

static const char status_help[] =
"Usage: %s status [--json]\n"
"\n"
"Show the attached dedup policy, whether dedup is enabled, zswap's counters\n"
"(" DEBUGFS_ZSWAP ") and the policy's per-cgroup figures.\n"
"\n"
"  --json      one JSON document on stdout, for machines\n"
"  -h, --help  show this help\n";

struct row {
	__u64 id;
	char path[PATH_MAX];
	bool exists;
	bool has_pol, inherited;
	struct zdedup_cgroup_policy pol;
	bool has_stats;
	struct zdedup_cgroup_stats st;
	bool has_state;
	struct zdedup_adaptive_state as;
};

struct rows {
	struct row *v;
	size_t n, cap;
	int pol_fd;
	bool have_pol_map;		/* the policy has a cgroup_policy map */
};

static struct row *row_get(struct rows *r, __u64 id)
{
	for (size_t i = 0; i < r->n; i++)
		if (r->v[i].id == id)
			return &r->v[i];
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 32;
		struct row *v = realloc(r->v, cap * sizeof(*v));

		if (!v)
			return NULL;
		r->v = v;
		r->cap = cap;
	}
	memset(&r->v[r->n], 0, sizeof(r->v[0]));
	r->v[r->n].id = id;
	return &r->v[r->n++];
}

/* Open pinned map @name if it has the expected key and value sizes. */
static int open_known(const char *name, __u32 value_size)
{
	struct bpf_map_info mi = {};
	__u32 len = sizeof(mi);
	int fd = pin_open_map(name);

	if (fd < 0)
		return -1;
	if (bpf_map_get_info_by_fd(fd, &mi, &len) || mi.key_size != sizeof(__u64) ||
	    mi.value_size != value_size) {
		warn("%s/%s does not have the layout of include/zdedup.h: not shown",
		     ZDEDUP_PIN_DIR, name);
		close(fd);
		return -1;
	}
	return fd;
}

/* Read every entry of a cgroup-keyed map into the rows: the value to the
 * row's member at @val_off, and true to its flag at @flag_off. */
static void read_map(struct rows *r, int fd, size_t val_off, size_t flag_off,
		     size_t size)
{
	char value[sizeof(struct zdedup_adaptive_state) + 64];
	__u64 key = 0, next;
	bool first = true;

	while (!bpf_map_get_next_key(fd, first ? NULL : &key, &next)) {
		struct row *row;

		first = false;
		key = next;
		if (bpf_map_lookup_elem(fd, &key, value))
			continue;	/* deleted meanwhile */
		row = row_get(r, key);
		if (!row)
			return;
		memcpy((char *)row + val_off, value, size);
		*(bool *)((char *)row + flag_off) = true;
	}
}

/* tenant semantics for a cgroup without an entry: its nearest ancestor's. */
static void inherit(struct row *row, int pol_fd)
{
	char path[PATH_MAX], *slash;
	const char *root = cgroup_root();

	if (!row->exists)
		return;
	copy_str(path, sizeof(path), row->path);
	while ((slash = strrchr(path, '/'))) {
		char full[PATH_MAX * 2];
		struct stat st;
		__u64 id;

		if (slash == path && !path[1])
			break;		/* the root was looked at last round */
		slash[slash == path ? 1 : 0] = '\0';
		snprintf(full, sizeof(full), "%s%s", root, path);
		if (stat(full, &st))
			return;
		id = st.st_ino;
		if (!bpf_map_lookup_elem(pol_fd, &id, &row->pol)) {
			row->has_pol = row->inherited = true;
			return;
		}
	}
}

static void collect(struct rows *r)
{
	int fd;

	r->pol_fd = open_known(ZDEDUP_MAP_CGROUP_POLICY, sizeof(struct zdedup_cgroup_policy));
	r->have_pol_map = r->pol_fd >= 0;
	if (r->pol_fd >= 0)
		read_map(r, r->pol_fd, offsetof(struct row, pol),
			 offsetof(struct row, has_pol), sizeof(struct zdedup_cgroup_policy));
	fd = open_known(ZDEDUP_MAP_CGROUP_STATS, sizeof(struct zdedup_cgroup_stats));
	if (fd >= 0) {
		read_map(r, fd, offsetof(struct row, st),
			 offsetof(struct row, has_stats), sizeof(struct zdedup_cgroup_stats));
		close(fd);
	}
	fd = open_known(ZDEDUP_MAP_CGROUP_STATE, sizeof(struct zdedup_adaptive_state));
	if (fd >= 0) {
		read_map(r, fd, offsetof(struct row, as),
			 offsetof(struct row, has_state), sizeof(struct zdedup_adaptive_state));
		close(fd);
	}
	for (size_t i = 0; i < r->n; i++) {
		struct row *row = &r->v[i];

		row->exists = cgroup_path_of(row->id, row->path, sizeof(row->path));
		if (!row->has_pol && r->pol_fd >= 0)
			inherit(row, r->pol_fd);
	}
	if (r->pol_fd >= 0)
		close(r->pol_fd);
	r->pol_fd = -1;
}

static int by_path(const void *a, const void *b)
{
	const struct row *x = a, *y = b;

	if (x->exists != y->exists)
		return x->exists ? -1 : 1;
	if (x->exists)
		return strcmp(x->path, y->path);
	return x->id < y->id ? -1 : x->id > y->id;
}

/* Numeric files of DEBUGFS_ZSWAP, sorted by name. */
struct counter {
	char name[64];
	unsigned long long val;
};

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct counter *)a)->name, ((const struct counter *)b)->name);
}

static size_t read_counters(struct counter *c, size_t max)
{
	DIR *dir = opendir(DEBUGFS_ZSWAP);
	struct dirent *de;
	size_t n = 0;

	if (!dir)
		return 0;
	while ((de = readdir(dir)) && n < max) {
		char path[PATH_MAX], buf[64];

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", DEBUGFS_ZSWAP, de->d_name);
		if (read_text(path, buf, sizeof(buf)) ||
		    !parse_u64(buf, 0, ~0ULL, &c[n].val))
			continue;
		copy_str(c[n].name, sizeof(c[n].name), de->d_name);
		n++;
	}
	closedir(dir);
	qsort(c, n, sizeof(c[0]), by_name);
	return n;
}

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

static void print_text(const struct attached *a, bool have_info,
		       const struct zdedup_info *info, const char *enabled,
		       const struct counter *c, size_t nc, const struct rows *r,
		       bool tenant_rows)
{
	if (!a->attached) {
		printf("policy:         builtin (per-memcg; no BPF policy attached)\n");
	} else {
		printf("policy:         %s\n", a->name);
		if (have_info) {
			char when[64];
			time_t t = info->loaded_at;

			strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", localtime(&t));
			printf("loaded from:    %s%s%s, at %s\n", info->source,
			       info->options[0] ? " " : "", info->options, when);
		} else {
			printf("loaded by:      another tool, not zdedup-loader\n");
		}
		if (a->link_id)
			printf("attached by:    link id %u, struct_ops map id %u\n",
			       a->link_id, a->map_id);
		else if (a->legacy)
			printf("attached by:    struct_ops map id %u (no link)\n", a->map_id);
	}
	printf("dedup_enabled:  %s\n", enabled);

	if (!nc) {
		printf("counters:       unavailable (%s missing: mount debugfs, as root)\n",
		       DEBUGFS_ZSWAP);
	} else {
		printf("counters (%s):\n", DEBUGFS_ZSWAP);
		for (size_t i = 0; i < nc; i++)
			printf("  %-24s %llu\n", c[i].name, c[i].val);
	}

	if (!r->n)
		return;
	printf("cgroups:\n");
	if (tenant_rows)
		printf("  %-8s %-32s %-10s %10s %10s %7s %10s\n", "ID", "PATH", "MODE",
		       "HASHED", "SHARED", "HIT", "SKIPPED");
	else
		printf("  %-8s %-32s %-8s %10s %10s %7s %10s %8s\n", "ID", "PATH",
		       "STATE", "HASHED", "SHARED", "HIT", "SKIPPED", "BACKOFFS");
	for (size_t i = 0; i < r->n; i++) {
		const struct row *row = &r->v[i];
		const char *path = row->exists ? row->path : "(gone)";
		char hit[16], mode[32];

		if (tenant_rows) {
			mode_text(mode, sizeof(mode), row, r->have_pol_map);
			hit_pct(hit, sizeof(hit), row->st.shared, row->st.hashed);
			printf("  %-8llu %-32s %-10s %10llu %10llu %7s %10llu\n",
			       (unsigned long long)row->id, path, mode,
			       (unsigned long long)row->st.hashed,
			       (unsigned long long)row->st.shared, hit,
			       (unsigned long long)row->st.skipped);
		} else {
			hit_pct(hit, sizeof(hit), row->as.shared, row->as.hashed);
			printf("  %-8llu %-32s %-8s %10llu %10llu %7s %10llu %8llu\n",
			       (unsigned long long)row->id, path, state_name(&row->as),
			       (unsigned long long)row->as.hashed,
			       (unsigned long long)row->as.shared, hit,
			       (unsigned long long)row->as.skipped,
			       (unsigned long long)row->as.backoffs);
		}
	}
	if (tenant_rows && r->have_pol_map)
		printf("  (* inherited from an ancestor, or the default)\n");
}

static void print_json(const struct attached *a, bool have_info,
		       const struct zdedup_info *info, const char *enabled,
		       const struct counter *c, size_t nc, const struct rows *r)
{
	struct json j;

	json_begin(&j, stdout);
	json_obj_open(&j, NULL);

	json_obj_open(&j, "policy");
	json_bool(&j, "attached", a->attached);
	json_str(&j, "name", a->attached ? a->name : "builtin");
	json_bool(&j, "loader", a->attached && have_info);
	if (a->attached && have_info) {
		json_str(&j, "source", info->source);
		json_str(&j, "options", info->options);
		json_u64(&j, "loaded_at", info->loaded_at);
	}
	if (a->link_id)
		json_u64(&j, "link_id", a->link_id);
	if (a->map_id)
		json_u64(&j, "map_id", a->map_id);
	json_bool(&j, "legacy_attach", a->legacy);
	json_obj_close(&j);

	if (!strcmp(enabled, "Y") || !strcmp(enabled, "N"))
		json_bool(&j, "dedup_enabled", enabled[0] == 'Y');
	else
		json_null(&j, "dedup_enabled");

	if (nc) {
		json_obj_open(&j, "counters");
		for (size_t i = 0; i < nc; i++)
			json_u64(&j, c[i].name, c[i].val);
		json_obj_close(&j);
	} else {
		json_null(&j, "counters");
	}

	json_arr_open(&j, "cgroups");
	for (size_t i = 0; i < r->n; i++) {
		const struct row *row = &r->v[i];

		json_obj_open(&j, NULL);
		json_u64(&j, "id", row->id);
		if (row->exists)
			json_str(&j, "path", row->path);
		else
			json_null(&j, "path");
		if (row->has_pol) {
			json_str(&j, "mode", mode_name(row->pol.mode));
			if (row->pol.mode == ZDEDUP_MODE_GROUP)
				json_u64(&j, "group", row->pol.group);
			json_bool(&j, "inherited", row->inherited);
		} else if (r->have_pol_map) {
			json_str(&j, "mode", "private");
			json_bool(&j, "inherited", true);
		}
		if (row->has_stats) {
			json_u64(&j, "hashed", row->st.hashed);
			json_u64(&j, "shared", row->st.shared);
			json_u64(&j, "skipped", row->st.skipped);
		}
		if (row->has_state) {
			json_str(&j, "state", state_name(&row->as));
			json_u64(&j, "hashed", row->as.hashed);
			json_u64(&j, "shared", row->as.shared);
			json_u64(&j, "skipped", row->as.skipped);
			json_u64(&j, "backoffs", row->as.backoffs);
			json_u64(&j, "backoff_left",
				 row->as.backoff_left > 0 ? row->as.backoff_left : 0);
			json_u64(&j, "window_hashed", row->as.window_hashed);
			json_u64(&j, "window_shared", row->as.window_shared);
		}
		json_obj_close(&j);
	}
	json_arr_close(&j);

	json_obj_close(&j);
	json_end(&j);
}

int cmd_status(int argc, char **argv)
{
	struct counter counters[128];
	struct zdedup_info info;
	struct rows rows = { .pol_fd = -1 };
	struct attached a;
	char enabled[16];
	bool json = false, have_info;
	size_t nc;

	for (int i = 1; i < argc; i++) {
		if (is_help(argv[i])) {
			printf(status_help, prog_name);
			return EXIT_OK;
		} else if (!strcmp(argv[i], "--json")) {
			json = true;
		} else {
			err("status: unexpected argument '%s' (see 'status --help')", argv[i]);
			return EXIT_USAGE;
		}
	}

	find_attached(&a);
	have_info = pin_read_info(&info) == 0;
	if (read_text(SYSFS_DEDUP_ENABLED, enabled, sizeof(enabled)))
		copy_str(enabled, sizeof(enabled), "unknown");
	nc = read_counters(counters, sizeof(counters) / sizeof(counters[0]));
	if (have_info)
		collect(&rows);
	if (rows.n)
		qsort(rows.v, rows.n, sizeof(rows.v[0]), by_path);

	if (json) {
		print_json(&a, have_info, &info, enabled, counters, nc, &rows);
	} else {
		bool tenant_rows = true;

		for (size_t i = 0; i < rows.n; i++)
			tenant_rows &= !rows.v[i].has_state;
		print_text(&a, have_info, &info, enabled, counters, nc, &rows,
			   tenant_rows);
		if (have_info && !a.attached)
			warn("pins of '%s' exist in %s but no policy is attached; "
			     "'unload' removes them", info.policy, ZDEDUP_PIN_DIR);
	}
	free(rows.v);
	return EXIT_OK;
}

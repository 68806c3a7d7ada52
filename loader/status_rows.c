/* SPDX-License-Identifier: GPL-2.0 */
/*
 * status: the per-cgroup figures and the kernel-wide counters.
 *
 * Rows come from two sources, joined on cgroup id: the maps the loaded
 * policy pinned (cgroup_policy, cgroup_stats, cgroup_state; read by map
 * type, per-CPU values summed), and memory.stat of every cgroup that has
 * pages in zswap, which needs no policy and no debugfs.  A cgroup without
 * an entry of its own shows its nearest ancestor's mode, marked inherited.
 */
#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "status.h"

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

/* Where one map's values go in a row. */
struct into {
	struct rows *r;
	size_t val_off, flag_off, size;
};

static int put_value(const void *key, const void *value, void *ctx)
{
	struct into *in = ctx;
	struct row *row;
	__u64 id;

	memcpy(&id, key, sizeof(id));
	row = row_get(in->r, id);
	if (!row)
		return -1;
	memcpy((char *)row + in->val_off, value, in->size);
	*(bool *)((char *)row + in->flag_off) = true;
	return 0;
}

/* Read pinned map @l into the rows; false when it is not there. */
static bool read_map(struct rows *r, const struct map_layout *l, size_t val_off,
		     size_t flag_off)
{
	struct into in = { r, val_off, flag_off, l->value_size };
	struct bpf_map_info mi;
	int fd, ret;

	fd = map_open_pinned(l, &mi);
	if (fd < 0) {
		if (fd != -ENOENT && fd != -EPROTO)
			warn("cannot open %s/%s: %s: not shown", ZDEDUP_PIN_DIR, l->name,
			     errstr(fd));
		return false;
	}
	ret = map_each(fd, &mi, put_value, &in);
	if (ret < 0)
		warn("cannot read %s/%s: %s", ZDEDUP_PIN_DIR, l->name, errstr(ret));
	close(fd);
	return true;
}

/* tenant semantics for a cgroup without an entry: its nearest ancestor's. */
static void inherit(struct row *row, int pol_fd)
{
	char path[PATH_MAX];

	if (!row->exists)
		return;
	copy_str(path, sizeof(path), row->path);
	for (int level = 0; level < ZDEDUP_INHERIT_DEPTH && cgroup_parent(path); level++) {
		char full[PATH_MAX * 2];
		__u64 id;

		snprintf(full, sizeof(full), "%s%s", cgroup_root(), path);
		if (cgroup_id_of(full, &id))
			return;
		if (!bpf_map_lookup_elem(pol_fd, &id, &row->pol)) {
			row->has_pol = row->inherited = true;
			return;
		}
	}
}

/* Every cgroup with pages in zswap (and the root, the total) gets a row. */
static void add_memcg(const char *path, __u64 id, void *ctx)
{
	struct rows *r = ctx;
	struct memstat ms;
	struct row *row;

	if (memstat_read(path, &ms))
		return;
	if (strcmp(path, "/") && !ms.zswapped && !ms.zswap && !ms.zswpout_dedup)
		return;
	row = row_get(r, id);
	if (!row)
		return;
	row->ms = ms;
	row->exists = true;
	copy_str(row->path, sizeof(row->path), path);
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

void rows_collect(struct rows *r, bool maps)
{
	struct bpf_map_info mi;
	int pol_fd = -1;

	memset(r, 0, sizeof(*r));
	if (maps) {
		r->have_pol_map = read_map(r, &layout_policy, offsetof(struct row, pol),
					   offsetof(struct row, has_pol));
		r->have_stats_map = read_map(r, &layout_stats, offsetof(struct row, st),
					     offsetof(struct row, has_stats));
		r->have_state_map = read_map(r, &layout_state, offsetof(struct row, as),
					     offsetof(struct row, has_state));
	}
	cgroup_walk(add_memcg, r);
	if (r->have_pol_map)
		pol_fd = map_open_pinned(&layout_policy, &mi);
	for (size_t i = 0; i < r->n; i++) {
		struct row *row = &r->v[i];

		if (!row->exists) {
			row->exists = cgroup_path_of(row->id, row->path, sizeof(row->path));
			if (row->exists)
				memstat_read(row->path, &row->ms);
		}
		if (!row->has_pol && pol_fd >= 0)
			inherit(row, pol_fd);
	}
	if (pol_fd >= 0)
		close(pol_fd);
	if (r->n)
		qsort(r->v, r->n, sizeof(r->v[0]), by_path);
}

void rows_free(struct rows *r)
{
	free(r->v);
	memset(r, 0, sizeof(*r));
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const struct counter *)a)->name, ((const struct counter *)b)->name);
}

size_t counters_read(struct counter *c, size_t max)
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

bool counter_get(const struct status *s, const char *name, unsigned long long *val)
{
	for (size_t i = 0; i < s->nc; i++)
		if (!strcmp(s->c[i].name, name)) {
			*val = s->c[i].val;
			return true;
		}
	return false;
}

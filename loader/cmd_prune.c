/* SPDX-License-Identifier: GPL-2.0 */
/*
 * prune: drop the entries of cgroups that no longer exist.
 *
 * A cgroup's entry outlives the cgroup: the map is keyed by cgroup id and
 * nothing tells the policy that a cgroup was removed.  Cgroup ids are
 * never reused, so such an entry never applies to anything again; it only
 * takes a slot of the map (ZDEDUP_MAX_CGROUPS).  systemd removes a
 * service's cgroup when the service stops and makes a new one, with a new
 * id, when it starts again: a setting on a service is gone after a restart
 * (and left behind for prune), a setting on its slice is not.
 *
 * The statistics maps (cgroup_stats, cgroup_state) are LRU maps that age
 * out by themselves; prune drops their entries of removed cgroups too.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "zdedup-loader.h"

static const char prune_help[] =
"Usage: %s prune [--dry-run]\n"
"\n"
"Remove the entries of cgroups that no longer exist from the loaded\n"
"policy's cgroup_policy map (and its statistics maps).  A setting on a\n"
"systemd service goes when the service restarts (a new cgroup, a new id);\n"
"settings on slices survive restarts of their services.\n"
"\n"
"  --dry-run   only show what would be removed\n";

/* The entries of one map whose cgroups are gone. */
struct gone {
	bool is_policy;			/* the values are settings, kept for the report */
	__u64 *ids;
	struct zdedup_cgroup_policy *pols;
	size_t n, cap;
};

static int collect(const void *key, const void *value, void *ctx)
{
	struct gone *g = ctx;
	char path[PATH_MAX];
	__u64 id;

	memcpy(&id, key, sizeof(id));
	if (cgroup_path_of(id, path, sizeof(path)))
		return 0;
	if (g->n == g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 32;
		__u64 *ids = realloc(g->ids, cap * sizeof(*ids));
		struct zdedup_cgroup_policy *pols;

		if (!ids)
			return -1;
		g->ids = ids;
		pols = realloc(g->pols, cap * sizeof(*pols));
		if (!pols)
			return -1;
		g->pols = pols;
		g->cap = cap;
	}
	g->ids[g->n] = id;
	if (g->is_policy)
		memcpy(&g->pols[g->n], value, sizeof(g->pols[0]));
	g->n++;
	return 0;
}

/* Entries of gone cgroups in map @l (if pinned); deleted unless @dry. */
static int prune_map(const struct map_layout *l, bool dry, struct gone *g)
{
	struct bpf_map_info mi;
	int fd, ret;

	fd = map_open_pinned(l, &mi);
	if (fd == -ENOENT)
		return 0;
	if (fd < 0) {
		if (fd != -EPROTO)
			p_err("prune: cannot open %s/%s: %s", ZDEDUP_PIN_DIR, l->name,
			      errstr(fd));
		return fd;
	}
	ret = map_each(fd, &mi, collect, g);
	if (ret < 0) {
		p_err("prune: cannot read %s/%s: %s", ZDEDUP_PIN_DIR, l->name, errstr(ret));
		close(fd);
		return ret;
	}
	for (size_t i = 0; i < g->n && !dry; i++) {
		if (bpf_map_delete_elem(fd, &g->ids[i]) && errno != ENOENT) {
			ret = -errno;
			p_err("prune: cannot remove cgroup id %llu from %s/%s: %s",
			      (unsigned long long)g->ids[i], ZDEDUP_PIN_DIR, l->name,
			      strerror(errno));
			close(fd);
			return ret;
		}
	}
	close(fd);
	return 0;
}

int cmd_prune(int argc, char **argv)
{
	struct gone settings = { .is_policy = true }, stats = {}, state = {};
	bool dry = false;
	struct live l;
	int fd, ret = EXIT_FAIL;

	for (int i = 1; i < argc; i++) {
		if (is_help(argv[i])) {
			printf(prune_help, prog_name);
			return EXIT_OK;
		} else if (!strcmp(argv[i], "--dry-run") || !strcmp(argv[i], "-n")) {
			dry = true;
		} else {
			p_err("prune: unexpected argument '%s' (see 'prune --help')", argv[i]);
			return EXIT_USAGE;
		}
	}
	if (lock_take(dry ? LOCK_SHARED : LOCK_EXCLUSIVE) || live_read(&l))
		return EXIT_FAIL;
	fd = live_policy_map(&l, "prune");
	if (fd < 0)
		return EXIT_FAIL;
	close(fd);
	if (prune_map(&layout_policy, dry, &settings) ||
	    prune_map(&layout_stats, dry, &stats) || prune_map(&layout_state, dry, &state))
		goto out;

	if (json_output) {
		struct json j;

		json_begin(&j, stdout);
		json_obj_open(&j, NULL);
		json_bool(&j, "dry_run", dry);
		json_arr_open(&j, "removed");
		for (size_t i = 0; i < settings.n; i++) {
			json_obj_open(&j, NULL);
			json_u64(&j, "id", settings.ids[i]);
			json_str(&j, "mode", mode_name(settings.pols[i].mode));
			if (settings.pols[i].mode == ZDEDUP_MODE_GROUP)
				json_u64(&j, "group", settings.pols[i].group);
			json_obj_close(&j);
		}
		json_arr_close(&j);
		json_u64(&j, "statistics_removed", stats.n + state.n);
		json_obj_close(&j);
		json_end(&j);
	} else {
		for (size_t i = 0; i < settings.n; i++) {
			char mode[32];

			mode_describe(mode, sizeof(mode), &settings.pols[i]);
			printf("%s cgroup id %llu (gone): %s\n", dry ? "would remove" :
			       "removed", (unsigned long long)settings.ids[i], mode);
		}
		printf("%s%zu setting%s of cgroups that are gone, %zu statistics "
		       "entr%s\n", dry ? "would remove " : "removed ", settings.n,
		       settings.n == 1 ? "" : "s", stats.n + state.n,
		       stats.n + state.n == 1 ? "y" : "ies");
	}
	ret = EXIT_OK;
out:
	free(settings.ids);
	free(settings.pols);
	free(stats.ids);
	free(stats.pols);
	free(state.ids);
	free(state.pols);
	return ret;
}

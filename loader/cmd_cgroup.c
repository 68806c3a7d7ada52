/* SPDX-License-Identifier: GPL-2.0 */
/*
 * set, unset, list: edit and show the live policy's cgroup_policy map.
 *
 * Input is checked completely (mode, group number, cgroup, its memory
 * controller, a loaded and attached policy with a cgroup_policy map of the
 * expected layout) before the map is touched, so a rejected command leaves
 * the map as it was.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "zdedup-loader.h"

static const char set_help[] =
"Usage: %s set CGROUP MODE\n"
"\n"
"Set the dedup mode of CGROUP in the loaded policy (tenant).  Its\n"
"descendants without an entry of their own inherit it.  CGROUP needs the\n"
"memory controller (pages are charged to the nearest cgroup that has it).\n"
"\n"
"MODE:\n"
"  off         do not hash its pages: no dedup, no cost\n"
"  private     merge only within this cgroup (the default)\n"
"  group N     merge with every cgroup in group N (%d..%d)\n"
"\n";

static const char unset_help[] =
"Usage: %s unset CGROUP\n"
"       %s unset --id ID\n"
"\n"
"Remove CGROUP's entry from the loaded policy: it inherits its nearest\n"
"ancestor's mode again (private if none). --id removes an entry by cgroup\n"
"id, e.g. one 'list' shows as (gone); 'prune' removes all of those.\n"
"\n";

static const char list_help[] =
"Usage: %s list\n"
"\n"
"Show the entries of the loaded policy's cgroup_policy map: cgroup id,\n"
"path (when the cgroup still exists) and mode.  --json (global) for JSON.\n";

const char *mode_name(__u32 mode)
{
	switch (mode) {
	case ZDEDUP_MODE_OFF:		return "off";
	case ZDEDUP_MODE_PRIVATE:	return "private";
	case ZDEDUP_MODE_GROUP:		return "group";
	default:			return "unknown";
	}
}

bool mode_valid(const struct zdedup_cgroup_policy *pol)
{
	if (pol->mode == ZDEDUP_MODE_GROUP)
		return pol->group >= ZDEDUP_GROUP_MIN && pol->group <= ZDEDUP_GROUP_MAX;
	return (pol->mode == ZDEDUP_MODE_OFF || pol->mode == ZDEDUP_MODE_PRIVATE) &&
	       !pol->group;
}

int mode_parse(const char *where, int argc, char **argv,
	       struct zdedup_cgroup_policy *pol)
{
	unsigned long long n;

	memset(pol, 0, sizeof(*pol));
	if (argc < 1) {
		p_err("%s: which mode? (off, private or group N)", where);
		return 0;
	}
	if (!strcmp(argv[0], "off")) {
		pol->mode = ZDEDUP_MODE_OFF;
		return 1;
	}
	if (!strcmp(argv[0], "private")) {
		pol->mode = ZDEDUP_MODE_PRIVATE;
		return 1;
	}
	if (!strcmp(argv[0], "group")) {
		if (argc < 2) {
			p_err("%s: 'group' needs a group number (%d..%d)", where,
			      ZDEDUP_GROUP_MIN, ZDEDUP_GROUP_MAX);
			return 0;
		}
		if (!parse_u64(argv[1], ZDEDUP_GROUP_MIN, ZDEDUP_GROUP_MAX, &n)) {
			p_err("%s: group number must be %d..%d, not '%s'", where,
			      ZDEDUP_GROUP_MIN, ZDEDUP_GROUP_MAX, argv[1]);
			return 0;
		}
		pol->mode = ZDEDUP_MODE_GROUP;
		pol->group = n;
		return 2;
	}
	p_err("%s: unknown mode '%s' (off, private or group N)", where, argv[0]);
	return 0;
}

void mode_describe(char *buf, size_t size, const struct zdedup_cgroup_policy *pol)
{
	if (pol->mode == ZDEDUP_MODE_GROUP)
		snprintf(buf, size, "group %u", pol->group);
	else
		copy_str(buf, size, mode_name(pol->mode));
}

/* One cgroup's entry, as set and unset report it. */
static void print_entry(const struct cgroup_ref *ref, const char *action,
			const struct zdedup_cgroup_policy *pol)
{
	char mode[32];

	if (json_output) {
		struct json j;

		json_begin(&j, stdout);
		json_obj_open(&j, NULL);
		if (ref->path[0])
			json_str(&j, "cgroup", ref->path);
		else
			json_null(&j, "cgroup");
		json_u64(&j, "id", ref->id);
		json_str(&j, "action", action);
		if (pol) {
			json_str(&j, "mode", mode_name(pol->mode));
			if (pol->mode == ZDEDUP_MODE_GROUP)
				json_u64(&j, "group", pol->group);
		}
		json_obj_close(&j);
		json_end(&j);
		return;
	}
	if (pol) {
		mode_describe(mode, sizeof(mode), pol);
		printf("%s (cgroup id %llu): %s\n", ref->path, (unsigned long long)ref->id,
		       mode);
	} else if (ref->path[0]) {
		printf("%s: entry removed (inherits from its ancestors)\n", ref->path);
	} else {
		printf("cgroup id %llu: entry removed\n", (unsigned long long)ref->id);
	}
}

int cmd_set(int argc, char **argv)
{
	struct zdedup_cgroup_policy pol;
	struct cgroup_arg arg;
	struct cgroup_ref ref;
	struct live l;
	int i = 1, used, fd, ret;

	if (argc > 1 && is_help(argv[1])) {
		printf(set_help, prog_name, ZDEDUP_GROUP_MIN, ZDEDUP_GROUP_MAX);
		printf(cgroup_arg_help, cgroup_root());
		return EXIT_OK;
	}
	ret = cgroup_arg("set", argc, argv, &i, &arg);
	if (ret)
		return ret;
	used = mode_parse("set", argc - i, argv + i, &pol);
	if (!used)
		return EXIT_USAGE;
	if (argc > i + used) {
		p_err("set: unexpected argument '%s'", argv[i + used]);
		return EXIT_USAGE;
	}
	ret = cgroup_arg_resolve("set", &arg, &ref);
	if (ret)
		return ret;
	if (!cgroup_has_memory(&ref)) {
		p_err("set: %s", ref.why);
		return EXIT_FAIL;
	}
	if (lock_take(LOCK_EXCLUSIVE) || live_read(&l))
		return EXIT_FAIL;
	fd = live_policy_map(&l, "set");
	if (fd < 0)
		return EXIT_FAIL;
	if (bpf_map_update_elem(fd, &ref.id, &pol, BPF_ANY)) {
		int e = errno;

		p_err("set: cannot update the policy map: %s%s", strerror(e),
		      e == E2BIG ? " (map full: 'prune' removes entries of cgroups that "
		      "are gone)" : "");
		close(fd);
		return EXIT_FAIL;
	}
	close(fd);
	print_entry(&ref, "set", &pol);
	return EXIT_OK;
}

int cmd_unset(int argc, char **argv)
{
	struct cgroup_arg arg;
	struct cgroup_ref ref;
	unsigned long long n;
	struct live l;
	int i = 1, fd, ret;

	if (argc > 1 && is_help(argv[1])) {
		printf(unset_help, prog_name, prog_name);
		printf(cgroup_arg_help, cgroup_root());
		return EXIT_OK;
	}
	memset(&ref, 0, sizeof(ref));
	if (argc > 1 && !strcmp(argv[1], "--id")) {
		if (argc != 3 || !parse_u64(argv[2], 1, ~0ULL, &n)) {
			p_err("unset: --id wants one cgroup id, a number%s%s%s",
			      argc > 2 ? ", not '" : "", argc > 2 ? argv[2] : "",
			      argc > 2 ? "'" : "");
			return EXIT_USAGE;
		}
		ref.id = n;
		if (!cgroup_path_of(ref.id, ref.path, sizeof(ref.path)))
			ref.path[0] = '\0';
	} else {
		ret = cgroup_arg("unset", argc, argv, &i, &arg);
		if (ret)
			return ret;
		if (i < argc) {
			p_err("unset: one cgroup at a time (unexpected '%s')", argv[i]);
			return EXIT_USAGE;
		}
		ret = cgroup_arg_resolve("unset", &arg, &ref);
		if (ret)
			return ret;
	}
	if (lock_take(LOCK_EXCLUSIVE) || live_read(&l))
		return EXIT_FAIL;
	fd = live_policy_map(&l, "unset");
	if (fd < 0)
		return EXIT_FAIL;
	if (bpf_map_delete_elem(fd, &ref.id)) {
		int e = errno;

		if (e == ENOENT)
			p_err("unset: %s%s has no entry of its own (nothing to remove)",
			      ref.path[0] ? ref.path : "cgroup id ",
			      ref.path[0] ? "" : argv[2]);
		else
			p_err("unset: cannot update the policy map: %s", strerror(e));
		close(fd);
		return EXIT_FAIL;
	}
	close(fd);
	print_entry(&ref, "unset", NULL);
	return EXIT_OK;
}

struct entry {
	__u64 id;
	struct zdedup_cgroup_policy pol;
	bool exists;
	char path[PATH_MAX];
};

static int by_path(const void *a, const void *b)
{
	const struct entry *x = a, *y = b;

	if (x->exists != y->exists)
		return x->exists ? -1 : 1;
	if (x->exists)
		return strcmp(x->path, y->path);
	return x->id < y->id ? -1 : x->id > y->id;
}

struct entries {
	struct entry *v;
	size_t n, cap;
};

static int add_entry(const void *key, const void *value, void *ctx)
{
	struct entries *e = ctx;
	struct entry *x;

	if (e->n == e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 32;
		struct entry *t = realloc(e->v, cap * sizeof(*t));

		if (!t)
			return -1;
		e->v = t;
		e->cap = cap;
	}
	x = &e->v[e->n++];
	memcpy(&x->id, key, sizeof(x->id));
	memcpy(&x->pol, value, sizeof(x->pol));
	x->exists = cgroup_path_of(x->id, x->path, sizeof(x->path));
	return 0;
}

int cmd_list(int argc, char **argv)
{
	struct entries e = {};
	struct bpf_map_info mi = {};
	__u32 len = sizeof(mi);
	struct entry *v;
	struct live l;
	size_t n;
	int fd, ret;

	for (int i = 1; i < argc; i++) {
		if (is_help(argv[i])) {
			printf(list_help, prog_name);
			return EXIT_OK;
		}
		p_err("list: unexpected argument '%s'", argv[i]);
		return EXIT_USAGE;
	}
	if (lock_take(LOCK_SHARED) || live_read(&l))
		return EXIT_FAIL;
	fd = live_policy_map(&l, "list");
	if (fd < 0)
		return EXIT_FAIL;
	ret = bpf_map_get_info_by_fd(fd, &mi, &len) ? -errno : map_each(fd, &mi, add_entry, &e);
	close(fd);
	if (ret < 0) {
		p_err("list: cannot read %s/%s: %s", ZDEDUP_PIN_DIR,
		      ZDEDUP_MAP_CGROUP_POLICY, errstr(ret));
		free(e.v);
		return EXIT_FAIL;
	}
	v = e.v;
	n = e.n;
	if (n)
		qsort(v, n, sizeof(*v), by_path);

	if (json_output) {
		struct json j;

		json_begin(&j, stdout);
		json_arr_open(&j, NULL);
		for (size_t i = 0; i < n; i++) {
			json_obj_open(&j, NULL);
			json_u64(&j, "id", v[i].id);
			if (v[i].exists)
				json_str(&j, "path", v[i].path);
			else
				json_null(&j, "path");
			json_str(&j, "mode", mode_name(v[i].pol.mode));
			if (v[i].pol.mode == ZDEDUP_MODE_GROUP)
				json_u64(&j, "group", v[i].pol.group);
			json_obj_close(&j);
		}
		json_arr_close(&j);
		json_end(&j);
	} else if (!n) {
		printf("no per-cgroup entries: every cgroup is private\n");
	} else {
		printf("%-8s %-40s %s\n", "ID", "PATH", "MODE");
		for (size_t i = 0; i < n; i++) {
			char mode[32];

			mode_describe(mode, sizeof(mode), &v[i].pol);
			printf("%-8llu %-40s %s\n", (unsigned long long)v[i].id,
			       v[i].exists ? v[i].path : "(gone)", mode);
		}
	}
	free(v);
	return EXIT_OK;
}

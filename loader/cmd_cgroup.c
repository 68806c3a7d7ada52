/* SPDX-License-Identifier: GPL-2.0 */
/*
 * set, unset, list: edit and show the live policy's cgroup_policy map.
 *
 * Input is checked completely (mode, group number, cgroup path, a loaded
 * policy with a cgroup_policy map of the expected layout) before the map
 * is touched, so a rejected command leaves the map as it was.
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
"Set the dedup mode of CGROUP in the loaded policy (tenant). CGROUP is a\n"
"cgroup v2 directory, absolute or relative to the cgroup2 mount (%s).\n"
"Its children without an entry of their own inherit it.\n"
"\n"
"MODE:\n"
"  off         do not hash its pages: no dedup, no cost\n"
"  private     merge only within this cgroup (the default)\n"
"  group N     merge with every cgroup in group N (%d..%d)\n";

static const char unset_help[] =
"Usage: %s unset CGROUP\n"
"       %s unset --id ID\n"
"\n"
"Remove CGROUP's entry from the loaded policy: it inherits its nearest\n"
"ancestor's mode again (private if none). --id removes an entry by cgroup\n"
"id, e.g. one 'list' shows as (gone).\n";

static const char list_help[] =
"Usage: %s list [--json]\n"
"\n"
"Show the entries of the loaded policy's cgroup_policy map: cgroup id,\n"
"path (when the cgroup still exists) and mode.\n";

const char *mode_name(__u32 mode)
{
	switch (mode) {
	case ZDEDUP_MODE_OFF:		return "off";
	case ZDEDUP_MODE_PRIVATE:	return "private";
	case ZDEDUP_MODE_GROUP:		return "group";
	default:			return "unknown";
	}
}

/*
 * The pinned cgroup_policy map of the loaded policy, checked for the
 * layout of include/zdedup.h; prints why not and returns -1.
 */
static int open_policy_map(const char *cmd)
{
	struct zdedup_info info;
	struct bpf_map_info mi = {};
	__u32 len = sizeof(mi);
	struct attached a;
	int fd, ret;

	ret = pin_read_info(&info);
	if (ret == -EPROTO)
		return -1;
	if (ret) {
		find_attached(&a);
		if (a.attached)
			err("%s: no policy loaded by zdedup-loader (policy '%s' is attached "
			    "by another tool; its maps are not pinned in %s)", cmd, a.name,
			    ZDEDUP_PIN_DIR);
		else
			err("%s: no policy is loaded; load one that takes per-cgroup "
			    "settings first: 'zdedup-loader load tenant'", cmd);
		return -1;
	}
	fd = pin_open_map(ZDEDUP_MAP_CGROUP_POLICY);
	if (fd < 0) {
		err("%s: the loaded policy '%s' has no per-cgroup policy map (%s); "
		    "per-cgroup modes need a policy such as tenant ('load tenant "
		    "--replace')", cmd, info.policy, ZDEDUP_MAP_CGROUP_POLICY);
		return -1;
	}
	if (bpf_map_get_info_by_fd(fd, &mi, &len) || mi.type != BPF_MAP_TYPE_HASH ||
	    mi.key_size != sizeof(__u64) ||
	    mi.value_size != sizeof(struct zdedup_cgroup_policy)) {
		err("%s: map %s of policy '%s' is not a hash of cgroup id -> struct "
		    "zdedup_cgroup_policy (include/zdedup.h)", cmd,
		    ZDEDUP_MAP_CGROUP_POLICY, info.policy);
		close(fd);
		return -1;
	}
	return fd;
}

/* Parse MODE [N] from @argv; prints why not.  Returns args used, or 0. */
static int parse_mode(int argc, char **argv, struct zdedup_cgroup_policy *pol)
{
	unsigned long long n;

	memset(pol, 0, sizeof(*pol));
	if (argc < 1) {
		err("set: which mode? (off, private or group N)");
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
			err("set: 'group' needs a group number (%d..%d)",
			    ZDEDUP_GROUP_MIN, ZDEDUP_GROUP_MAX);
			return 0;
		}
		if (!parse_u64(argv[1], ZDEDUP_GROUP_MIN, ZDEDUP_GROUP_MAX, &n)) {
			err("set: group number must be %d..%d, not '%s'",
			    ZDEDUP_GROUP_MIN, ZDEDUP_GROUP_MAX, argv[1]);
			return 0;
		}
		pol->mode = ZDEDUP_MODE_GROUP;
		pol->group = n;
		return 2;
	}
	err("set: unknown mode '%s' (off, private or group N)", argv[0]);
	return 0;
}

static void describe(char *buf, size_t size, const struct zdedup_cgroup_policy *pol)
{
	if (pol->mode == ZDEDUP_MODE_GROUP)
		snprintf(buf, size, "group %u", pol->group);
	else
		copy_str(buf, size, mode_name(pol->mode));
}

int cmd_set(int argc, char **argv)
{
	struct zdedup_cgroup_policy pol;
	char shown[PATH_MAX], mode[32];
	__u64 id;
	int used, fd;

	if (argc > 1 && is_help(argv[1])) {
		printf(set_help, prog_name, cgroup_root(), ZDEDUP_GROUP_MIN,
		       ZDEDUP_GROUP_MAX);
		return EXIT_OK;
	}
	if (argc < 2) {
		err("set: which cgroup? (see 'set --help')");
		return EXIT_USAGE;
	}
	used = parse_mode(argc - 2, argv + 2, &pol);
	if (!used)
		return EXIT_USAGE;
	if (argc > 2 + used) {
		err("set: unexpected argument '%s'", argv[2 + used]);
		return EXIT_USAGE;
	}
	if (cgroup_resolve(argv[1], &id, shown, sizeof(shown)))
		return EXIT_FAIL;
	fd = open_policy_map("set");
	if (fd < 0)
		return EXIT_FAIL;
	if (bpf_map_update_elem(fd, &id, &pol, BPF_ANY)) {
		int e = errno;

		err("set: cannot update the policy map: %s%s", strerror(e),
		    e == E2BIG ? " (map full: unset entries of cgroups that are gone)" : "");
		close(fd);
		return EXIT_FAIL;
	}
	close(fd);
	describe(mode, sizeof(mode), &pol);
	printf("%s (cgroup id %llu): %s\n", shown, (unsigned long long)id, mode);
	return EXIT_OK;
}

int cmd_unset(int argc, char **argv)
{
	char shown[PATH_MAX];
	unsigned long long n;
	__u64 id;
	int fd;

	if (argc > 1 && is_help(argv[1])) {
		printf(unset_help, prog_name, prog_name);
		return EXIT_OK;
	}
	if (argc == 3 && !strcmp(argv[1], "--id")) {
		if (!parse_u64(argv[2], 1, ~0ULL, &n)) {
			err("unset: --id wants a cgroup id, not '%s'", argv[2]);
			return EXIT_USAGE;
		}
		id = n;
		snprintf(shown, sizeof(shown), "cgroup id %llu", n);
	} else if (argc == 2) {
		if (cgroup_resolve(argv[1], &id, shown, sizeof(shown)))
			return EXIT_FAIL;
	} else {
		err("unset: %s (see 'unset --help')",
		    argc < 2 ? "which cgroup?" : "one cgroup at a time");
		return EXIT_USAGE;
	}
	fd = open_policy_map("unset");
	if (fd < 0)
		return EXIT_FAIL;
	if (bpf_map_delete_elem(fd, &id)) {
		int e = errno;

		if (e == ENOENT)
			err("unset: %s has no entry of its own (nothing to remove)", shown);
		else
			err("unset: cannot update the policy map: %s", strerror(e));
		close(fd);
		return EXIT_FAIL;
	}
	close(fd);
	printf("%s: entry removed (inherits from its ancestors)\n", shown);
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

int cmd_list(int argc, char **argv)
{
	struct entry *v = NULL;
	size_t n = 0, cap = 0;
	bool json = false, first = true;
	__u64 key = 0, next;
	int fd;

	for (int i = 1; i < argc; i++) {
		if (is_help(argv[i])) {
			printf(list_help, prog_name);
			return EXIT_OK;
		} else if (!strcmp(argv[i], "--json")) {
			json = true;
		} else {
			err("list: unexpected argument '%s'", argv[i]);
			return EXIT_USAGE;
		}
	}
	fd = open_policy_map("list");
	if (fd < 0)
		return EXIT_FAIL;
	while (!bpf_map_get_next_key(fd, first ? NULL : &key, &next)) {
		first = false;
		key = next;
		if (n == cap) {
			struct entry *t = realloc(v, (cap = cap ? cap * 2 : 32) * sizeof(*v));

			if (!t)
				break;
			v = t;
		}
		v[n].id = key;
		if (bpf_map_lookup_elem(fd, &key, &v[n].pol))
			continue;
		v[n].exists = cgroup_path_of(key, v[n].path, sizeof(v[n].path));
		n++;
	}
	close(fd);
	if (n)
		qsort(v, n, sizeof(*v), by_path);

	if (json) {
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

			describe(mode, sizeof(mode), &v[i].pol);
			printf("%-8llu %-40s %s\n", (unsigned long long)v[i].id,
			       v[i].exists ? v[i].path : "(gone)", mode);
		}
	}
	free(v);
	return EXIT_OK;
}

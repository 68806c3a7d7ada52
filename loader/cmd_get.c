/* SPDX-License-Identifier: GPL-2.0 */
/*
 * get: a cgroup's effective dedup setting, and where it comes from.
 *
 * The same walk the tenant policy does for every page: the cgroup's own
 * entry in cgroup_policy, else its nearest ancestor's, up to
 * ZDEDUP_INHERIT_DEPTH levels up, else private.  It starts at the cgroup
 * the pages are charged to: a cgroup without the memory controller has
 * its pages charged to its nearest ancestor that has it.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "zdedup-loader.h"

static const char get_help[] =
"Usage: %s get CGROUP\n"
"\n"
"Show CGROUP's effective dedup mode under the attached policy, and the\n"
"cgroup it comes from: its own entry, an ancestor's (inherited), or the\n"
"default.\n"
"\n";

struct effective {
	struct zdedup_cgroup_policy pol;
	bool has_entry;			/* from an entry of cgroup_policy */
	bool inherited;			/* of an ancestor */
	char from[PATH_MAX];		/* the cgroup whose entry it is */
	__u64 from_id;
	char charged[PATH_MAX];		/* the cgroup the pages are charged to */
	char reason[256];		/* why, when there is no entry */
};

/* Walk up from @ref's memory cgroup through cgroup_policy (@fd, -1: none). */
static void resolve(const struct cgroup_ref *ref, int fd, struct effective *e)
{
	char path[PATH_MAX];
	struct cgroup_ref cur = *ref;

	/* Up to the cgroup its pages are charged to. */
	copy_str(path, sizeof(path), ref->path);
	while (!cgroup_has_memory(&cur) && cgroup_parent(path))
		cgroup_from_path(path, &cur);
	copy_str(e->charged, sizeof(e->charged), cur.path);
	e->pol.mode = ZDEDUP_MODE_PRIVATE;
	if (fd < 0)
		return;
	copy_str(path, sizeof(path), cur.path);
	for (int level = 0; level <= ZDEDUP_INHERIT_DEPTH; level++) {
		struct cgroup_ref anc = {};
		__u64 id;

		if (cgroup_from_path(path, &anc))
			break;
		id = anc.id;
		if (!bpf_map_lookup_elem(fd, &id, &e->pol)) {
			e->has_entry = true;
			e->inherited = anc.id != ref->id;
			copy_str(e->from, sizeof(e->from), anc.path);
			e->from_id = anc.id;
			return;
		}
		if (!cgroup_parent(path))
			break;
	}
	e->pol.mode = ZDEDUP_MODE_PRIVATE;
	e->pol.group = 0;
	snprintf(e->reason, sizeof(e->reason), "the default: no entry on it or its "
		 "ancestors");
}

static void print(const struct cgroup_ref *ref, const char *policy,
		  const struct effective *e)
{
	char mode[32];

	mode_describe(mode, sizeof(mode), &e->pol);
	if (json_output) {
		struct json j;

		json_begin(&j, stdout);
		json_obj_open(&j, NULL);
		json_str(&j, "cgroup", ref->path);
		json_u64(&j, "id", ref->id);
		json_str(&j, "policy", policy);
		json_str(&j, "mode", mode_name(e->pol.mode));
		if (e->pol.mode == ZDEDUP_MODE_GROUP)
			json_u64(&j, "group", e->pol.group);
		json_bool(&j, "inherited", e->inherited);
		if (e->has_entry) {
			json_obj_open(&j, "from");
			json_str(&j, "cgroup", e->from);
			json_u64(&j, "id", e->from_id);
			json_obj_close(&j);
		} else {
			json_null(&j, "from");
			json_str(&j, "reason", e->reason);
		}
		json_str(&j, "charged_to", e->charged);
		json_obj_close(&j);
		json_end(&j);
		return;
	}
	printf("%s (cgroup id %llu): %s", ref->path, (unsigned long long)ref->id, mode);
	if (!e->has_entry)
		printf(" (%s)\n", e->reason);
	else if (e->inherited)
		printf(", inherited from %s (cgroup id %llu)\n", e->from,
		       (unsigned long long)e->from_id);
	else
		printf(", its own entry\n");
	if (strcmp(e->charged, ref->path))
		printf("  (no memory controller: its pages are charged to %s)\n", e->charged);
}

int cmd_get(int argc, char **argv)
{
	struct effective e = {};
	struct cgroup_arg arg;
	struct cgroup_ref ref;
	const char *policy;
	struct live l;
	int i = 1, fd = -1, ret;

	if (argc > 1 && is_help(argv[1])) {
		printf(get_help, prog_name);
		printf(cgroup_arg_help, cgroup_root());
		return EXIT_OK;
	}
	ret = cgroup_arg("get", argc, argv, &i, &arg);
	if (ret)
		return ret;
	if (i < argc) {
		p_err("get: one cgroup at a time (unexpected '%s')", argv[i]);
		return EXIT_USAGE;
	}
	ret = cgroup_arg_resolve("get", &arg, &ref);
	if (ret)
		return ret;
	if (lock_take(LOCK_SHARED) || live_read(&l))
		return EXIT_FAIL;

	if (!l.a.attached && !l.pins) {
		policy = "builtin";
		snprintf(e.reason, sizeof(e.reason), "no policy is attached: the built-in "
			 "policy merges within each memory cgroup");
	} else if (l.a.attached && !l.pins) {
		p_err("get: policy '%s' is attached by another tool: its settings are not "
		      "pinned in %s, so zdedup-loader cannot tell", l.a.name, ZDEDUP_PIN_DIR);
		return EXIT_FAIL;
	} else {
		if (live_require_ours(&l, "get"))
			return EXIT_FAIL;
		struct bpf_map_info mi;

		policy = l.info.policy;
		fd = map_open_pinned(&layout_policy, &mi);
		if (fd == -ENOENT) {
			snprintf(e.reason, sizeof(e.reason), "policy '%s' has no per-cgroup "
				 "settings", policy);
		} else if (fd < 0) {
			if (fd != -EPROTO)
				p_err("get: cannot open %s/%s: %s", ZDEDUP_PIN_DIR,
				      ZDEDUP_MAP_CGROUP_POLICY, errstr(fd));
			return EXIT_FAIL;
		}
	}
	resolve(&ref, fd, &e);
	if (fd >= 0)
		close(fd);
	print(&ref, policy, &e);
	return EXIT_OK;
}

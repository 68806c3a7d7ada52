/* SPDX-License-Identifier: GPL-2.0 */
/*
 * load and unload: the command lines and what they print; the work is in
 * attach.c.  The policy object is opened and configured before anything
 * touches the kernel, so a bad object or option fails without side
 * effects; then the lock is taken and the live state read.
 */
#include <dirent.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include "zdedup-loader.h"

static const char load_help[] =
"Usage: %s load POLICY [--replace] [OPTIONS]\n"
"\n"
"Attach the dedup policy POLICY to zswap and pin it under " ZDEDUP_PIN_DIR ",\n"
"where it stays attached after this program exits.\n"
"\n"
"POLICY is a built-in policy or the path of a policy object (.bpf.o):\n"
"  memcg       merge pages within their memory cgroup (the kernel's default)\n"
"  tenant      per-cgroup off / private / group N, set with 'set'\n"
"  adaptive    stop hashing cgroups whose pages do not repeat\n"
"\n"
"Options:\n"
"  --replace              replace the attached policy atomically, keeping\n"
"                         every map the two have in common (settings,\n"
"                         statistics); without it, loading over a policy fails\n"
"  --window PAGES         adaptive: pages per measurement window (default %u)\n"
"  --min-hit-rate PCT     adaptive: back off below PCT %% merged (default 0.25)\n"
"  --backoff PAGES        adaptive: pages not hashed when backing off (default %u)\n"
"  -h, --help             show this help\n";

static const char unload_help[] =
"Usage: %s unload\n"
"\n"
"Detach the policy loaded by zdedup-loader and remove its pins from\n"
ZDEDUP_PIN_DIR "; zswap falls back to its built-in per-memcg policy.\n"
"Pages already stored keep their dedup state.\n";

/*
 * load's command line: POLICY and options in any order.  Returns 0, -1
 * after --help, or EXIT_USAGE (printed).
 */
static int parse_load(int argc, char **argv, bool *replace, const char **what,
		      struct policy_opts *o)
{
	memset(o, 0, sizeof(*o));
	for (int i = 1; i < argc;) {
		int r;

		if (is_help(argv[i])) {
			printf(load_help, prog_name, ZDEDUP_ADAPTIVE_WINDOW,
			       ZDEDUP_ADAPTIVE_BACKOFF);
			return -1;
		}
		if (!strcmp(argv[i], "--replace")) {
			*replace = true;
			i++;
			continue;
		}
		r = policy_opt_parse("load", argc, argv, &i, o);
		if (r < 0)
			return EXIT_USAGE;
		if (r > 0)
			continue;
		if (!strcmp(argv[i], "--")) {
			i++;
			if (i < argc && !*what)
				*what = argv[i++];
			if (i < argc) {
				p_err("load: unexpected argument '%s' (one POLICY only)", argv[i]);
				return EXIT_USAGE;
			}
			break;
		}
		if (argv[i][0] == '-') {
			p_err("load: unknown option '%s' (see 'load --help')", argv[i]);
			return EXIT_USAGE;
		}
		if (*what) {
			p_err("load: unexpected argument '%s' (one POLICY only)", argv[i]);
			return EXIT_USAGE;
		}
		*what = argv[i++];
	}
	if (!*what) {
		p_err("load: which policy? (memcg, tenant, adaptive or a .bpf.o path; "
		      "see 'load --help')");
		return EXIT_USAGE;
	}
	return 0;
}

static void print_attached(const struct policy *p, const struct attach_result *r)
{
	if (json_output) {
		struct json j;

		json_begin(&j, stdout);
		json_obj_open(&j, NULL);
		json_str(&j, "policy", p->name);
		json_str(&j, "source", p->source);
		json_str(&j, "action", r->replaced ? "replaced" : "attached");
		if (r->replaced)
			json_str(&j, "replaced", r->old_policy);
		json_u64(&j, "link_id", r->link_id);
		json_arr_open(&j, "maps_kept");
		for (int i = 0; i < r->nr_kept; i++)
			json_str(&j, NULL, r->kept[i]);
		json_arr_close(&j);
		json_str(&j, "pin_dir", ZDEDUP_PIN_DIR);
		json_obj_close(&j);
		json_end(&j);
		return;
	}
	if (r->replaced) {
		printf("policy '%s' replaced '%s' atomically (link id %u), pinned in %s\n",
		       p->name, r->old_policy, r->link_id, ZDEDUP_PIN_DIR);
		for (int i = 0; i < r->nr_kept; i++)
			printf("  kept map %s\n", r->kept[i]);
	} else {
		printf("policy '%s' attached (link id %u), pinned in %s\n", p->name,
		       r->link_id, ZDEDUP_PIN_DIR);
	}
}

int cmd_load(int argc, char **argv)
{
	struct attach_result r;
	struct policy_opts o;
	struct policy p;
	struct live l;
	const char *what = NULL;
	bool do_replace = false;
	int ret;

	ret = parse_load(argc, argv, &do_replace, &what, &o);
	if (ret)
		return ret < 0 ? EXIT_OK : ret;

	/* First what needs no kernel: the object and its options. */
	ret = policy_open(what, &p);
	if (ret)
		return ret == -EINVAL ? EXIT_USAGE : EXIT_FAIL;
	ret = policy_configure(&p, &o);
	if (ret) {
		policy_close(&p);
		return EXIT_USAGE;
	}

	ret = EXIT_FAIL;
	if (kernel_check(true) || lock_take(LOCK_EXCLUSIVE) || live_read(&l))
		goto out;
	if (policy_attach(&p, &o, &l, do_replace, &r))
		goto out;
	print_attached(&p, &r);
	ret = EXIT_OK;
out:
	policy_close(&p);
	return ret;
}

/* Warn about what is left in the pin directory (others' pins, or ours of
 * another version). */
static void warn_leftovers(void)
{
	char names[1024] = "";
	size_t len = 0;
	struct dirent *de;
	DIR *d = opendir(ZDEDUP_PIN_DIR);

	if (!d)
		return;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' && len < sizeof(names) - 1)
			len += snprintf(names + len, sizeof(names) - len, "%s%s",
					len ? ", " : "", de->d_name);
	closedir(d);
	if (len)
		warn("left in %s: %s (pinned by another tool or another version of "
		     "zdedup-loader; remove them with rm when they are not needed)",
		     ZDEDUP_PIN_DIR, names);
}

int cmd_unload(int argc, char **argv)
{
	char name[ZDEDUP_INFO_NAME_LEN];
	struct live l;

	if (argc > 1) {
		if (is_help(argv[1])) {
			printf(unload_help, prog_name);
			return EXIT_OK;
		}
		p_err("unload: unexpected argument '%s'", argv[1]);
		return EXIT_USAGE;
	}
	if (lock_take(LOCK_EXCLUSIVE) || live_read(&l))
		return EXIT_FAIL;
	if (!l.pins) {
		const struct attached *a = &l.a;
		char pin[PATH_MAX];

		if (!a->attached)
			p_err("unload: no policy is loaded: nothing to unload (zswap uses its "
			      "built-in per-memcg policy)");
		else if (a->link_id && pin_find_link(a->link_id, pin, sizeof(pin)))
			p_err("unload: no policy loaded by zdedup-loader; the attached policy "
			      "'%s' was attached by another tool (link id %u): detach it "
			      "with 'rm %s'", a->name, a->link_id, pin);
		else if (a->legacy)
			p_err("unload: no policy loaded by zdedup-loader; the attached policy "
			      "'%s' was attached by another tool without a link (map id "
			      "%u): detach it with 'bpftool struct_ops unregister id %u'",
			      a->name, a->map_id, a->map_id);
		else
			p_err("unload: no policy loaded by zdedup-loader; the attached policy "
			      "'%s' was attached by another tool (link id %u): detach it "
			      "with 'bpftool link detach id %u'", a->name, a->link_id,
			      a->link_id);
		return EXIT_FAIL;
	}
	if (l.info_err == -EPROTO)
		warn("%s", l.info_problem);
	copy_str(name, sizeof(name), l.ours ? l.a.name : live_pinned_name(&l));
	if (l.stale && l.a.attached)
		warn("the pins are stale: policy '%s' is attached by another tool and "
		     "stays attached; removing only zdedup-loader's pins", l.a.name);
	if (policy_detach(&l))
		return EXIT_FAIL;
	warn_leftovers();
	if (json_output) {
		struct json j;

		json_begin(&j, stdout);
		json_obj_open(&j, NULL);
		json_str(&j, "policy", name);
		json_str(&j, "action", l.ours ? "detached" : "stale pins removed");
		json_obj_close(&j);
		json_end(&j);
	} else if (l.ours) {
		printf("policy '%s' detached and unpinned; zswap uses its built-in "
		       "per-memcg policy\n", name);
	} else {
		printf("stale pins of '%s' removed; %s\n", name, l.a.attached ?
		       "the attached policy is another tool's" :
		       "zswap uses its built-in per-memcg policy");
	}
	return EXIT_OK;
}

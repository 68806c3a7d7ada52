/* SPDX-License-Identifier: GPL-2.0 */
/*
 * load and unload.
 *
 * load attaches a policy through a struct_ops link and pins the link, the
 * policy's maps and an info record under ZDEDUP_PIN_DIR, in that order of
 * commitment: everything is pinned only once the kernel accepted the
 * policy, and a failure at any step removes what this run created, so a
 * failed load leaves the system as it found it.
 *
 * load --replace swaps the policy behind the pinned link with
 * BPF_LINK_UPDATE: the kernel switches from the old ops to the new ones in
 * one step, with no moment without a policy.  The new policy takes over
 * the old one's cgroup_policy map when both have one of the same layout,
 * so per-cgroup settings survive a replacement.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
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
"  --replace              replace the attached policy atomically\n"
"                         (without it, loading over a policy fails)\n"
"  --window PAGES         adaptive: pages per measurement window (default %u)\n"
"  --min-hit-rate PCT     adaptive: back off below PCT %% merged (default 3.125)\n"
"  --backoff PAGES        adaptive: pages not hashed when backing off (default %u)\n"
"  -h, --help             show this help\n";

static const char unload_help[] =
"Usage: %s unload\n"
"\n"
"Detach the policy loaded by zdedup-loader and remove its pins from\n"
ZDEDUP_PIN_DIR "; zswap falls back to its built-in per-memcg policy.\n"
"Pages already stored keep their dedup state.\n";

/* Explain who holds the hook, for a load that cannot proceed. */
static void explain_attached(const struct attached *a, bool ours,
			     const struct zdedup_info *info)
{
	char pin[PATH_MAX];

	if (ours) {
		err("policy '%s' is already attached (loaded by zdedup-loader from %s); "
		    "use 'load --replace' to replace it atomically, or 'unload' first",
		    a->name, info->source);
		return;
	}
	if (a->link_id && pin_find_link(a->link_id, pin, sizeof(pin))) {
		err("policy '%s' is already attached, by another tool (link id %u, "
		    "pinned at %s); zdedup-loader only replaces policies it loaded: "
		    "detach it with 'rm %s', then load again", a->name, a->link_id,
		    pin, pin);
	} else if (a->link_id) {
		err("policy '%s' is already attached, by another tool (link id %u); "
		    "zdedup-loader only replaces policies it loaded: detach it with "
		    "'bpftool link detach id %u' (or remove its pin), then load again",
		    a->name, a->link_id, a->link_id);
	} else if (a->legacy) {
		err("policy '%s' is already attached, by another tool, without a link "
		    "(map id %u, e.g. 'bpftool struct_ops register' of a .struct_ops "
		    "object): it cannot be replaced; detach it with 'bpftool struct_ops "
		    "unregister id %u', then load again", a->name, a->map_id, a->map_id);
	} else {
		err("policy '%s' is already attached, by another tool; detach it, then "
		    "load again", a->name);
	}
}

/* Link id of our pinned link; 0 if there is none. */
static __u32 pinned_link_id(int *fdp, __u32 *map_id)
{
	struct bpf_link_info li = {};
	__u32 len = sizeof(li);
	int fd = bpf_obj_get(ZDEDUP_PIN_LINK);

	if (fd < 0)
		return 0;
	if (bpf_link_get_info_by_fd(fd, &li, &len) || li.type != BPF_LINK_TYPE_STRUCT_OPS) {
		close(fd);
		return 0;
	}
	if (map_id)
		*map_id = li.struct_ops.map_id;
	if (fdp)
		*fdp = fd;
	else
		close(fd);
	return li.id;
}

/* Append "--NAME VALUE" to the options as recorded in the info pin. */
static void record_opt(struct policy_opts *o, const char *name, const char *val)
{
	size_t len = strlen(o->text);

	snprintf(o->text + len, sizeof(o->text) - len, "%s--%s %s", len ? " " : "",
		 name, val);
}

/* A number of pages for --window/--backoff; false (printed) if not one. */
static bool parse_pages(const char *opt, const char *val, __u32 *out)
{
	unsigned long long v;

	if (!parse_u64(val, 1, 1U << 30, &v)) {
		err("load: --%s wants a number of pages from 1 to %u, not '%s'", opt,
		    1U << 30, val);
		return false;
	}
	*out = v;
	return true;
}

/*
 * load's command line: POLICY and options in any order.  Returns 0, -1
 * after --help, or EXIT_USAGE (printed).
 */
static int parse_opts(int argc, char **argv, bool *replace, const char **what,
		      struct policy_opts *o)
{
	static const struct option longopts[] = {
		{ "replace",		no_argument,		NULL, 'r' },
		{ "window",		required_argument,	NULL, 'w' },
		{ "min-hit-rate",	required_argument,	NULL, 'm' },
		{ "backoff",		required_argument,	NULL, 'b' },
		{ "help",		no_argument,		NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	double pct;
	int c, idx;

	memset(o, 0, sizeof(*o));
	optind = 0;
	opterr = 0;
	for (;;) {
		idx = -1;
		c = getopt_long(argc, argv, "+:h", longopts, &idx);
		if (c == -1 && optind >= argc)
			break;
		switch (c) {
		case -1:	/* a positional argument: the policy */
			if (*what) {
				err("load: unexpected argument '%s' (one POLICY only)",
				    argv[optind]);
				return EXIT_USAGE;
			}
			*what = argv[optind++];
			continue;
		case 'h':
			printf(load_help, prog_name, ZDEDUP_ADAPTIVE_WINDOW,
			       ZDEDUP_ADAPTIVE_BACKOFF);
			return -1;
		case 'r':
			*replace = true;
			continue;
		case 'w':
			if (!parse_pages("window", optarg, &o->window))
				return EXIT_USAGE;
			o->has_window = true;
			break;
		case 'b':
			if (!parse_pages("backoff", optarg, &o->backoff))
				return EXIT_USAGE;
			o->has_backoff = true;
			break;
		case 'm':
			errno = 0;
			pct = strtod(optarg, &end);
			if (errno || end == optarg || *end || !(pct >= 0 && pct <= 100)) {
				err("load: --min-hit-rate wants a percentage from 0 to 100, "
				    "not '%s'", optarg);
				return EXIT_USAGE;
			}
			o->min_hit_ppm = (__u32)(pct * 10000 + 0.5);
			o->has_min_hit = true;
			break;
		case ':':
			err("load: option %s needs a value", argv[optind - 1]);
			return EXIT_USAGE;
		default:
			err("load: unknown option '%s' (see 'load --help')", argv[optind - 1]);
			return EXIT_USAGE;
		}
		record_opt(o, longopts[idx].name, optarg);
	}
	if (!*what) {
		err("load: which policy? (memcg, tenant, adaptive or a .bpf.o path; "
		    "see 'load --help')");
		return EXIT_USAGE;
	}
	return 0;
}

/* Reuse the live policy's cgroup_policy map in @p when layouts match. */
static void adopt_policy_map(struct policy *p, const struct zdedup_info *old)
{
	struct bpf_map *m = bpf_object__find_map_by_name(p->obj, ZDEDUP_MAP_CGROUP_POLICY);
	struct bpf_map_info mi = {};
	__u32 len = sizeof(mi);
	bool listed = false;
	int fd;

	for (__u32 i = 0; i < old->nr_maps && i < ZDEDUP_INFO_MAX_MAPS; i++)
		listed |= !strcmp(old->maps[i], ZDEDUP_MAP_CGROUP_POLICY);
	if (!m || !listed)
		return;
	fd = pin_open_map(ZDEDUP_MAP_CGROUP_POLICY);
	if (fd < 0)
		return;
	if (!bpf_map_get_info_by_fd(fd, &mi, &len) &&
	    mi.type == bpf_map__type(m) && mi.key_size == bpf_map__key_size(m) &&
	    mi.value_size == bpf_map__value_size(m) &&
	    mi.max_entries == bpf_map__max_entries(m) && !bpf_map__reuse_fd(m, fd)) {
		if (verbose)
			note("keeping the per-cgroup settings of '%s' (map %s)",
			     old->policy, ZDEDUP_MAP_CGROUP_POLICY);
	} else {
		warn("the %s map of '%s' and '%s' differ: per-cgroup settings start empty",
		     ZDEDUP_MAP_CGROUP_POLICY, old->policy, p->name);
	}
	close(fd);
}

/* Pin the maps, the info record and then @link; all or nothing. */
static int pin_new(struct policy *p, const struct policy_opts *o,
		   struct bpf_link *link)
{
	struct zdedup_info info;
	int ret;

	ret = pin_maps(p);
	if (ret)
		goto out_link;
	pin_fill_info(&info, p, o->text);
	ret = pin_write_info(&info);
	if (ret) {
		err("cannot pin %s: %s", ZDEDUP_PIN_INFO, errstr(ret));
		unpin_maps(&info, NULL);
		goto out_link;
	}
	ret = bpf_link__pin(link, ZDEDUP_PIN_LINK);
	if (ret) {
		err("cannot pin the policy's link at %s: %s", ZDEDUP_PIN_LINK,
		    errstr(ret));
		unpin_all(&info);
		goto out_link;
	}
	printf("policy '%s' attached (link id %u), pinned in %s\n", p->name,
	       pinned_link_id(NULL, NULL), ZDEDUP_PIN_DIR);
	bpf_link__disconnect(link);	/* the pin keeps it attached */
out_link:
	bpf_link__destroy(link);	/* without the pin: detaches */
	return ret;
}

/* Fresh attach: a new link, then the pins. */
static int attach_new(struct policy *p, const struct policy_opts *o)
{
	struct bpf_link *link;
	struct attached a;
	int ret;

	link = bpf_map__attach_struct_ops(p->ops);
	if (!link) {
		ret = -errno;
		if (ret == -EBUSY) {
			find_attached(&a);
			err("cannot attach policy '%s': policy '%s' was attached meanwhile "
			    "(the kernel takes one policy at a time)", p->name,
			    a.name[0] ? a.name : "?");
		} else {
			err("the kernel refused to attach policy '%s': %s", p->name,
			    errstr(ret));
		}
		return ret;
	}
	return pin_new(p, o, link);
}

/* Replace the policy behind our pinned link (BPF_LINK_UPDATE). */
static int replace(struct policy *p, const struct policy_opts *o,
		   const struct zdedup_info *old)
{
	LIBBPF_OPTS(bpf_link_update_opts, uo, .flags = BPF_F_REPLACE);
	struct zdedup_info info;
	struct bpf_link *link;
	int link_fd = -1, old_map_fd = -1, ret;
	__u32 link_id, old_map_id = 0;

	link_id = pinned_link_id(&link_fd, &old_map_id);
	if (!link_id || !old_map_id) {
		err("the pinned link %s is gone or detached; 'unload', then load again",
		    ZDEDUP_PIN_LINK);
		ret = -ENOLINK;
		goto out;
	}
	old_map_fd = bpf_map_get_fd_by_id(old_map_id);
	if (old_map_fd < 0) {
		ret = -errno;
		err("cannot open the attached policy's map (id %u): %s", old_map_id,
		    errstr(ret));
		goto out;
	}

	/*
	 * libbpf writes a struct_ops map's value (its programs) only when
	 * attaching it; bpf_link__update_map() needs a link object of this
	 * process.  So: attach, which writes the value and then fails with
	 * -EBUSY because our policy holds the hook, and update the pinned link
	 * with the now complete map.  Should the attach succeed, the hook was
	 * free after all, and the new link is the policy.
	 */
	link = bpf_map__attach_struct_ops(p->ops);
	if (link) {
		warn("the previous policy '%s' was no longer attached: '%s' is attached "
		     "on a new link", old->policy, p->name);
		unpin_all(old);
		ret = pin_new(p, o, link);
		goto out;
	}
	if (errno != EBUSY) {
		ret = -errno;
		err("the kernel refused policy '%s': %s", p->name, errstr(ret));
		goto out;
	}

	uo.old_map_fd = old_map_fd;
	ret = bpf_link_update(link_fd, bpf_map__fd(p->ops), &uo);
	if (ret) {
		ret = -errno;
		if (ret == -EPERM)
			err("the attached policy changed while '%s' was loading; try again",
			    p->name);
		else
			err("cannot replace '%s' with '%s' (BPF_LINK_UPDATE): %s",
			    old->policy, p->name, errstr(ret));
		goto out;
	}

	/* Attached.  Now the pins follow the new policy. */
	unpin_maps(old, p);
	ret = pin_maps(p);
	pin_fill_info(&info, p, o->text);
	if (pin_write_info(&info) && !ret)
		ret = -EIO;
	if (ret) {
		err("policy '%s' replaced '%s', but not all of its maps could be "
		    "pinned: 'set' and 'status' may not see it", p->name, old->policy);
		goto out;
	}
	printf("policy '%s' replaced '%s' atomically (link id %u), pinned in %s\n",
	       p->name, old->policy, link_id, ZDEDUP_PIN_DIR);
out:
	if (old_map_fd >= 0)
		close(old_map_fd);
	if (link_fd >= 0)
		close(link_fd);
	return ret;
}

int cmd_load(int argc, char **argv)
{
	struct zdedup_info old;
	struct policy_opts o;
	struct policy p;
	struct attached a;
	const char *what = NULL;
	bool do_replace = false, have_old, ours;
	int ret, err_old;

	ret = parse_opts(argc, argv, &do_replace, &what, &o);
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
	if (check_bpf_support())
		goto out;
	err_old = pin_read_info(&old);
	if (err_old == -EPROTO)
		goto out;
	have_old = !err_old;
	find_attached(&a);
	ours = a.attached && a.link_id && a.link_id == pinned_link_id(NULL, NULL);
	if (ours && !have_old) {
		memset(&old, 0, sizeof(old));
		copy_str(old.policy, sizeof(old.policy), a.name);
		copy_str(old.source, sizeof(old.source), "?");
	}

	if (a.attached && (!do_replace || !ours)) {
		explain_attached(&a, ours, &old);
		goto out;
	}
	if (!a.attached && pin_have_ours()) {
		/* Pins without a policy: the link was detached behind our back. */
		note("removing stale pins of '%s', which is no longer attached",
		     have_old ? old.policy : "?");
		unpin_all(have_old ? &old : NULL);
	}
	if (!a.attached && do_replace) {
		note("no policy is attached: loading without replacing");
		do_replace = false;
	}

	if (do_replace && have_old)
		adopt_policy_map(&p, &old);
	if (policy_load(&p))
		goto out;
	if (do_replace ? replace(&p, &o, &old) : attach_new(&p, &o))
		goto out;
	ret = EXIT_OK;
out:
	policy_close(&p);
	return ret;
}

int cmd_unload(int argc, char **argv)
{
	struct zdedup_info info;
	struct attached a;
	bool have_info;
	char pin[PATH_MAX];
	int fd;

	if (argc > 1) {
		if (is_help(argv[1])) {
			printf(unload_help, prog_name);
			return EXIT_OK;
		}
		err("unload: unexpected argument '%s'", argv[1]);
		return EXIT_USAGE;
	}

	have_info = pin_read_info(&info) == 0;
	if (!pin_have_ours()) {
		find_attached(&a);
		if (!a.attached) {
			err("no policy is loaded: nothing to unload "
			    "(zswap uses its built-in per-memcg policy)");
		} else if (a.link_id && pin_find_link(a.link_id, pin, sizeof(pin))) {
			err("no policy loaded by zdedup-loader; the attached policy '%s' "
			    "was attached by another tool (link id %u): detach it with "
			    "'rm %s'", a.name, a.link_id, pin);
		} else if (a.legacy) {
			err("no policy loaded by zdedup-loader; the attached policy '%s' "
			    "was attached by another tool without a link (map id %u): "
			    "detach it with 'bpftool struct_ops unregister id %u'",
			    a.name, a.map_id, a.map_id);
		} else {
			err("no policy loaded by zdedup-loader; the attached policy '%s' "
			    "was attached by another tool (link id %u): detach it with "
			    "'bpftool link detach id %u'", a.name, a.link_id, a.link_id);
		}
		return EXIT_FAIL;
	}

	/* Detach now, even if someone else holds the link open; then unpin. */
	fd = bpf_obj_get(ZDEDUP_PIN_LINK);
	if (fd >= 0) {
		if (bpf_link_detach(fd) && errno != EOPNOTSUPP && errno != ENOLINK)
			warn("detaching the policy's link: %s (removing its pin anyway)",
			     strerror(errno));
		close(fd);
	}
	unpin_all(have_info ? &info : NULL);

	find_attached(&a);
	if (a.attached) {
		err("pins removed, but policy '%s' is still attached (another process "
		    "holds its link open?)", a.name);
		return EXIT_FAIL;
	}
	printf("policy '%s' detached and unpinned; zswap uses its built-in per-memcg "
	       "policy\n", have_info ? info.policy : "?");
	return EXIT_OK;
}

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Opening, configuring and loading a policy object.
 *
 * The built-in policies (memcg, tenant, adaptive) are embedded in the
 * loader as libbpf skeletons; any other policy is a .bpf.o file given by
 * path.  Either way the rest of the loader works on the bpf_object and its
 * one struct_ops map of type zswap_dedup_ops, so a home-made policy gets
 * the same pinning, status and replacement as a built-in one.
 *
 * A struct_ops map from a plain SEC(".struct_ops") section is switched to
 * link mode (BPF_F_LINK) before load, so every policy is attached through
 * a link that can be pinned and atomically replaced.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <bpf/btf.h>
#include "zdedup-loader.h"
#include "memcg.skel.h"
#include "tenant.skel.h"
#include "adaptive.skel.h"

const struct builtin_policy builtin_policies[] = {
	{ "memcg",	"merge pages within their memory cgroup (the kernel's default)" },
	{ "tenant",	"per-cgroup off / private / group N, set with 'set'" },
	{ "adaptive",	"stop hashing cgroups whose pages do not repeat" },
	{ NULL, NULL },
};

/* The verifier's log of a failed load (libbpf retries with logging on). */
static char verifier_log[1 << 20];

static void destroy_memcg(void *s) { zdedup_memcg__destroy(s); }
static void destroy_tenant(void *s) { zdedup_tenant__destroy(s); }
static void destroy_adaptive(void *s) { zdedup_adaptive__destroy(s); }

static int open_builtin(const char *name, struct policy *p,
			const struct bpf_object_open_opts *opts)
{
	if (!strcmp(name, "memcg")) {
		struct zdedup_memcg *s = zdedup_memcg__open_opts(opts);

		if (!s)
			return -errno;
		p->skel = s;
		p->skel_destroy = destroy_memcg;
		p->obj = s->obj;
	} else if (!strcmp(name, "tenant")) {
		struct zdedup_tenant *s = zdedup_tenant__open_opts(opts);

		if (!s)
			return -errno;
		p->skel = s;
		p->skel_destroy = destroy_tenant;
		p->obj = s->obj;
	} else {
		struct zdedup_adaptive *s = zdedup_adaptive__open_opts(opts);

		if (!s)
			return -errno;
		p->skel = s;
		p->skel_destroy = destroy_adaptive;
		p->obj = s->obj;
	}
	return 0;
}

bool is_builtin_policy(const char *what)
{
	for (int i = 0; builtin_policies[i].name; i++)
		if (!strcmp(what, builtin_policies[i].name))
			return true;
	return false;
}

void policy_source_of(const char *what, char *buf, size_t size)
{
	char real[PATH_MAX];

	if (is_builtin_policy(what))
		snprintf(buf, size, "builtin:%s", what);
	else
		copy_str(buf, size, realpath(what, real) ? real : what);
}

/* The ops' .name, from the map's initial value in the object's layout. */
static void read_ops_name(struct policy *p, const struct btf *btf)
{
	long off = btf_member_offset(btf, bpf_map__btf_value_type_id(p->ops), "name");
	char tmp[sizeof(p->name) + 1] = "";
	size_t size = 0;
	const char *data = bpf_map__initial_value(p->ops, &size);

	if (data && off >= 0 && (size_t)off < size)
		memcpy(tmp, data + off, size - off < sizeof(p->name) ?
		       size - off : sizeof(p->name));
	copy_str(p->name, sizeof(p->name), tmp);
	if (!p->name[0])
		copy_str(p->name, sizeof(p->name), bpf_map__name(p->ops));
}

/*
 * Whether @tname names struct zswap_dedup_ops, possibly with a CO-RE
 * flavor ("zswap_dedup_ops___v2"), as libbpf matches it.
 */
static bool is_ops_type(const char *tname)
{
	size_t len = strlen(ZDEDUP_OPS_TYPE);

	return !strncmp(tname, ZDEDUP_OPS_TYPE, len) &&
	       (!tname[len] || !strncmp(tname + len, "___", 3));
}

/* Find the one zswap_dedup_ops map of the object and read its name. */
static int find_ops(struct policy *p)
{
	const struct btf *btf = bpf_object__btf(p->obj);
	struct bpf_map *map;
	int found = 0;

	bpf_object__for_each_map(map, p->obj) {
		const struct btf_type *t;
		const char *tname = "?";

		if (bpf_map__type(map) != BPF_MAP_TYPE_STRUCT_OPS)
			continue;
		t = btf ? btf__type_by_id(btf, bpf_map__btf_value_type_id(map)) : NULL;
		if (t)
			tname = btf__name_by_offset(btf, t->name_off);
		if (!is_ops_type(tname)) {
			p_err("%s: struct_ops map '%s' is a struct %s, not a struct %s: "
			      "a policy object holds exactly one struct %s",
			      p->source, bpf_map__name(map), tname, ZDEDUP_OPS_TYPE,
			      ZDEDUP_OPS_TYPE);
			return -EINVAL;
		}
		if (found++) {
			p_err("%s: more than one struct %s ('%s' and '%s'): a policy object "
			      "holds exactly one", p->source, ZDEDUP_OPS_TYPE,
			      bpf_map__name(p->ops), bpf_map__name(map));
			return -EINVAL;
		}
		p->ops = map;
	}
	if (!found) {
		p_err("%s: no struct %s in this object (declare one in "
		      "SEC(\".struct_ops.link\"), see bpf/memcg.bpf.c)",
		      p->source, ZDEDUP_OPS_TYPE);
		return -EINVAL;
	}

	if (!(bpf_map__map_flags(p->ops) & BPF_F_LINK)) {
		if (verbose)
			note("%s: attaching SEC(\".struct_ops\") map '%s' through a link",
			     p->source, bpf_map__name(p->ops));
		bpf_map__set_map_flags(p->ops, bpf_map__map_flags(p->ops) | BPF_F_LINK);
	}

	read_ops_name(p, btf);

	/* Its maps are pinned by name next to the loader's own pins. */
	bpf_object__for_each_map(map, p->obj) {
		if (bpf_map__is_internal(map) || bpf_map__type(map) == BPF_MAP_TYPE_STRUCT_OPS)
			continue;
		if (pin_name_reserved(bpf_map__name(map))) {
			p_err("%s: map '%s' has the name of zdedup-loader's own pin %s/%s, "
			      "where the maps of a policy are pinned too: rename the map",
			      p->source, bpf_map__name(map), ZDEDUP_PIN_DIR,
			      bpf_map__name(map));
			return -EINVAL;
		}
	}
	return 0;
}

int policy_open(const char *what, struct policy *p)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts,
		    .kernel_log_buf = verifier_log,
		    .kernel_log_size = sizeof(verifier_log));
	int ret;

	memset(p, 0, sizeof(*p));
	verifier_log[0] = '\0';

	if (is_builtin_policy(what)) {
		snprintf(p->source, sizeof(p->source), "builtin:%s", what);
		ret = open_builtin(what, p, &opts);
	} else if (strchr(what, '/') || access(what, F_OK) == 0) {
		struct stat st;

		if (access(what, R_OK) || stat(what, &st)) {
			ret = -errno;
			p_err("cannot read policy object '%s': %s", what, errstr(ret));
			return ret;
		}
		if (!S_ISREG(st.st_mode)) {
			p_err("policy object '%s' is not a regular file (a .bpf.o is)", what);
			return -EBADF;
		}
		policy_source_of(what, p->source, sizeof(p->source));
		p->obj = bpf_object__open_file(what, &opts);
		ret = p->obj ? 0 : -errno;
		if (ret == -EINVAL)
			ret = -ENOEXEC;		/* -EINVAL means "unknown name" */
	} else {
		p_err("unknown policy '%s': not a built-in policy (memcg, tenant, adaptive) "
		      "nor a .bpf.o file", what);
		return -EINVAL;
	}
	if (ret) {
		p_err("cannot open policy %s: %s%s", p->source, errstr(ret),
		      ret == -ENOEXEC ? " (not a BPF object file libbpf can read)" : "");
		p->obj = NULL;
		policy_close(p);
		/* -EINVAL is kept for "unknown policy name" (a usage error). */
		return ret == -EINVAL ? -EBADF : ret;
	}

	ret = find_ops(p);
	if (ret) {
		policy_close(p);
		return -EBADF;
	}
	return 0;
}

/* A variable of the object's .rodata, writable until load; NULL if absent. */
static void *rodata_var(struct policy *p, const char *name, size_t size)
{
	const struct btf *btf = bpf_object__btf(p->obj);
	const struct btf_var_secinfo *v;
	const struct btf_type *sec;
	struct bpf_map *map = NULL, *m;
	size_t map_size = 0;
	char *data;
	int id;

	if (!btf)
		return NULL;
	bpf_object__for_each_map(m, p->obj) {
		const char *n = bpf_map__name(m);
		size_t len = strlen(n);

		if (bpf_map__is_internal(m) && len >= 7 && !strcmp(n + len - 7, ".rodata")) {
			map = m;
			break;
		}
	}
	id = btf__find_by_name_kind(btf, ".rodata", BTF_KIND_DATASEC);
	if (!map || id <= 0)
		return NULL;
	data = bpf_map__initial_value(map, &map_size);
	sec = btf__type_by_id(btf, id);
	v = btf_var_secinfos(sec);
	for (int i = 0, n = btf_vlen(sec); data && i < n; i++, v++) {
		const struct btf_type *var = btf__type_by_id(btf, v->type);

		if (!strcmp(btf__name_by_offset(btf, var->name_off), name) &&
		    v->size == size && v->offset + size <= map_size)
			return data + v->offset;
	}
	return NULL;
}

int policy_configure(struct policy *p, const struct policy_opts *o)
{
	struct { bool set; const char *var, *opt; __u32 val; } knobs[] = {
		{ o->has_window, "window_pages", "--window", o->window },
		{ o->has_min_hit, "min_hit_ppm", "--min-hit-rate", o->min_hit_ppm },
		{ o->has_backoff, "backoff_pages", "--backoff", o->backoff },
	};

	for (size_t i = 0; i < sizeof(knobs) / sizeof(knobs[0]); i++) {
		__u32 *var;

		if (!knobs[i].set)
			continue;
		var = rodata_var(p, knobs[i].var, sizeof(__u32));
		if (!var) {
			p_err("policy '%s' has no tunable %s (option %s is for the adaptive policy)",
			      p->name, knobs[i].var, knobs[i].opt);
			return -EINVAL;
		}
		*var = knobs[i].val;
	}
	return 0;
}

int policy_load(struct policy *p)
{
	int ret;

	verifier_log[0] = '\0';
	ret = compat_fit_ops(p);
	if (ret)
		return ret;
	ret = bpf_object__load(p->obj);
	if (!ret)
		return 0;
	ret = -errno;
	if (verifier_log[0]) {
		p_err("the kernel rejected policy '%s' (%s); its verifier says:%s%s",
		      p->name, p->source, json_output ? "\n" : "",
		      json_output ? verifier_log : "");
		if (!json_output) {
			fprintf(stderr, "%s", verifier_log);
			if (verifier_log[strlen(verifier_log) - 1] != '\n')
				fputc('\n', stderr);
		}
	} else {
		p_err("cannot load policy '%s' (%s): %s", p->name, p->source,
		      errstr(ret));
	}
	return ret;
}

void policy_close(struct policy *p)
{
	if (p->skel)
		p->skel_destroy(p->skel);
	else if (p->obj)
		bpf_object__close(p->obj);
	p->skel = NULL;
	p->obj = NULL;
	p->ops = NULL;
}

/*
 * The options as recorded in the info pin, in one canonical order and
 * spelling, so that apply can tell whether the loaded policy has them.
 */
static void options_text(struct policy_opts *o)
{
	size_t len = 0;

	o->text[0] = '\0';
	if (o->has_window)
		len += snprintf(o->text + len, sizeof(o->text) - len, "--window %u",
				o->window);
	if (o->has_min_hit)
		len += snprintf(o->text + len, sizeof(o->text) - len,
				"%s--min-hit-rate %g", len ? " " : "",
				o->min_hit_ppm / 10000.0);
	if (o->has_backoff)
		snprintf(o->text + len, sizeof(o->text) - len, "%s--backoff %u",
			 len ? " " : "", o->backoff);
}

/* A number of pages for --window/--backoff; false (printed) if not one. */
static bool parse_pages(const char *where, const char *opt, const char *val,
			__u32 *out)
{
	unsigned long long v;

	if (!parse_u64(val, 1, 1U << 30, &v)) {
		p_err("%s: --%s wants a number of pages from 1 to %u, not '%s'", where,
		      opt, 1U << 30, val);
		return false;
	}
	*out = v;
	return true;
}

int policy_opt_parse(const char *where, int argc, char **argv, int *i,
		     struct policy_opts *o)
{
	static const char *const names[] = { "window", "min-hit-rate", "backoff" };
	const char *arg = argv[*i], *val = NULL, *eq;
	size_t len;
	int k;

	if (strncmp(arg, "--", 2))
		return 0;
	eq = strchr(arg, '=');
	len = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
	for (k = 0; k < 3; k++)
		if (strlen(names[k]) == len && !strncmp(arg + 2, names[k], len))
			break;
	if (k == 3)
		return 0;
	if (eq) {
		val = eq + 1;
	} else if (*i + 1 < argc) {
		val = argv[++*i];
	} else {
		p_err("%s: option --%s needs a value", where, names[k]);
		return -1;
	}
	switch (k) {
	case 0:
		if (!parse_pages(where, names[k], val, &o->window))
			return -1;
		o->has_window = true;
		break;
	case 1: {
		char *end;
		double pct;

		errno = 0;
		pct = strtod(val, &end);
		if (errno || end == val || *end || !(pct >= 0 && pct <= 100)) {
			p_err("%s: --min-hit-rate wants a percentage from 0 to 100, not '%s'",
			      where, val);
			return -1;
		}
		o->min_hit_ppm = (__u32)(pct * 10000 + 0.5);
		o->has_min_hit = true;
		break;
	}
	default:
		if (!parse_pages(where, names[k], val, &o->backoff))
			return -1;
		o->has_backoff = true;
		break;
	}
	options_text(o);
	(*i)++;
	return 1;
}

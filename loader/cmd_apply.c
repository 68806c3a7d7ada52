/* SPDX-License-Identifier: GPL-2.0 */
/*
 * apply FILE: make the live state what the configuration file says
 * (config.c), idempotently, and say what changed.
 *
 *   1. the whole file is checked first: syntax, policy, options, modes,
 *      cgroups (every error named FILE:LINE); nothing is touched when any
 *      is wrong;
 *   2. the policy: kept when the attached one was loaded by zdedup-loader
 *      from the same source with the same options; otherwise loaded, or
 *      replaced atomically (its maps carried over), or, for "policy
 *      builtin", unloaded;
 *   3. the settings: every cgroup of the file gets its mode where it
 *      differs; every entry the file does not name is removed (including
 *      those of cgroups that are gone); cgroups that do not exist yet are
 *      reported as pending.
 *
 * Running it twice changes nothing the second time.  --check does steps 1
 * and, when the live state can be read, says what 2 and 3 would do.  The
 * lock file is held from reading the live state to the last change.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include "zdedup-loader.h"

static const char apply_help[] =
"Usage: %s apply FILE [--check]\n"
"\n"
"Make the dedup policy and its per-cgroup settings what FILE says (e.g.\n"
"/etc/zdedup/zdedup.conf): load, replace or unload the policy, set the\n"
"modes that differ and remove the entries FILE does not name.  Running it\n"
"again changes nothing.  Errors name the file and the line.\n"
"\n"
"  --check     validate FILE and show what apply would change; change nothing\n"
"\n"
"FILE, one statement per line ('#' comments):\n"
"  policy NAME [OPTIONS]   builtin, memcg, tenant, adaptive or a .bpf.o path\n"
"                          (relative to FILE's directory), with load's options\n"
"  cgroup PATH MODE        a cgroup path (as for set) and its mode\n"
"  unit NAME MODE          a systemd unit or slice (tenant-a.slice) and its mode\n"
"MODE: off | private | group N.  See zdedup-loader(8) and zdedup.conf.example.\n";

enum action { A_KEEP, A_SET, A_UNSET, A_PENDING, A_FAILED };

static const char *const action_names[] = {
	[A_KEEP] = "kept", [A_SET] = "set", [A_UNSET] = "unset",
	[A_PENDING] = "pending", [A_FAILED] = "failed",
};

/* One line of the report. */
struct change {
	enum action action;
	const struct config_entry *e;	/* NULL for an entry the file lacks */
	__u64 id;
	char path[PATH_MAX];		/* "" when the cgroup is gone */
	bool had;			/* there was an entry before */
	struct zdedup_cgroup_policy was;
};

struct report {
	const char *policy_action;	/* kept, attached, replaced, unloaded, none */
	char policy[64];
	struct change *v;
	int n;
	int count[A_FAILED + 1];
};

/* The entries of the live cgroup_policy map. */
struct current {
	__u64 *ids;
	struct zdedup_cgroup_policy *pols;
	bool *claimed;			/* named by the file */
	int n, cap;
};

static int add_current(const void *key, const void *value, void *ctx)
{
	struct current *c = ctx;

	if (c->n == c->cap) {
		int cap = c->cap ? c->cap * 2 : 64;
		__u64 *ids = realloc(c->ids, cap * sizeof(*ids));
		struct zdedup_cgroup_policy *pols;
		bool *claimed;

		if (!ids)
			return -1;
		c->ids = ids;
		pols = realloc(c->pols, cap * sizeof(*pols));
		if (!pols)
			return -1;
		c->pols = pols;
		claimed = realloc(c->claimed, cap * sizeof(*claimed));
		if (!claimed)
			return -1;
		c->claimed = claimed;
		c->cap = cap;
	}
	memcpy(&c->ids[c->n], key, sizeof(__u64));
	memcpy(&c->pols[c->n], value, sizeof(c->pols[0]));
	c->claimed[c->n] = false;
	c->n++;
	return 0;
}

static void current_free(struct current *c)
{
	free(c->ids);
	free(c->pols);
	free(c->claimed);
}

static struct change *add_change(struct report *r, enum action a)
{
	struct change *v = realloc(r->v, (r->n + 1) * sizeof(*v));

	if (!v)
		return NULL;
	r->v = v;
	memset(&v[r->n], 0, sizeof(v[0]));
	v[r->n].action = a;
	r->count[a]++;
	return &v[r->n++];
}

/*
 * Step 3 against the map @fd (-1: none yet, as for a policy about to be
 * loaded fresh); changes it unless @dry.  0 or -1 (printed).
 */
static int apply_settings(const struct config *cfg, int fd, bool dry, struct report *r)
{
	struct current cur = {};
	int ret = 0;

	if (fd >= 0) {
		struct bpf_map_info mi = {};
		__u32 len = sizeof(mi);
		int n = bpf_map_get_info_by_fd(fd, &mi, &len) ? -errno :
			map_each(fd, &mi, add_current, &cur);

		if (n < 0) {
			p_err("apply: cannot read %s/%s: %s", ZDEDUP_PIN_DIR,
			      ZDEDUP_MAP_CGROUP_POLICY, errstr(n));
			current_free(&cur);
			return -1;
		}
	}
	for (int i = 0; i < cfg->n; i++) {
		const struct config_entry *e = &cfg->v[i];
		struct change *ch;
		int k;

		if (e->missing) {
			ch = add_change(r, A_PENDING);
			if (ch)
				ch->e = e;
			continue;
		}
		for (k = 0; k < cur.n && cur.ids[k] != e->ref.id; k++)
			;
		if (k < cur.n)
			cur.claimed[k] = true;
		if (k < cur.n && !memcmp(&cur.pols[k], &e->pol, sizeof(e->pol))) {
			ch = add_change(r, A_KEEP);
		} else if (!dry && bpf_map_update_elem(fd, &e->ref.id, &e->pol, BPF_ANY)) {
			p_err("%s:%d: cannot set %s: %s", cfg->file, e->line, e->ref.path,
			      strerror(errno));
			ch = add_change(r, A_FAILED);
			ret = -1;
		} else {
			ch = add_change(r, A_SET);
		}
		if (!ch)
			continue;
		ch->e = e;
		ch->id = e->ref.id;
		copy_str(ch->path, sizeof(ch->path), e->ref.path);
		if (k < cur.n) {
			ch->had = true;
			ch->was = cur.pols[k];
		}
	}
	for (int k = 0; k < cur.n; k++) {
		struct change *ch;

		if (cur.claimed[k])
			continue;
		if (!dry && bpf_map_delete_elem(fd, &cur.ids[k]) && errno != ENOENT) {
			p_err("apply: cannot remove the entry of cgroup id %llu: %s",
			      (unsigned long long)cur.ids[k], strerror(errno));
			ch = add_change(r, A_FAILED);
			ret = -1;
		} else {
			ch = add_change(r, A_UNSET);
		}
		if (!ch)
			continue;
		ch->id = cur.ids[k];
		ch->had = true;
		ch->was = cur.pols[k];
		if (!cgroup_path_of(ch->id, ch->path, sizeof(ch->path)))
			ch->path[0] = '\0';
	}
	current_free(&cur);
	return ret;
}

/* Is the attached policy ours, from the same source, with the same options? */
static bool same_policy(const struct config *cfg, const struct live *l)
{
	char source[256];

	if (!l->ours || l->info_err)
		return false;
	policy_source_of(cfg->policy, source, sizeof(source));
	return !strcmp(l->info.source, source) && !strcmp(l->info.options, cfg->opts.text);
}

/* Step 2; for @dry only what it would do.  0 or -1 (printed). */
static int apply_policy(const struct config *cfg, struct policy *p, struct live *l,
			bool dry, struct report *r)
{
	char where[PATH_MAX + 32];
	struct attach_result ar;

	snprintf(where, sizeof(where), "%s:%d", cfg->file, cfg->policy_line);
	if (l->info_err == -EPROTO) {
		p_err("%s: %s", where, l->info_problem);
		return -1;
	}
	if (cfg->builtin) {
		copy_str(r->policy, sizeof(r->policy), "builtin");
		if (l->a.attached && !l->ours) {
			p_err("%s: policy builtin, but policy '%s' is attached by another "
			      "tool; detach it first", where, l->a.name);
			return -1;
		}
		if (!l->pins) {
			r->policy_action = "kept";
			return 0;
		}
		r->policy_action = "unloaded";
		return dry ? 0 : policy_detach(l) ? -1 : 0;
	}
	copy_str(r->policy, sizeof(r->policy), p->name);
	if (same_policy(cfg, l)) {
		r->policy_action = "kept";
		return 0;
	}
	if (l->a.attached && !l->ours) {
		explain_attached(l, where);
		return -1;
	}
	r->policy_action = l->ours ? "replaced" : "attached";
	if (dry)
		return 0;
	if (policy_attach(p, &cfg->opts, l, l->ours, &ar))
		return -1;
	r->policy_action = ar.replaced ? "replaced" : "attached";
	return 0;
}

static void describe_was(char *buf, size_t size, const struct change *ch)
{
	char mode[32];

	if (!ch->had) {
		copy_str(buf, size, "no entry");
		return;
	}
	mode_describe(mode, sizeof(mode), &ch->was);
	copy_str(buf, size, mode);
}

static void print_text(const struct config *cfg, const struct report *r, bool dry)
{
	const char *would = dry ? "would be " : "";
	int changes = r->count[A_SET] + r->count[A_UNSET] +
		      (strcmp(r->policy_action, "kept") != 0);

	printf("%s: policy %s: %s%s\n", cfg->file, r->policy,
	       strcmp(r->policy_action, "kept") ? would : "",
	       strcmp(r->policy_action, "kept") ? r->policy_action :
	       "unchanged");
	for (int i = 0; i < r->n; i++) {
		const struct change *ch = &r->v[i];
		char mode[32], was[32];

		describe_was(was, sizeof(was), ch);
		if (ch->e)
			mode_describe(mode, sizeof(mode), &ch->e->pol);
		switch (ch->action) {
		case A_KEEP:
			if (verbose)
				printf("  %s: %s (unchanged)\n", ch->path, mode);
			break;
		case A_SET:
			printf("  %s: %s%s (was %s)  [line %d%s%s]\n", ch->path, dry ? "would be " : "",
			       mode, was, ch->e->line, ch->e->is_unit ? ", " : "",
			       ch->e->is_unit ? ch->e->ref.spec : "");
			break;
		case A_UNSET:
			printf("  %s: entry %sremoved (was %s; not in %s)\n",
			       ch->path[0] ? ch->path : "(gone)", would, was, cfg->file);
			break;
		case A_PENDING:
			printf("  %s: pending, line %d: %s\n", ch->e->ref.spec, ch->e->line,
			       ch->e->ref.why);
			break;
		case A_FAILED:
			printf("  %s: FAILED (see the error)\n", ch->path);
			break;
		}
	}
	if (!changes)
		printf("%s: no changes (%d setting%s in place%s)\n", cfg->file,
		       r->count[A_KEEP], r->count[A_KEEP] == 1 ? "" : "s",
		       r->count[A_PENDING] ? ", some pending" : "");
	else
		printf("%s: %s%d set, %d removed, %d unchanged, %d pending\n", cfg->file,
		       dry ? "would change: " : "", r->count[A_SET], r->count[A_UNSET],
		       r->count[A_KEEP], r->count[A_PENDING]);
}

static void print_json(const struct config *cfg, const struct report *r, bool dry,
		       const char *not_compared)
{
	struct json j;

	json_begin(&j, stdout);
	json_obj_open(&j, NULL);
	json_str(&j, "file", cfg->file);
	json_bool(&j, "check", dry);
	if (not_compared) {
		json_bool(&j, "valid", true);
		json_str(&j, "not_compared", not_compared);
		json_obj_close(&j);
		json_end(&j);
		return;
	}
	json_bool(&j, "changed", r->count[A_SET] || r->count[A_UNSET] ||
		  strcmp(r->policy_action, "kept"));
	json_obj_open(&j, "policy");
	json_str(&j, "name", r->policy);
	json_str(&j, "action", r->policy_action);
	json_obj_close(&j);
	json_arr_open(&j, "settings");
	for (int i = 0; i < r->n; i++) {
		const struct change *ch = &r->v[i];

		json_obj_open(&j, NULL);
		json_str(&j, "action", action_names[ch->action]);
		if (ch->path[0])
			json_str(&j, "cgroup", ch->path);
		else
			json_null(&j, "cgroup");
		if (ch->action != A_PENDING)
			json_u64(&j, "id", ch->id);
		if (ch->e) {
			json_u64(&j, "line", ch->e->line);
			json_str(&j, "spec", ch->e->ref.spec);
			json_str(&j, "mode", mode_name(ch->e->pol.mode));
			if (ch->e->pol.mode == ZDEDUP_MODE_GROUP)
				json_u64(&j, "group", ch->e->pol.group);
		}
		if (ch->had) {
			char was[32];

			describe_was(was, sizeof(was), ch);
			json_str(&j, "was", was);
		}
		json_obj_close(&j);
	}
	json_arr_close(&j);
	json_errors(&j);
	json_obj_close(&j);
	json_end(&j);
}

/* Open and check the policy the file names (no kernel needed). */
static int open_policy(const struct config *cfg, struct policy *p)
{
	int ret;

	ret = policy_open(cfg->policy, p);
	if (!ret)
		ret = policy_configure(p, &cfg->opts);
	if (ret) {
		p_err("%s:%d: policy '%s' cannot be used (see above)", cfg->file,
		      cfg->policy_line, cfg->policy);
		return -1;
	}
	if (cfg->n && !bpf_object__find_map_by_name(p->obj, ZDEDUP_MAP_CGROUP_POLICY)) {
		p_err("%s:%d: per-cgroup settings need a policy that takes them (tenant); "
		      "'%s' has no %s map (policy on line %d)", cfg->file, cfg->v[0].line,
		      p->name, ZDEDUP_MAP_CGROUP_POLICY, cfg->policy_line);
		return -1;
	}
	return 0;
}

int cmd_apply(int argc, char **argv)
{
	struct report r = { .policy_action = "kept" };
	const char *file = NULL;
	struct config cfg;
	struct policy p = {};
	bool check = false;
	char why[1024] = "";
	struct live l;
	int fd = -1, ret = EXIT_FAIL;
	bool live_ok;

	for (int i = 1; i < argc; i++) {
		if (is_help(argv[i])) {
			printf(apply_help, prog_name);
			return EXIT_OK;
		} else if (!strcmp(argv[i], "--check")) {
			check = true;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			p_err("apply: unknown option '%s' (see 'apply --help')", argv[i]);
			return EXIT_USAGE;
		} else if (file) {
			p_err("apply: one FILE at a time (unexpected '%s')", argv[i]);
			return EXIT_USAGE;
		} else {
			file = argv[i];
		}
	}
	if (!file) {
		p_err("apply: which file? (e.g. 'apply /etc/zdedup/zdedup.conf')");
		return EXIT_USAGE;
	}

	if (config_parse(file, &cfg))
		return EXIT_FAIL;
	if (!cfg.builtin && open_policy(&cfg, &p))
		goto out;

	if (check) {
		/* The live state is compared when it can be read; the file is
		 * valid either way. */
		errors_capture(why, sizeof(why));
		live_ok = !lock_take(LOCK_SHARED) && !live_read(&l);
		errors_capture(NULL, 0);
		if (!live_ok) {
			if (json_output)
				print_json(&cfg, &r, true, why);
			else
				printf("%s is valid; the live state was not compared: %s\n",
				       file, why);
			ret = EXIT_OK;
			goto out;
		}
	} else if (kernel_check(true) || lock_take(LOCK_EXCLUSIVE) || live_read(&l)) {
		goto out;
	}

	if (apply_policy(&cfg, &p, &l, check, &r))
		goto out;
	/* A policy without a cgroup_policy map has no settings to compare. */
	if (!cfg.builtin && bpf_object__find_map_by_name(p.obj, ZDEDUP_MAP_CGROUP_POLICY)) {
		if (check) {
			/* Against what the policy would have: the live entries when
			 * it is ours (kept, or replaced and carried over). */
			struct bpf_map_info mi;

			if (l.ours && !l.info_err) {
				fd = map_open_pinned(&layout_policy, &mi);
				if (fd < 0 && fd != -ENOENT)
					goto out;
			}
		} else {
			if (strcmp(r.policy_action, "kept") && live_read(&l))
				goto out;
			fd = live_policy_map(&l, "apply");
			if (fd < 0)
				goto out;
		}
		if (apply_settings(&cfg, fd, check, &r))
			goto report;
	}
	ret = EXIT_OK;
report:
	if (json_output)
		print_json(&cfg, &r, check, NULL);
	else
		print_text(&cfg, &r, check);
out:
	if (fd >= 0)
		close(fd);
	if (!cfg.builtin)
		policy_close(&p);
	free(r.v);
	config_free(&cfg);
	return ret;
}

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The configuration file of `apply` (e.g. /etc/zdedup/zdedup.conf): the
 * state zdedup should be in, one statement per line.
 *
 *   # comment (from '#' at the start of a word to the end of the line)
 *   policy tenant                      builtin (none), memcg, tenant,
 *   policy adaptive --window 128       adaptive or a .bpf.o path (relative
 *                                      to the file's directory), with the
 *                                      options of 'load'
 *   cgroup tenants/A group 7           a cgroup path and a mode, as 'set'
 *   unit tenant-a.slice group 7        a systemd unit or slice and a mode
 *   unit batch.service off
 *
 * Exactly one policy line; at most one setting per cgroup.  Every problem
 * is reported as FILE:LINE: what is wrong, and parsing goes on so that one
 * run shows them all.  A cgroup that does not exist (a unit not running
 * yet) is not an error: apply reports it as pending.
 */
#include <errno.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "zdedup-loader.h"

#define CONFIG_MAX_BYTES	(1 << 20)
#define CONFIG_MAX_LINE		4096
#define CONFIG_MAX_WORDS	32

/* Split @line into words at blanks, dropping a '#' comment; returns count,
 * or -1 when there are too many. */
static int split(char *line, char **w)
{
	int n = 0;
	char *p = line;

	for (;;) {
		while (*p == ' ' || *p == '\t' || *p == '\r')
			p++;
		if (!*p || *p == '#')
			break;
		if (n == CONFIG_MAX_WORDS)
			return -1;
		w[n++] = p;
		while (*p && *p != ' ' && *p != '\t' && *p != '\r')
			p++;
		if (*p)
			*p++ = '\0';
	}
	return n;
}

/* A policy object named relative to the configuration file's directory. */
static void resolve_object(const char *file, const char *name, char *out, size_t size)
{
	char dir[PATH_MAX];

	if (name[0] == '/') {
		copy_str(out, size, name);
		return;
	}
	copy_str(dir, sizeof(dir), file);
	snprintf(out, size, "%s/%s", dirname(dir), name);
}

static int parse_policy(struct config *c, int line, int n, char **w)
{
	char where[PATH_MAX + 32];

	snprintf(where, sizeof(where), "%s:%d", c->file, line);
	if (c->policy_line) {
		p_err("%s: a second policy line (the first is line %d): one policy at "
		      "a time", where, c->policy_line);
		return -1;
	}
	c->policy_line = line;
	if (n < 2) {
		p_err("%s: which policy? (builtin, memcg, tenant, adaptive or a .bpf.o "
		      "path)", where);
		return -1;
	}
	if (!strcmp(w[1], "builtin") || !strcmp(w[1], "none")) {
		c->builtin = true;
		if (n > 2) {
			p_err("%s: policy %s takes no options ('%s')", where, w[1], w[2]);
			return -1;
		}
		return 0;
	}
	if (is_builtin_policy(w[1])) {
		copy_str(c->policy, sizeof(c->policy), w[1]);
	} else if (strchr(w[1], '/') || strstr(w[1], ".bpf.o")) {
		resolve_object(c->file, w[1], c->policy, sizeof(c->policy));
		if (access(c->policy, R_OK)) {
			p_err("%s: policy object %s: %s", where, c->policy, strerror(errno));
			return -1;
		}
	} else {
		p_err("%s: unknown policy '%s' (builtin, memcg, tenant, adaptive or the "
		      "path of a .bpf.o)", where, w[1]);
		return -1;
	}
	for (int i = 2; i < n;) {
		int r = policy_opt_parse(where, n, w, &i, &c->opts);

		if (r < 0)
			return -1;
		if (!r) {
			p_err("%s: unknown policy option '%s' (--window, --min-hit-rate, "
			      "--backoff)", where, w[i]);
			return -1;
		}
	}
	return 0;
}

static struct config_entry *new_entry(struct config *c)
{
	if (c->n == c->cap) {
		int cap = c->cap ? c->cap * 2 : 16;
		struct config_entry *v = realloc(c->v, cap * sizeof(*v));

		if (!v)
			return NULL;
		c->v = v;
		c->cap = cap;
	}
	memset(&c->v[c->n], 0, sizeof(c->v[0]));
	return &c->v[c->n++];
}

/* Another line already names this cgroup?  Its line number, else 0. */
static int duplicate(const struct config *c, const struct config_entry *e)
{
	for (int i = 0; i < c->n - 1; i++) {
		const struct config_entry *o = &c->v[i];

		if (!o->missing && !e->missing && o->ref.id == e->ref.id)
			return o->line;
		if (!strcmp(o->ref.spec, e->ref.spec))
			return o->line;
	}
	return 0;
}

static int parse_setting(struct config *c, int line, int n, char **w)
{
	char where[PATH_MAX + 32];
	struct config_entry *e;
	int used, ret, dup;

	snprintf(where, sizeof(where), "%s:%d", c->file, line);
	if (n < 2) {
		p_err("%s: %s what? ('%s %s MODE')", where, w[0], w[0],
		      !strcmp(w[0], "unit") ? "NAME" : "PATH");
		return -1;
	}
	if (c->n >= ZDEDUP_MAX_CGROUPS) {
		p_err("%s: more than %d settings (the policy's map holds %d)", where,
		      ZDEDUP_MAX_CGROUPS, ZDEDUP_MAX_CGROUPS);
		return -1;
	}
	e = new_entry(c);
	if (!e) {
		p_err("%s: out of memory", where);
		return -1;
	}
	e->line = line;
	e->is_unit = !strcmp(w[0], "unit");
	used = mode_parse(where, n - 2, w + 2, &e->pol);
	if (!used)
		goto bad;
	if (n > 2 + used) {
		p_err("%s: unexpected '%s' after the mode", where, w[2 + used]);
		goto bad;
	}
	ret = e->is_unit ? cgroup_from_unit(w[1], &e->ref) : cgroup_from_path(w[1], &e->ref);
	if (ret == -ENOENT) {
		e->missing = true;
	} else if (ret) {
		p_err("%s: %s", where, e->ref.why);
		goto bad;
	} else if (!cgroup_has_memory(&e->ref)) {
		p_err("%s: %s", where, e->ref.why);
		goto bad;
	}
	if (!e->is_unit)
		snprintf(e->ref.spec, sizeof(e->ref.spec), "%s", w[1]);
	dup = duplicate(c, e);
	if (dup) {
		p_err("%s: %s is set on line %d already: one setting per cgroup", where,
		      e->missing || !e->ref.path[0] ? e->ref.spec : e->ref.path, dup);
		goto bad;
	}
	return 0;
bad:
	c->n--;
	return -1;
}

int config_parse(const char *file, struct config *c)
{
	char *text, *line, *next;
	int ret, lineno = 0, errors = 0;
	size_t len;

	memset(c, 0, sizeof(*c));
	copy_str(c->file, sizeof(c->file), file);
	ret = read_file(file, CONFIG_MAX_BYTES, &text, &len);
	if (ret) {
		p_err("cannot read %s: %s", file, ret == -EFBIG ?
		      "larger than 1 MiB: not a zdedup configuration" : strerror(-ret));
		return ret;
	}
	if (strlen(text) != len) {
		p_err("%s: holds a NUL byte: not a text file", file);
		free(text);
		return -EINVAL;
	}
	for (line = text; line && *line; line = next) {
		char *w[CONFIG_MAX_WORDS];
		int n;

		lineno++;
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		if (strlen(line) > CONFIG_MAX_LINE) {
			p_err("%s:%d: line longer than %d characters", file, lineno,
			      CONFIG_MAX_LINE);
			errors++;
			continue;
		}
		n = split(line, w);
		if (n < 0) {
			p_err("%s:%d: more than %d words", file, lineno, CONFIG_MAX_WORDS);
			errors++;
		} else if (!n) {
			continue;
		} else if (!strcmp(w[0], "policy")) {
			errors += parse_policy(c, lineno, n, w) < 0;
		} else if (!strcmp(w[0], "cgroup") || !strcmp(w[0], "unit")) {
			errors += parse_setting(c, lineno, n, w) < 0;
		} else {
			p_err("%s:%d: unknown statement '%.64s' (policy, cgroup or unit)", file,
			      lineno, w[0]);
			errors++;
		}
		if (errors >= 20) {
			p_err("%s: too many errors, stopping", file);
			break;
		}
	}
	free(text);
	if (!errors && !c->policy_line) {
		p_err("%s: no policy line: say which policy, e.g. 'policy tenant' (or "
		      "'policy builtin' for none)", file);
		errors++;
	}
	if (!errors && c->builtin && c->n) {
		p_err("%s:%d: per-cgroup settings need a policy that takes them (tenant); "
		      "the built-in policy has none (policy on line %d)", file,
		      c->v[0].line, c->policy_line);
		errors++;
	}
	if (errors) {
		config_free(c);
		return -EINVAL;
	}
	return 0;
}

void config_free(struct config *c)
{
	free(c->v);
	c->v = NULL;
	c->n = c->cap = 0;
}

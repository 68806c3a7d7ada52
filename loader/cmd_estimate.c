/* SPDX-License-Identifier: GPL-2.0 */
/*
 * estimate: how many pages dedup would merge on this host, before
 * installing anything.  Reads the anonymous pages of the processes of the
 * cgroups asked for (estimate_scan.c), and counts their duplicates within
 * each cgroup (what the built-in policy merges), within proposed tenant
 * groups (--group: what the tenant policy would merge) and across the host
 * (what KSM could merge) (estimate_table.c).  Needs only what every
 * kernel the project supports has (smaps' Anonymous and Swap fields,
 * pagemap's present, swapped, file and PFN bits, /proc/PID/mem): any
 * Linux >= 6.1, patched or not, as root; no BPF, no lock, no change to
 * the live state.
 */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "estimate.h"

static const char estimate_help[] =
"Usage: %s estimate [CGROUP...] [--group CGROUP,CGROUP...]... [OPTIONS]\n"
"\n"
"Estimate what dedup would save, on any kernel (no zdedup kernel, no BPF):\n"
"read the anonymous pages of the processes in each CGROUP and its\n"
"descendants (default: every process of the host), hash each page (xxh64),\n"
"and count, in pages, bytes and percent of the non-zero pages:\n"
"  zero pages       counted apart (stock zswap already stores them as zero)\n"
"  per cgroup       duplicates within each cgroup: the built-in policy\n"
"                   (none in the root cgroup, which it does not merge)\n"
"  tenant groups    duplicates within each --group and within each cgroup\n"
"                   outside the groups: the tenant policy with those groups\n"
"  host             duplicates across every page read: what KSM could merge\n"
"Pages in swap are counted apart and not read. The scanned processes are\n"
"only read (/proc/PID/mem), never stopped; the read marks their pages as\n"
"recently used for reclaim, as any access does. Needs root.\n"
"\n"
"  CGROUP               a cgroup path, --unit NAME, or --pid PID (that\n"
"                       process only); several may be given\n"
"  --group A,B,...      A, B, ... (cgroup paths or unit names) form one\n"
"                       tenant group; repeat for more groups\n"
"  --include-swapped    also read pages in swap (faults them back in)\n"
"  --max-pages N        at most N pages in the tables (default %llu, about\n"
"                       32 bytes each); beyond it, sample by content\n"
"  --timeout SECONDS    stop after SECONDS; the result is marked partial\n"
"  --no-progress        no progress lines on stderr (printed every 2 s\n"
"                       once a scan has taken 2 s)\n"
"  -j, --json           one JSON document\n"
"  -h, --help           show this help\n"
"\n"
"A result is \"partial\" when a process exited during the scan, could not be\n"
"read, or the time ran out; the figures are then those of what was read.\n";

/* A process to scan and its cgroup. */
struct target {
	pid_t pid;
	__u32 cg;
};

struct targets {
	struct target *v;
	size_t n, cap;
};

/* The index of cgroup @path in @e->cg, added if new; -1: out of memory. */
static int cg_index(struct est *e, const char *path)
{
	for (size_t i = 0; i < e->nr_cg; i++)
		if (!strcmp(e->cg[i].path, path))
			return i;
	if (e->nr_cg == e->cap_cg) {
		size_t cap = e->cap_cg ? e->cap_cg * 2 : 16;
		struct est_cgroup *v = realloc(e->cg, cap * sizeof(*v));

		if (!v)
			return -1;
		e->cg = v;
		e->cap_cg = cap;
	}
	memset(&e->cg[e->nr_cg], 0, sizeof(e->cg[0]));
	copy_str(e->cg[e->nr_cg].path, sizeof(e->cg[0].path), path);
	e->cg[e->nr_cg].group = -1;
	return e->nr_cg++;
}

static int add_target(struct est *e, struct targets *t, pid_t pid, const char *path)
{
	int cg;

	if (pid == getpid())
		return 0;		/* not ourselves */
	for (size_t i = 0; i < t->n; i++)
		if (t->v[i].pid == pid)
			return 0;	/* named twice (overlapping cgroups) */
	cg = cg_index(e, path);
	if (cg < 0)
		return -ENOMEM;
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		struct target *v = realloc(t->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		t->v = v;
		t->cap = cap;
	}
	t->v[t->n].pid = pid;
	t->v[t->n].cg = cg;
	t->n++;
	return 0;
}

/* Every process of cgroup @path ("/a/b") and its descendants. */
static int add_cgroup(struct est *e, struct targets *t, const char *path)
{
	char abs[PATH_MAX + 32], *procs = NULL, *line, *save = NULL;
	struct dirent *de;
	int ret;
	DIR *d;

	snprintf(abs, sizeof(abs), "%s%s/cgroup.procs", cgroup_root(),
		 strcmp(path, "/") ? path : "");
	/* A threaded cgroup cannot list processes; its domain did. */
	if (!read_file(abs, 64 << 20, &procs, NULL)) {
		for (line = strtok_r(procs, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save)) {
			ret = add_target(e, t, atoi(line), path);
			if (ret) {
				free(procs);
				return ret;
			}
		}
		free(procs);
	}
	snprintf(abs, sizeof(abs), "%s%s", cgroup_root(), strcmp(path, "/") ? path : "");
	d = opendir(abs);
	if (!d)
		return 0;		/* removed meanwhile */
	while ((de = readdir(d))) {
		char sub[PATH_MAX];

		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		if (snprintf(sub, sizeof(sub), "%s/%s", strcmp(path, "/") ? path : "",
			     de->d_name) >= (int)sizeof(sub))
			continue;
		ret = add_cgroup(e, t, sub);
		if (ret) {
			closedir(d);
			return ret;
		}
	}
	closedir(d);
	return 0;
}

/* A --group member: a cgroup path, else a unit name. */
static int group_member(const char *name, struct cgroup_ref *ref)
{
	char why[256];

	memset(ref, 0, sizeof(*ref));
	if (!cgroup_from_path(name, ref))
		return 0;
	if (unit_name_valid(name, why, sizeof(why))) {
		struct cgroup_ref u = {};

		if (!cgroup_from_unit(name, &u)) {
			*ref = u;
			return 0;
		}
		copy_str(ref->why, sizeof(ref->why), u.why);
	}
	return -ENOENT;
}

static int parse_group(struct est *e, const char *spec)
{
	struct est_group *g;
	char buf[sizeof(g->spec)], *tok, *save = NULL;

	if (e->nr_groups == EST_MAX_GROUPS) {
		p_err("estimate: at most %d --group options", EST_MAX_GROUPS);
		return EXIT_USAGE;
	}
	g = &e->groups[e->nr_groups];
	copy_str(g->spec, sizeof(g->spec), spec);
	copy_str(buf, sizeof(buf), spec);
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		struct cgroup_ref ref;

		if (g->nr_members == (int)(sizeof(g->members) / sizeof(g->members[0]))) {
			p_err("estimate: --group %s: at most %zu cgroups a group", spec,
			      sizeof(g->members) / sizeof(g->members[0]));
			return EXIT_USAGE;
		}
		if (group_member(tok, &ref)) {
			p_err("estimate: --group %s: %s", spec, ref.why);
			return EXIT_FAIL;
		}
		copy_str(g->members[g->nr_members++], PATH_MAX, ref.path);
	}
	if (!g->nr_members) {
		p_err("estimate: --group wants cgroups separated by commas, not '%s'", spec);
		return EXIT_USAGE;
	}
	e->nr_groups++;
	return 0;
}

/* Is @path @top or under it? */
static bool under(const char *path, const char *top)
{
	size_t n = strlen(top);

	if (!strcmp(top, "/"))
		return true;
	return !strncmp(path, top, n) && (path[n] == '/' || !path[n]);
}

/* Each cgroup's tenant group: the first group naming it or an ancestor. */
static void assign_groups(struct est *e)
{
	for (size_t i = 0; i < e->nr_cg; i++)
		for (int g = 0; g < e->nr_groups && e->cg[i].group < 0; g++)
			for (int m = 0; m < e->groups[g].nr_members; m++)
				if (under(e->cg[i].path, e->groups[g].members[m])) {
					e->cg[i].group = g;
					break;
				}
}

/* --group, --max-pages, --timeout: @name's value @v. */
static int valued_opt(struct est *e, const char *name, const char *v)
{
	unsigned long long n;
	char *end;

	if (!strcmp(name, "--group"))
		return parse_group(e, v);
	if (!strcmp(name, "--max-pages")) {
		if (!parse_u64(v, 16, 1ULL << 32, &n)) {
			p_err("estimate: --max-pages wants a number of pages from 16 to "
			      "4294967296, not '%s'", v);
			return EXIT_USAGE;
		}
		e->max_pages = n;
		return 0;
	}
	errno = 0;
	e->timeout = strtod(v, &end);
	if (errno || *end || end == v || !(e->timeout > 0 && e->timeout <= 86400 * 7)) {
		p_err("estimate: --timeout wants seconds (more than 0, at most a week), "
		      "not '%s'", v);
		return EXIT_USAGE;
	}
	return 0;
}

/* Is @a one of the options with a value, as "--opt" or "--opt=value"? */
static const char *valued_name(const char *a, const char **inline_val)
{
	static const char *const names[] = { "--group", "--max-pages", "--timeout" };

	for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
		size_t n = strlen(names[k]);

		if (strncmp(a, names[k], n) || (a[n] && a[n] != '='))
			continue;
		*inline_val = a[n] ? a + n + 1 : NULL;
		return names[k];
	}
	return NULL;
}

static int parse_args(int argc, char **argv, struct est *e, struct targets *t)
{
	bool scoped = false;
	const char *name, *v;
	int ret;

	for (int i = 1; i < argc;) {
		const char *a = argv[i];

		if (is_help(a)) {
			printf(estimate_help, prog_name, EST_DEFAULT_MAX_PAGES);
			printf("\n");
			printf(cgroup_arg_help, cgroup_root());
			return -1;
		} else if (!strcmp(a, "--include-swapped")) {
			e->include_swapped = true;
			i++;
		} else if (!strcmp(a, "--no-progress")) {
			e->progress = false;
			i++;
		} else if ((name = valued_name(a, &v))) {
			if (!v && i + 1 >= argc) {
				p_err("estimate: option %s needs a value", a);
				return EXIT_USAGE;
			}
			if (!v)
				v = argv[++i];
			i++;
			ret = valued_opt(e, name, v);
			if (ret)
				return ret;
		} else {
			struct cgroup_arg arg;
			struct cgroup_ref ref;

			ret = cgroup_arg("estimate", argc, argv, &i, &arg);
			if (ret)
				return ret;
			ret = cgroup_arg_resolve("estimate", &arg, &ref);
			if (ret)
				return ret;
			size_t before = t->n;

			scoped = true;
			if (arg.kind == CGROUP_ARG_PID)
				ret = add_target(e, t, atoi(arg.val), ref.path);
			else
				ret = add_cgroup(e, t, ref.path);
			if (!ret && t->n == before && arg.kind != CGROUP_ARG_PID) {
				p_err("estimate: cgroup %s has no processes: nothing to "
				      "estimate", ref.path);
				return EXIT_FAIL;
			}
			if (ret) {
				p_err("estimate: %s", errstr(ret));
				return EXIT_FAIL;
			}
		}
	}
	if (!scoped) {
		ret = add_cgroup(e, t, "/");
		if (ret) {
			p_err("estimate: %s", errstr(ret));
			return EXIT_FAIL;
		}
	}
	return 0;
}

static void scan_all(struct est *e, const struct targets *t)
{
	unsigned long vanished = 0, failed = 0;
	char failed_what[256] = "";

	e->procs_total = t->n;
	for (size_t i = 0; i < t->n; i++) {
		struct est_cgroup *c = &e->cg[t->v[i].cg];
		int ret;

		if (e->timeout && est_now() - e->start > e->timeout) {
			e->timed_out = true;
			est_partial(e, "the --timeout of %g s ran out after %lu of %lu "
				    "processes", e->timeout, e->procs_done, e->procs_total);
			break;
		}
		ret = est_scan_process(e, t->v[i].pid, t->v[i].cg);
		e->procs_done++;
		if (ret == -ENODATA)		/* a kernel thread: no memory */
			continue;
		c->procs++;
		if (ret == -ESRCH) {
			c->vanished++;
			vanished++;
		} else if (ret == -ETIME) {
			e->timed_out = true;
			est_partial(e, "the --timeout of %g s ran out in process %lu of %lu "
				    "(pid %d)", e->timeout, e->procs_done, e->procs_total,
				    (int)t->v[i].pid);
			break;
		} else if (ret) {
			if (!failed++)
				fmt_msg(failed_what, sizeof(failed_what), "process %d: %s",
					(int)t->v[i].pid, errstr(ret));
		}
	}
	if (vanished)
		est_partial(e, "%lu process%s exited before or during %s scan", vanished,
			    vanished > 1 ? "es" : "", vanished > 1 ? "their" : "its");
	if (failed)
		est_partial(e, "%lu process%s could not be read (%s%s)", failed,
			    failed > 1 ? "es" : "", failed_what, failed > 1 ? ", ..." : "");
	e->elapsed = est_now() - e->start;
}

int cmd_estimate(int argc, char **argv)
{
	struct targets t = {};
	struct est e = {
		.max_pages = EST_DEFAULT_MAX_PAGES,
		.progress = true,
	};
	unsigned long long read = 0;
	int ret;

	e.page_size = sysconf(_SC_PAGESIZE);
	ret = parse_args(argc, argv, &e, &t);
	if (ret) {
		ret = ret < 0 ? EXIT_OK : ret;
		goto out;
	}
	if (geteuid() != 0) {
		p_err("estimate: reading other processes' memory (/proc/PID/mem, and "
		      "pagemap's page frame numbers) needs root; run it as root");
		ret = EXIT_FAIL;
		goto out;
	}
	if (!t.n) {
		p_err("estimate: no processes to scan (the only one named is this one)");
		ret = EXIT_FAIL;
		goto out;
	}
	assign_groups(&e);
	if (est_table_init(&e)) {
		p_err("estimate: cannot allocate the table of %llu pages (%llu MiB); "
		      "give a smaller --max-pages", e.max_pages,
		      (e.max_pages * (sizeof(struct est_rec) + 2 * sizeof(__u64))) >> 20);
		ret = EXIT_FAIL;
		goto out;
	}
	e.start = est_now();
	scan_all(&e, &t);
	/* What was read of a process that then exited still counts. */
	for (size_t i = 0; i < e.nr_cg; i++)
		read += e.cg[i].c.pages + e.cg[i].swapped;
	if (!read && !e.timed_out) {
		p_err("estimate: no page could be read: %s", e.partial ? e.partial_why :
		      "the processes have no anonymous pages (kernel threads?)");
		ret = EXIT_FAIL;
		goto out;
	}
	est_group_by(&e);
	if (json_output)
		est_print_json(&e);
	else
		est_print_text(&e);
	ret = EXIT_OK;
out:
	est_table_free(&e);
	free(e.cg);
	free(t.v);
	return ret;
}

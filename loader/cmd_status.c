/* SPDX-License-Identifier: GPL-2.0 */
/*
 * status: what is attached, whether dedup is on, the kernel's counters and
 * the per-cgroup figures (status_rows.c), printed as text, JSON or
 * Prometheus text (status_print.c); and --watch, live rates.
 *
 * A status that cannot see the kernel's policies (no permission, no hook)
 * fails and says why: it never reports "builtin" for a policy it could not
 * see.  Stale pins are reported and their maps not shown.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "status.h"

static const char status_help[] =
"Usage: %s status [--prometheus]\n"
"       %s status --watch [SECONDS] [--count N]\n"
"\n"
"Show the attached dedup policy, whether dedup is enabled, zswap's counters\n"
"(" DEBUGFS_ZSWAP ", when mounted) and per-cgroup figures: the policy's\n"
"own (mode, pages hashed, merged, skipped) and memory.stat's (zswapped,\n"
"zswap, zswpout_dedup), which need neither a policy nor debugfs.\n"
"\n"
"  --watch [SECONDS]  live rates every SECONDS (default 1) until interrupted:\n"
"                     pages stored, shared and hashed per second, bytes saved\n"
"  --count N          with --watch: stop after N samples\n"
"  --prometheus       node_exporter textfile format (one metric per figure,\n"
"                     labelled by cgroup)\n"
"  -j, --json         one JSON document (with --watch: one JSON object a line)\n"
"  -h, --help         show this help\n";

static int parse_status(int argc, char **argv, struct status_opts *o)
{
	unsigned long long n;
	bool has_count = false;

	memset(o, 0, sizeof(*o));
	o->interval = 1;
	for (int i = 1; i < argc; i++) {
		if (is_help(argv[i])) {
			printf(status_help, prog_name, prog_name);
			return -1;
		} else if (!strcmp(argv[i], "--prometheus")) {
			o->prometheus = true;
		} else if (!strcmp(argv[i], "--watch") || !strcmp(argv[i], "-w")) {
			o->watch = true;
			if (i + 1 < argc && argv[i + 1][0] >= '0' && argv[i + 1][0] <= '9') {
				char *end;

				errno = 0;
				o->interval = strtod(argv[++i], &end);
				if (errno || *end || !(o->interval >= 0.1 && o->interval <= 86400)) {
					p_err("status: --watch wants seconds from 0.1 to 86400, "
					      "not '%s'", argv[i]);
					return EXIT_USAGE;
				}
			}
		} else if (!strcmp(argv[i], "--count")) {
			if (i + 1 >= argc || !parse_u64(argv[i + 1], 1, 1000000000, &n)) {
				p_err("status: --count wants a number of samples (1 or more)%s%s%s",
				      i + 1 < argc ? ", not '" : "",
				      i + 1 < argc ? argv[i + 1] : "", i + 1 < argc ? "'" : "");
				return EXIT_USAGE;
			}
			o->count = n;
			has_count = true;
			i++;
		} else {
			p_err("status: unexpected argument '%s' (see 'status --help')", argv[i]);
			return EXIT_USAGE;
		}
	}
	if (has_count && !o->watch) {
		p_err("status: --count goes with --watch");
		return EXIT_USAGE;
	}
	if (o->prometheus && (o->watch || json_output)) {
		p_err("status: --prometheus is a format of its own: not with %s",
		      o->watch ? "--watch" : "--json");
		return EXIT_USAGE;
	}
	return 0;
}

int status_once(const struct status_opts *o)
{
	struct status *s = calloc(1, sizeof(*s));
	int ret = EXIT_FAIL;

	if (!s) {
		p_err("status: out of memory");
		return EXIT_FAIL;
	}
	if (lock_take(LOCK_SHARED) || live_read(&s->l))
		goto out;
	if (s->l.info_err == -EPROTO) {
		p_err("status: %s", s->l.info_problem);
		goto out;
	}
	if (read_text(SYSFS_DEDUP_ENABLED, s->enabled, sizeof(s->enabled)))
		copy_str(s->enabled, sizeof(s->enabled), "unknown");
	s->nc = counters_read(s->c, sizeof(s->c) / sizeof(s->c[0]));
	vmstat_read(&s->vm);
	rows_collect(&s->r, s->l.ours && !s->l.info_err);
	lock_release();

	if (o->prometheus)
		status_print_prometheus(s);
	else if (json_output)
		status_print_json(s);
	else
		status_print_text(s);
	if (s->l.stale && !json_output && !o->prometheus)
		warn("stale pins in %s are not the attached policy; 'unload' removes them",
		     ZDEDUP_PIN_DIR);
	rows_free(&s->r);
	ret = EXIT_OK;
out:
	free(s);
	return ret;
}

/* ---- --watch ---- */

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
	(void)sig;
	interrupted = 1;
}

struct sample {
	double t;			/* CLOCK_MONOTONIC seconds */
	struct memstat vm;
	bool debugfs;
	unsigned long long hashed, hits, saved, pool;
	char policy[64];
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static unsigned long long debugfs_u64(const char *name, bool *ok)
{
	char path[PATH_MAX], buf[64];
	unsigned long long v;

	snprintf(path, sizeof(path), "%s/%s", DEBUGFS_ZSWAP, name);
	if (read_text(path, buf, sizeof(buf)) || !parse_u64(buf, 0, ~0ULL, &v)) {
		*ok = false;
		return 0;
	}
	return v;
}

static void take_sample(struct sample *s)
{
	struct attached a;

	memset(s, 0, sizeof(*s));
	s->t = now();
	vmstat_read(&s->vm);
	s->debugfs = true;
	s->hashed = debugfs_u64("dedup_hashed", &s->debugfs);
	s->hits = debugfs_u64("dedup_hits", &s->debugfs);
	s->saved = debugfs_u64("dedup_saved_bytes", &s->debugfs);
	s->pool = debugfs_u64("pool_total_size", &s->debugfs);
	if (!find_attached(&a))
		copy_str(s->policy, sizeof(s->policy), a.attached ? a.name : "builtin");
	else
		copy_str(s->policy, sizeof(s->policy), "?");
}

static double rate(unsigned long long a, unsigned long long b, double dt)
{
	return b >= a && dt > 0 ? (b - a) / dt : 0;
}

static void print_sample(const struct sample *p, const struct sample *c)
{
	double dt = c->t - p->t;
	double stored = rate(p->vm.zswpout, c->vm.zswpout, dt);
	double shared = c->vm.has_dedup ? rate(p->vm.zswpout_dedup, c->vm.zswpout_dedup, dt)
					: rate(p->hits, c->hits, dt);
	bool have_shared = c->vm.has_dedup || c->debugfs;
	double hashed = rate(p->hashed, c->hashed, dt);
	time_t wall = time(NULL);

	if (json_output) {
		struct json j;

		json_begin_line(&j, stdout);
		json_obj_open(&j, NULL);
		json_u64(&j, "time", wall);
		json_double(&j, "interval_s", dt);
		json_str(&j, "policy", c->policy);
		json_double(&j, "stored_per_s", stored);
		if (have_shared)
			json_double(&j, "shared_per_s", shared);
		else
			json_null(&j, "shared_per_s");
		if (c->debugfs) {
			json_double(&j, "hashed_per_s", hashed);
			json_u64(&j, "saved_bytes", c->saved);
			json_u64(&j, "pool_bytes", c->pool);
		} else {
			json_null(&j, "hashed_per_s");
			json_null(&j, "saved_bytes");
			json_null(&j, "pool_bytes");
		}
		json_obj_close(&j);
		json_end(&j);
	} else {
		char when[16], h[24] = "-", sv[24] = "-", pl[24] = "-", sh[24] = "-";

		strftime(when, sizeof(when), "%H:%M:%S", localtime(&wall));
		if (have_shared)
			snprintf(sh, sizeof(sh), "%.1f", shared);
		if (c->debugfs) {
			snprintf(h, sizeof(h), "%.1f", hashed);
			snprintf(sv, sizeof(sv), "%.1fM", c->saved / 1048576.0);
			snprintf(pl, sizeof(pl), "%.1fM", c->pool / 1048576.0);
		}
		printf("%-8s %10.1f %10s %10s %9s %9s  %s\n", when, stored, sh, h, sv, pl,
		       c->policy);
	}
	fflush(stdout);
}

/* Sleep @s seconds or until interrupted. */
static void nap(double s)
{
	struct timespec ts = { (time_t)s, (long)((s - (time_t)s) * 1e9) };

	while (!interrupted && nanosleep(&ts, &ts) && errno == EINTR)
		;
}

int status_watch(const struct status_opts *o)
{
	struct sigaction sa = { .sa_handler = on_signal };
	struct sample prev, cur;
	unsigned long n = 0;
	struct live l;

	if (live_read(&l))
		return EXIT_FAIL;
	if (l.info_err == -EPROTO) {
		p_err("status: %s", l.info_problem);
		return EXIT_FAIL;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	take_sample(&prev);
	if (!json_output) {
		printf("%-8s %10s %10s %10s %9s %9s  %s\n", "TIME", "STORED/s", "SHARED/s",
		       "HASHED/s", "SAVED", "POOL", "POLICY");
		if (!prev.debugfs)
			note("no %s: hashed pages, savings and pool size unknown (mount "
			     "debugfs, as root)", DEBUGFS_ZSWAP);
		fflush(stdout);
	}
	while (!interrupted && (!o->count || n < o->count)) {
		nap(o->interval);
		if (interrupted)
			break;
		take_sample(&cur);
		print_sample(&prev, &cur);
		prev = cur;
		n++;
	}
	return EXIT_OK;
}

int cmd_status(int argc, char **argv)
{
	struct status_opts o;
	int ret = parse_status(argc, argv, &o);

	if (ret)
		return ret < 0 ? EXIT_OK : ret;
	return o.watch ? status_watch(&o) : status_once(&o);
}

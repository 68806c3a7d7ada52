/* SPDX-License-Identifier: GPL-2.0 */
/*
 * CGROUP on the command line of set, unset and get: a cgroup v2 path, a
 * systemd unit (--unit NAME) or a process (--pid PID).  One parser, so
 * that every command takes the same three forms and says the same things
 * when one does not resolve.
 */
#include <errno.h>
#include <string.h>
#include "zdedup-loader.h"

const char cgroup_arg_help[] =
"CGROUP is one of:\n"
"  PATH              a cgroup v2 directory, absolute or relative to the\n"
"                    cgroup2 mount (%s), or as status prints it (/a/b)\n"
"  --unit NAME       the cgroup of a systemd unit or slice: foo.service is\n"
"                    system.slice/foo.service, tenant-a.slice is\n"
"                    tenant.slice/tenant-a.slice\n"
"  --pid PID         the cgroup process PID is in\n";

/* "--unit NAME" or "--unit=NAME": the value, advancing *i; NULL if not @opt. */
static const char *opt_value(const char *opt, int argc, char **argv, int *i,
			     bool *missing)
{
	size_t n = strlen(opt);

	*missing = false;
	if (strncmp(argv[*i], opt, n))
		return NULL;
	if (argv[*i][n] == '=')
		return argv[(*i)++] + n + 1;
	if (argv[*i][n])
		return NULL;
	if (*i + 1 >= argc) {
		*missing = true;
		return NULL;
	}
	*i += 2;
	return argv[*i - 1];
}

int cgroup_arg(const char *cmd, int argc, char **argv, int *i, struct cgroup_arg *a)
{
	bool missing;

	memset(a, 0, sizeof(*a));
	if (*i >= argc) {
		p_err("%s: which cgroup? (a path, --unit NAME or --pid PID; see '%s "
		      "--help')", cmd, cmd);
		return EXIT_USAGE;
	}
	if ((a->val = opt_value("--unit", argc, argv, i, &missing))) {
		a->kind = CGROUP_ARG_UNIT;
	} else if (!missing && (a->val = opt_value("--pid", argc, argv, i, &missing))) {
		a->kind = CGROUP_ARG_PID;
	} else if (missing) {
		p_err("%s: option %s needs a value", cmd, argv[*i]);
		return EXIT_USAGE;
	} else if (argv[*i][0] == '-' && argv[*i][1]) {
		p_err("%s: unknown option '%s' (a cgroup is a path, --unit NAME or "
		      "--pid PID)", cmd, argv[*i]);
		return EXIT_USAGE;
	} else {
		a->kind = CGROUP_ARG_PATH;
		a->val = argv[(*i)++];
	}
	return 0;
}

int cgroup_arg_resolve(const char *cmd, const struct cgroup_arg *a,
		       struct cgroup_ref *ref)
{
	int ret;

	memset(ref, 0, sizeof(*ref));
	switch (a->kind) {
	case CGROUP_ARG_UNIT:
		ret = cgroup_from_unit(a->val, ref);
		break;
	case CGROUP_ARG_PID:
		ret = cgroup_from_pid(a->val, ref);
		break;
	default:
		ret = cgroup_from_path(a->val, ref);
		break;
	}
	if (ret) {
		p_err("%s: %s", cmd, ref->why);
		/* A malformed unit name or pid is a bad command line. */
		return ret == -EINVAL && a->kind != CGROUP_ARG_PATH ? EXIT_USAGE : EXIT_FAIL;
	}
	return 0;
}

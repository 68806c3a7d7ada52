/* SPDX-License-Identifier: GPL-2.0 */
/*
 * zdedup-loader: load, replace, inspect and unload zswap dedup policies,
 * and edit their per-cgroup settings.
 *
 * A thin libbpf user: the policies are BPF struct_ops programs (bpf/),
 * attached through a link pinned in /sys/fs/bpf/zdedup so that they stay
 * attached after this program exits.  See loader/zdedup-loader.8.
 */
#include <stdarg.h>
#include <string.h>
#include "zdedup-loader.h"

const char *prog_name = "zdedup-loader";
bool verbose;

static const char help_fmt[] =
"Usage: %s [-v] COMMAND [ARGS]\n"
"\n"
"Load and steer zswap dedup policies (BPF struct_ops).\n"
"\n"
"Commands:\n"
"  load POLICY [--replace] [OPTIONS]   attach a policy (memcg, tenant, adaptive\n"
"                                      or a .bpf.o path) and pin it\n"
"  unload                              detach the policy and remove its pins\n"
"  status [--json]                     attached policy, counters, per-cgroup figures\n"
"  set CGROUP MODE                     MODE: off | private | group N\n"
"  unset CGROUP                        remove CGROUP's entry (inherit again)\n"
"  list [--json]                       per-cgroup entries of the loaded policy\n"
"\n"
"Options:\n"
"  -v, --verbose   also print libbpf's debug messages\n"
"  -h, --help      show this help; 'COMMAND --help' shows a command's\n"
"\n"
"Exit status: 0 done, 1 could not be done, 2 bad command line.\n"
"Pins: " ZDEDUP_PIN_DIR "; see zdedup-loader(8).\n";

static const struct {
	const char *name;
	int (*fn)(int argc, char **argv);
} commands[] = {
	{ "load",	cmd_load },
	{ "unload",	cmd_unload },
	{ "status",	cmd_status },
	{ "set",	cmd_set },
	{ "unset",	cmd_unset },
	{ "list",	cmd_list },
};

/* libbpf's messages: warnings always (they explain failures), debug on -v. */
static int libbpf_print_fn(enum libbpf_print_level level, const char *format,
			   va_list args)
{
	if (level == LIBBPF_DEBUG && !verbose)
		return 0;
	return vfprintf(stderr, format, args);	/* they start with "libbpf: " */
}

int main(int argc, char **argv)
{
	int i;

	libbpf_set_print(libbpf_print_fn);

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (is_help(argv[i])) {
			printf(help_fmt, prog_name);
			return EXIT_OK;
		} else if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose")) {
			verbose = true;
		} else {
			err("unknown option '%s' (see --help)", argv[i]);
			return EXIT_USAGE;
		}
	}
	if (i == argc) {
		fprintf(stderr, help_fmt, prog_name);
		return EXIT_USAGE;
	}
	for (size_t c = 0; c < sizeof(commands) / sizeof(commands[0]); c++)
		if (!strcmp(argv[i], commands[c].name))
			return commands[c].fn(argc - i, argv + i);
	err("unknown command '%s' (load, unload, status, set, unset, list; see --help)",
	    argv[i]);
	return EXIT_USAGE;
}

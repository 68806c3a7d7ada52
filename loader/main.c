/* SPDX-License-Identifier: GPL-2.0 */
/*
 * zdedup-loader: load, replace, inspect and unload zswap dedup policies,
 * and edit their per-cgroup settings.
 *
 * A thin libbpf user: the policies are BPF struct_ops programs (bpf/),
 * attached through a link pinned in /sys/fs/bpf/zdedup so that they stay
 * attached after this program exits.  See loader/zdedup-loader.8.
 *
 * Global options are parsed once, here: -j/--json anywhere on the command
 * line (so that `status --json` reads naturally), -v, -V, -h before the
 * command.  With --json every command prints one JSON document on stdout,
 * and a failed one prints {"error": "..."} instead.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "zdedup-loader.h"

const char *prog_name = "zdedup-loader";
bool verbose;
bool json_output;

static const char help_fmt[] =
"Usage: %s [-j] [-v] COMMAND [ARGS]\n"
"       %s --version\n"
"\n"
"Load and steer zswap dedup policies (BPF struct_ops).\n"
"\n"
"Commands:\n"
"  load POLICY [--replace] [OPTIONS]   attach a policy (memcg, tenant, adaptive\n"
"                                      or a .bpf.o path) and pin it\n"
"  unload                              detach the policy and remove its pins\n"
"  apply FILE [--check]                make the live state what FILE says\n"
"  status [--watch [S]] [--prometheus] policy, counters, per-cgroup figures\n"
"  set CGROUP MODE                     MODE: off | private | group N\n"
"  unset CGROUP                        remove CGROUP's entry (inherit again)\n"
"  get CGROUP                          CGROUP's effective mode, and from where\n"
"  list                                per-cgroup entries of the loaded policy\n"
"  prune [--dry-run]                   drop entries of cgroups that are gone\n"
"  estimate [CGROUP...] [--group A,B]  what dedup would save here, on any\n"
"                                      kernel (reads the processes' pages)\n"
"\n"
"CGROUP: a cgroup v2 path (absolute or under the cgroup2 mount),\n"
"  --unit NAME (a systemd unit or slice) or --pid PID.\n"
"\n"
"Options:\n"
"  -j, --json      JSON output (and errors as {\"error\": ...}), any command\n"
"  -v, --verbose   also print libbpf's debug messages\n"
"  -V, --version   the loader's, libbpf's and the map ABI's versions\n"
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
	{ "apply",	cmd_apply },
	{ "status",	cmd_status },
	{ "set",	cmd_set },
	{ "unset",	cmd_unset },
	{ "get",	cmd_get },
	{ "list",	cmd_list },
	{ "prune",	cmd_prune },
	{ "estimate",	cmd_estimate },
};

/* libbpf's messages: warnings always (they explain failures), debug on -v. */
static int libbpf_print_fn(enum libbpf_print_level level, const char *format,
			   va_list args)
{
	if (level == LIBBPF_DEBUG && !verbose)
		return 0;
	return vfprintf(stderr, format, args);	/* they start with "libbpf: " */
}

static int print_version(void)
{
	char libbpf[32];

	snprintf(libbpf, sizeof(libbpf), "%u.%u", libbpf_major_version(),
		 libbpf_minor_version());
	if (json_output) {
		struct json j;

		json_begin(&j, stdout);
		json_obj_open(&j, NULL);
		json_str(&j, "version", ZDEDUP_VERSION);
		json_str(&j, "libbpf", libbpf);
		json_u64(&j, "abi_version", ZDEDUP_ABI_VERSION);
		json_obj_close(&j);
		json_end(&j);
	} else {
		printf("%s %s\n", prog_name, ZDEDUP_VERSION);
		printf("libbpf %s\n", libbpf);
		printf("ABI %d (map layouts and pins: include/zdedup.h)\n",
		       ZDEDUP_ABI_VERSION);
	}
	return EXIT_OK;
}

/* Take -j/--json out of argv wherever it is (up to a "--"). */
static int strip_json(int argc, char **argv)
{
	int n = 1;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			while (i < argc)
				argv[n++] = argv[i++];
			break;
		}
		if (!strcmp(argv[i], "-j") || !strcmp(argv[i], "--json"))
			json_output = true;
		else
			argv[n++] = argv[i];
	}
	argv[n] = NULL;
	return n;
}

static int run(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (is_help(argv[i])) {
			printf(help_fmt, prog_name, prog_name);
			return EXIT_OK;
		} else if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--verbose")) {
			verbose = true;
		} else if (!strcmp(argv[i], "-V") || !strcmp(argv[i], "--version")) {
			return print_version();
		} else {
			p_err("unknown option '%s' (see --help)", argv[i]);
			return EXIT_USAGE;
		}
	}
	if (i == argc) {
		if (!json_output)
			fprintf(stderr, help_fmt, prog_name, prog_name);
		p_err("which command? (load, unload, apply, status, set, unset, get, "
		      "list, prune, estimate; see --help)");
		return EXIT_USAGE;
	}
	for (size_t c = 0; c < sizeof(commands) / sizeof(commands[0]); c++)
		if (!strcmp(argv[i], commands[c].name))
			return commands[c].fn(argc - i, argv + i);
	p_err("unknown command '%s' (load, unload, apply, status, set, unset, get, "
	      "list, prune, estimate; see --help)", argv[i]);
	return EXIT_USAGE;
}

int main(int argc, char **argv)
{
	int ret;

	libbpf_set_print(libbpf_print_fn);
	argc = strip_json(argc, argv);
	ret = run(argc, argv);
	if (json_output && ret != EXIT_OK && !errors_recorded())
		p_err("the request failed (exit status %d)", ret);
	if (json_output && errors_recorded() && !json_doc_started)
		json_error_doc();
	fflush(stdout);
	return ret;
}

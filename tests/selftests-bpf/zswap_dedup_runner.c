// SPDX-License-Identifier: GPL-2.0
/*
 * zswap_dedup_runner: prog_tests/zswap_dedup.c without test_progs.
 *
 * test_progs links every prog_tests/ file and every BPF skeleton of the
 * directory, which takes long to build for a machine that only wants this
 * one test (e.g. a minimal VM image).  This runner provides the part of
 * the test_progs API the test uses: test__start_subtest(), test__skip(),
 * and test__fail(), on which test_progs.h's ASSERT_*() macros rely, and
 * reports in TAP: the test's output as "# " diagnostics, then "ok" or
 * "not ok" per subtest, a plan and kselftest's totals.  The exit status is
 * 0 when everything passed, 4 (KSFT_SKIP) when everything was skipped,
 * 1 otherwise.
 *
 * The test is compiled as it is, as part of this file (it is the only
 * one, and test_progs declares its entry point in a generated header).
 * Build, with the skeletons generated as for test_progs:
 *
 *   cc -static -I<skeletons> -I<tools/testing/selftests/bpf> \
 *	zswap_dedup_runner.c -lbpf -lelf -lz
 *
 * Usage: zswap_dedup_runner [-v] [SUBTEST...]
 *	-v	 also show libbpf's debug messages
 *	SUBTEST	 run only these subtests
 */
#define _GNU_SOURCE
#include <test_progs.h>

#include "prog_tests/zswap_dedup.c"

#define KSFT_PASS	0
#define KSFT_FAIL	1
#define KSFT_SKIP	4

static const char *test_name = "zswap_dedup";
static bool verbose;
static char **selected;
static int nr_selected;

/* The running subtest, if any */
static struct {
	char *name;
	int error_cnt;
	bool skipped;
} sub;

/* The test outside its subtests */
static int test_error_cnt;
static bool test_skipped;

static int tap_nr, pass_cnt, fail_cnt, skip_cnt;

/*
 * Output capture: the test writes to stdout (the ASSERT_*() macros,
 * libbpf's messages); the runner collects it in memory and prints it as
 * TAP diagnostics at every subtest boundary.
 */
static FILE *stdout_saved;
static char *capture_buf;
static size_t capture_size;

static void capture_start(void)
{
	FILE *f;

	fflush(stdout);
	f = open_memstream(&capture_buf, &capture_size);
	if (!f)
		return;		/* uncaptured: printed as it comes */
	stdout_saved = stdout;
	stdout = f;
}

static void capture_print(void)
{
	char *line, *next;

	if (!stdout_saved)
		return;
	fclose(stdout);
	stdout = stdout_saved;
	stdout_saved = NULL;
	for (line = capture_buf; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		else
			next = line + strlen(line);
		printf("# %s\n", line);
	}
	free(capture_buf);
	capture_buf = NULL;
	fflush(stdout);
}

static void tap_result(bool failed, bool skipped, const char *name)
{
	tap_nr++;
	if (failed) {
		fail_cnt++;
		printf("not ok %d %s\n", tap_nr, name);
	} else if (skipped) {
		skip_cnt++;
		printf("ok %d %s # SKIP\n", tap_nr, name);
	} else {
		pass_cnt++;
		printf("ok %d %s\n", tap_nr, name);
	}
	fflush(stdout);
}

static bool is_selected(const char *name)
{
	int i;

	if (!nr_selected)
		return true;
	for (i = 0; i < nr_selected; i++)
		if (!strcmp(selected[i], name))
			return true;
	return false;
}

void test__end_subtest(void)
{
	char name[MAX_SUBTEST_NAME + 64];

	if (!sub.name)
		return;
	capture_print();
	snprintf(name, sizeof(name), "%s/%s", test_name, sub.name);
	tap_result(sub.error_cnt, sub.skipped && !sub.error_cnt, name);
	free(sub.name);
	sub.name = NULL;
	capture_start();
}

bool test__start_subtest(const char *name)
{
	test__end_subtest();
	if (!is_selected(name))
		return false;
	/* what the test printed before the subtest */
	capture_print();
	capture_start();
	sub.name = strdup(name);
	if (!sub.name) {
		test_error_cnt++;
		return false;
	}
	sub.error_cnt = 0;
	sub.skipped = false;
	return true;
}

void test__skip(void)
{
	if (sub.name)
		sub.skipped = true;
	else
		test_skipped = true;
}

void test__fail(void)
{
	if (sub.name)
		sub.error_cnt++;
	else
		test_error_cnt++;
}

void test__force_log(void)
{
}

static int libbpf_print_fn(enum libbpf_print_level level, const char *fmt,
			   va_list args)
{
	if (level == LIBBPF_DEBUG && !verbose)
		return 0;
	return vfprintf(stdout, fmt, args);
}

int main(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-v")) {
			verbose = true;
			continue;
		}
		if (argv[i][0] == '-') {
			fprintf(stderr, "usage: %s [-v] [SUBTEST...]\n",
				argv[0]);
			return KSFT_FAIL;
		}
		selected = &argv[i];
		nr_selected = argc - i;
		break;
	}

	libbpf_set_print(libbpf_print_fn);
	printf("TAP version 13\n");
	fflush(stdout);
	capture_start();
	serial_test_zswap_dedup();
	test__end_subtest();
	capture_print();

	/*
	 * The test as a whole gets a result line of its own when it failed
	 * outside its subtests or ran none.
	 */
	if (test_error_cnt || !tap_nr)
		tap_result(test_error_cnt, test_skipped, test_name);

	printf("1..%d\n", tap_nr);
	printf("# Totals: pass:%d fail:%d xfail:0 xpass:0 skip:%d error:0\n",
	       pass_cnt, fail_cnt, skip_cnt);
	if (fail_cnt)
		return KSFT_FAIL;
	return pass_cnt ? KSFT_PASS : KSFT_SKIP;
}

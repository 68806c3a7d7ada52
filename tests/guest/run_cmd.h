/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Running a shell command from a guest suite: its output captured, the
 * command and (the start of) its output shown as TAP comments.
 */
#ifndef RUN_CMD_H
#define RUN_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct run_how {
	bool quiet;		/* no TAP comments */
	bool stdout_only;	/* stderr to /dev/null, not into the output */
	uid_t uid;		/* run as this user (0: as we are) */
	int max_lines;		/* output lines shown (0: 30) */
};

/*
 * Run `sh -c` on the command made from @fmt, with stdin from /dev/null and
 * its output into @out (NUL-terminated; what does not fit in @size - 1
 * bytes is read and dropped).  Unless @how->quiet, show "$ command -> exit
 * N" and the output, without the /opt/zdedup/bin/ prefixes.  Returns the
 * exit status, or -1 when the command did not exit normally.
 */
int run_cmd(const struct run_how *how, char *out, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 4, 5), nonnull(1, 2, 4)));

/* Show the first @max_lines lines of @out as TAP comments. */
void log_output(const char *out, int max_lines);

#endif

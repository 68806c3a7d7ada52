// SPDX-License-Identifier: GPL-2.0
/* Running a shell command from a guest suite (see run_cmd.h). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <grp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "run_cmd.h"

#define BIN_PREFIX "/opt/zdedup/bin/"

void log_output(const char *out, int max_lines)
{
	const char *p = out;
	int lines = 0, total = 0;

	for (const char *q = out; *q; q++)
		total += *q == '\n';
	while (*p && lines < max_lines) {
		const char *nl = strchr(p, '\n');
		int len = nl ? (int)(nl - p) : (int)strlen(p);

		fprintf(stderr, "#     %.*s\n", len, p);
		lines++;
		p = nl ? nl + 1 : p + len;
	}
	if (total > lines)
		fprintf(stderr, "#     ... (%d more lines)\n", total - lines);
}

/* The child: @cmd with its output into @fd, as @how says. */
static void __attribute__((noreturn))
exec_child(const struct run_how *how, int fd, const char *cmd)
{
	int null = open("/dev/null", O_RDWR);

	dup2(null, 0);
	dup2(fd, 1);
	dup2(how->stdout_only ? null : fd, 2);
	if (how->uid && (setgroups(0, NULL) || setgid(how->uid) || setuid(how->uid)))
		_exit(126);
	execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
	_exit(127);
}

static void show(const char *cmd, uid_t uid, int status)
{
	char shown[4096], *s = shown;
	size_t skip = strlen(BIN_PREFIX);

	for (const char *c = cmd; *c && s < shown + sizeof(shown) - 1;) {
		if (!strncmp(c, BIN_PREFIX, skip))
			c += skip;
		else
			*s++ = *c++;
	}
	*s = '\0';
	fprintf(stderr, "#   %s$ %s  -> exit %d\n", uid ? "(nobody) " : "", shown,
		WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

int run_cmd(const struct run_how *how, char *out, size_t size, const char *fmt, ...)
{
	char cmd[4096];
	size_t len = 0;
	int fds[2], status;
	ssize_t n;
	va_list ap;
	pid_t pid;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	out[0] = '\0';
	if (pipe2(fds, O_CLOEXEC))
		return -1;
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (!pid)
		exec_child(how, fds[1], cmd);
	close(fds[1]);
	while ((n = read(fds[0], out + len, size - 1 - len)) > 0) {
		len += n;
		if (len + 1 >= size) {
			char sink[4096];

			while (read(fds[0], sink, sizeof(sink)) > 0)
				;
			break;
		}
	}
	out[len] = '\0';
	close(fds[0]);
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	if (!how->quiet) {
		show(cmd, how->uid, status);
		log_output(out, how->max_lines ? how->max_lines : 30);
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Messages, small file reads and number parsing.
 *
 * Every error goes to stderr as "zdedup-loader: error: ..." with enough
 * context to act on (the path, the policy, what to do instead); the caller
 * decides the exit status.  With --json, errors are collected instead and
 * main() prints them as one {"error": "..."} document on stdout (as
 * bpftool's p_err() does), unless the command printed a document of its
 * own, which then carries them (json_errors()).  Warnings and notes stay
 * text on stderr either way.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "zdedup-loader.h"

/* The errors of this run, for --json: messages separated by newlines. */
static char json_errs[16384];
static size_t json_errs_len;

static void vmsg(const char *kind, const char *fmt, va_list ap)
{
	fprintf(stderr, "%s: %s", prog_name, kind);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

/* errors_capture(): where p_err() writes instead, for a quiet attempt. */
static char *capture;
static size_t capture_size;

void errors_capture(char *buf, size_t size)
{
	capture = buf;
	capture_size = size;
	if (buf && size)
		buf[0] = '\0';
}

void p_err(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (capture) {
		size_t len = strlen(capture);

		if (len + 3 < capture_size) {
			if (len) {
				strcpy(capture + len, "; ");
				len += 2;
			}
			vsnprintf(capture + len, capture_size - len, fmt, ap);
		}
	} else if (json_output) {
		size_t room = sizeof(json_errs) - json_errs_len;
		int n;

		if (json_errs_len && room > 1) {
			json_errs[json_errs_len++] = '\n';
			room--;
		}
		n = vsnprintf(json_errs + json_errs_len, room, fmt, ap);
		if (n > 0)
			json_errs_len += (size_t)n < room ? (size_t)n : room - 1;
	} else {
		vmsg("error: ", fmt, ap);
	}
	va_end(ap);
}

bool errors_recorded(void)
{
	return json_errs_len > 0;
}

void json_errors(struct json *j)
{
	if (json_errs_len)
		json_str(j, "error", json_errs);
}

void json_error_doc(void)
{
	struct json j;

	json_begin(&j, stdout);
	json_obj_open(&j, NULL);
	json_errors(&j);
	json_obj_close(&j);
	json_end(&j);
}

void warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("warning: ", fmt, ap);
	va_end(ap);
}

void note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vmsg("", fmt, ap);
	va_end(ap);
}

int read_text(const char *path, char *buf, size_t size)
{
	ssize_t n;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	if (n < 0) {
		n = -errno;
		close(fd);
		return n;
	}
	close(fd);
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return 0;
}

int read_file(const char *path, size_t max, char **out, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap + 1);
	int fd, ret = 0;

	if (!buf)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		goto fail;
	}
	for (;;) {
		ssize_t r;

		if (n == cap) {
			char *b;

			if (cap >= max) {
				ret = -EFBIG;
				break;
			}
			cap = cap * 2 > max ? max : cap * 2;
			b = realloc(buf, cap + 1);
			if (!b) {
				ret = -ENOMEM;
				break;
			}
			buf = b;
		}
		r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			ret = -errno;
			break;
		}
		if (!r)
			break;
		n += r;
	}
	close(fd);
	if (ret)
		goto fail;
	buf[n] = '\0';
	*out = buf;
	if (len)
		*len = n;
	return 0;
fail:
	free(buf);
	return ret;
}

bool parse_u64(const char *s, unsigned long long min, unsigned long long max,
	       unsigned long long *out)
{
	unsigned long long v;
	char *end;

	if (!s || !isdigit((unsigned char)*s))
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

void fmt_msg(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, size, fmt, ap);
	va_end(ap);
}

void copy_str(char *dst, size_t size, const char *src)
{
	size_t n = strnlen(src, size - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

bool is_help(const char *arg)
{
	return !strcmp(arg, "-h") || !strcmp(arg, "--help");
}

const char *errstr(int e)
{
	static char buf[128];

	if (e < 0)
		e = -e;
	libbpf_strerror(e, buf, sizeof(buf));
	return buf;
}

bool is_perm_error(int e)
{
	if (e < 0)
		e = -e;
	return e == EPERM || e == EACCES;
}

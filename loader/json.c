/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A minimal streaming JSON writer for --json: objects, arrays, strings
 * (escaped), integers, decimals, booleans, null.  Output is one document,
 * pretty-printed with two-space indents (or, json_begin_line(), on one
 * line, for `status --watch --json`), nested at most 15 levels deep.
 */
#include <math.h>
#include <string.h>
#include "zdedup-loader.h"

bool json_doc_started;

static void indent(struct json *j)
{
	fputc('\n', j->f);
	for (int i = 0; i < j->depth; i++)
		fputs("  ", j->f);
}

/* Length of the valid UTF-8 sequence at @s, 0 if it is not one. */
static int utf8_len(const unsigned char *s)
{
	int n, i;
	unsigned int cp;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0)
		n = 2, cp = s[0] & 0x1f;
	else if ((s[0] & 0xf0) == 0xe0)
		n = 3, cp = s[0] & 0x0f;
	else if ((s[0] & 0xf8) == 0xf0)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

/* A JSON string; bytes that are not UTF-8 (paths may hold any) become U+FFFD. */
static void put_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = *s;
		int n = utf8_len((const unsigned char *)s);

		if (n > 1) {
			fwrite(s, 1, n, f);
			s += n - 1;
			continue;
		}
		if (!n)
			fputs("\\ufffd", f);
		else if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c == '\t')
			fputs("\\t", f);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/* Start a value: separator, indent, and the key inside objects. */
static void start(struct json *j, const char *key)
{
	if (j->depth > 0) {
		if (j->need_comma[j->depth])
			fputs(j->one_line ? ", " : ",", j->f);
		if (!j->one_line)
			indent(j);
	}
	j->need_comma[j->depth] = true;
	if (key) {
		put_string(j->f, key);
		fputs(": ", j->f);
	}
}

void json_begin(struct json *j, FILE *f)
{
	memset(j, 0, sizeof(*j));
	j->f = f;
	json_doc_started = true;
}

void json_begin_line(struct json *j, FILE *f)
{
	json_begin(j, f);
	j->one_line = true;
}

void json_end(struct json *j)
{
	fputc('\n', j->f);
}

static void open_(struct json *j, const char *key, char c)
{
	start(j, key);
	fputc(c, j->f);
	j->depth++;		/* need_comma[] bounds the nesting: 15 levels */
	j->need_comma[j->depth] = false;
}

static void close_(struct json *j, char c)
{
	bool empty = !j->need_comma[j->depth];

	j->depth--;
	if (!empty && !j->one_line)
		indent(j);
	fputc(c, j->f);
}

void json_obj_open(struct json *j, const char *key) { open_(j, key, '{'); }
void json_obj_close(struct json *j) { close_(j, '}'); }
void json_arr_open(struct json *j, const char *key) { open_(j, key, '['); }
void json_arr_close(struct json *j) { close_(j, ']'); }

void json_str(struct json *j, const char *key, const char *val)
{
	start(j, key);
	put_string(j->f, val);
}

void json_u64(struct json *j, const char *key, unsigned long long val)
{
	start(j, key);
	fprintf(j->f, "%llu", val);
}

void json_bool(struct json *j, const char *key, bool val)
{
	start(j, key);
	fputs(val ? "true" : "false", j->f);
}

void json_null(struct json *j, const char *key)
{
	start(j, key);
	fputs("null", j->f);
}

void json_raw(struct json *j, const char *key, const char *val)
{
	start(j, key);
	fputs(val, j->f);
}

void json_double(struct json *j, const char *key, double val)
{
	start(j, key);
	if (isfinite(val))
		fprintf(j->f, "%.6g", val);
	else
		fputs("null", j->f);
}

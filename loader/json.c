/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A minimal streaming JSON writer for `status --json` and `list --json`:
 * objects, arrays, strings (escaped), unsigned integers, booleans, null.
 * Output is one document, pretty-printed with two-space indents, nested
 * at most 15 levels deep (status nests 3).
 */
#include <string.h>
#include "zdedup-loader.h"

static void indent(struct json *j)
{
	fputc('\n', j->f);
	for (int i = 0; i < j->depth; i++)
		fputs("  ", j->f);
}

static void put_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = *s;

		if (c == '"' || c == '\\')
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
			fputc(',', j->f);
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
	if (!empty)
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

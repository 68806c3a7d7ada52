/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The kernel's stable figures: a cgroup's memory.stat and /proc/vmstat.
 *
 * They need neither debugfs nor a BPF policy: zswap (bytes it holds for
 * the cgroup, compressed), zswapped (bytes of the cgroup's pages in
 * zswap), zswpout and zswpin (pages stored and loaded back) and, on a
 * zdedup kernel, zswpout_dedup (pages stored by sharing an identical
 * copy).  memory.stat is hierarchical: a cgroup's figures include its
 * descendants'.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "zdedup-loader.h"

/* Fill @m from a flat "key value" file's text. */
static void parse_keys(char *text, struct memstat *m)
{
	static const struct {
		const char *key;
		size_t off;
	} keys[] = {
		{ "zswap",		offsetof(struct memstat, zswap) },
		{ "zswapped",		offsetof(struct memstat, zswapped) },
		{ "zswpout",		offsetof(struct memstat, zswpout) },
		{ "zswpin",		offsetof(struct memstat, zswpin) },
		{ "zswpout_dedup",	offsetof(struct memstat, zswpout_dedup) },
	};
	char *line, *save = NULL;

	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *sp = strchr(line, ' ');
		unsigned long long v;

		if (!sp)
			continue;
		*sp = '\0';
		for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
			if (strcmp(line, keys[k].key) || !parse_u64(sp + 1, 0, ~0ULL, &v))
				continue;
			*(unsigned long long *)((char *)m + keys[k].off) = v;
			if (!strcmp(keys[k].key, "zswpout_dedup"))
				m->has_dedup = true;
		}
	}
}

static int read_keys(const char *file, struct memstat *m)
{
	char *text;
	int ret;

	memset(m, 0, sizeof(*m));
	ret = read_file(file, 1 << 20, &text, NULL);
	if (ret)
		return ret;
	parse_keys(text, m);
	free(text);
	m->ok = true;
	return 0;
}

int memstat_read(const char *path, struct memstat *m)
{
	char file[PATH_MAX * 2];

	snprintf(file, sizeof(file), "%s%s/memory.stat", cgroup_root(),
		 strcmp(path, "/") ? path : "");
	return read_keys(file, m);
}

int vmstat_read(struct memstat *m)
{
	return read_keys("/proc/vmstat", m);
}
